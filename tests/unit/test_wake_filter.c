/* test_wake_filter.c - the kernel filter that keeps cpu-wide wake-ups to
 * the target's threads (capture/wake_filter.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "capture/wake_filter.h"

/* The known threads by id, and every id above the highest (threads the
 * target starts before the recorder reads their fork records). */
static void test_list(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	assert_int_equal(wake_filter_build(&f, &sb), -EINVAL);
	wake_filter_add(&f, 4300);
	wake_filter_add(&f, 4321);
	wake_filter_add(&f, 4310);
	wake_filter_add(&f, 4321); /* known: no change */
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_false(f.changed);
	assert_string_equal(strbuf_str(&sb), "pid >= 4321 || pid == 4300 || pid == 4310");
	wake_filter_remove(&f, 4321); /* exited */
	wake_filter_remove(&f, 999);  /* never known */
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 4310 || pid == 4300");
	strbuf_release(&sb);
	wake_filter_release(&f);
}

/* Past the page the kernel copies, the range from the lowest id up. */
static void test_range_past_the_limit(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	for (uint32_t tid = 100000; tid < 100300; tid++)
		wake_filter_add(&f, tid);
	assert_int_equal(wake_filter_build(&f, &sb), 1);
	assert_string_equal(strbuf_str(&sb), "pid >= 100000");
	for (uint32_t tid = 100200; tid < 100300; tid++)
		wake_filter_remove(&f, tid);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_true(sb.len <= WAKE_FILTER_MAX);
	assert_non_null(strstr(strbuf_str(&sb), "pid >= 100199 || pid == 100000 ||"));
	strbuf_release(&sb);
	wake_filter_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_range_past_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
