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
	assert_false(f.changed);      /* the filter built still passes every live thread */
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 4310 || pid == 4300");
	strbuf_release(&sb);
	wake_filter_release(&f);
}

/* Consecutive ids make one term: a range, or with the highest id the
 * open end. */
static void test_runs(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	for (uint32_t tid = 4300; tid <= 4308; tid++)
		wake_filter_add(&f, tid);
	wake_filter_add(&f, 4290);
	wake_filter_add(&f, 4295);
	wake_filter_add(&f, 4296);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 4300 || pid == 4290 || (pid >= 4295 && pid <= 4296)");
	wake_filter_remove(&f, 4304); /* a gap: the run splits */
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(
	    strbuf_str(&sb),
	    "pid >= 4305 || pid == 4290 || (pid >= 4295 && pid <= 4296) || (pid >= 4300 && pid <= 4303)");
	strbuf_release(&sb);
	wake_filter_release(&f);
}

/* A pool of 600 threads started in bursts (runs of 6 with gaps, as other
 * processes take ids between) fits as ranges, where a list of 600 ids
 * would not. */
static void test_many_threads_in_runs(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	for (uint32_t run = 0; run < 100; run++)
		for (uint32_t k = 0; k < 6; k++)
			wake_filter_add(&f, 100000 + run * 10 + k);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_true(sb.len <= WAKE_FILTER_MAX);
	assert_non_null(strstr(strbuf_str(&sb), "pid >= 100990 || (pid >= 100000 && pid <= 100005) ||"));
	assert_non_null(strstr(strbuf_str(&sb), "|| (pid >= 100980 && pid <= 100985)"));
	strbuf_release(&sb);
	wake_filter_release(&f);
}

/* The events are reopened only when a live thread would not pass: a
 * thread started later gets an id above the open end, and an exited one
 * passing does no harm. */
static void test_rebuilt_only_when_needed(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	wake_filter_add(&f, 1000);
	assert_true(f.changed); /* none built yet */
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 1000");
	for (uint32_t tid = 1001; tid <= 1008; tid++)
		wake_filter_add(&f, tid); /* started: above the open end */
	wake_filter_add(&f, 1100);
	assert_false(f.changed);
	wake_filter_remove(&f, 1003);
	wake_filter_remove(&f, 1100);
	assert_false(f.changed);
	wake_filter_add(&f, 990); /* below it (ids wrapped): not passed */
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_false(f.changed);
	assert_string_equal(strbuf_str(&sb), "pid >= 1004 || pid == 990 || (pid >= 1000 && pid <= 1002)");
	wake_filter_add(&f, 1003); /* an id again, in a gap the filter has */
	assert_true(f.changed);
	strbuf_release(&sb);
	wake_filter_release(&f);
}

/* A filter the events could not take (perf_event_open failed: they keep
 * the one before): a thread above the refused filter's open end may not
 * pass the old one, so every thread started or ended tries again. */
static void test_refused_filter(void **state)
{
	(void)state;
	struct wake_filter f;
	struct strbuf sb = STRBUF_INIT;
	wake_filter_init(&f);
	wake_filter_add(&f, 1000);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 1000"); /* set */
	wake_filter_remove(&f, 1000);
	wake_filter_add(&f, 500); /* ids wrapped */
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 500");
	wake_filter_refused(&f); /* the events still pass 1000 and up only */
	wake_filter_add(&f, 501);
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "pid >= 500");
	wake_filter_refused(&f);
	wake_filter_remove(&f, 501);
	assert_true(f.changed);
	assert_int_equal(wake_filter_build(&f, &sb), 0); /* set this time */
	wake_filter_add(&f, 502);
	wake_filter_remove(&f, 502);
	assert_false(f.changed);
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
	for (uint32_t tid = 100000; tid < 100600; tid += 2) /* 300 ids, none consecutive */
		wake_filter_add(&f, tid);
	assert_int_equal(wake_filter_build(&f, &sb), 1);
	assert_string_equal(strbuf_str(&sb), "pid >= 100000");
	wake_filter_remove(&f, 100598);
	assert_true(f.changed); /* after the fallback, a list may fit again */
	for (uint32_t tid = 100400; tid < 100598; tid += 2)
		wake_filter_remove(&f, tid);
	assert_int_equal(wake_filter_build(&f, &sb), 0);
	assert_true(sb.len <= WAKE_FILTER_MAX);
	assert_non_null(strstr(strbuf_str(&sb), "pid >= 100398 || pid == 100000 || pid == 100002 ||"));
	strbuf_release(&sb);
	wake_filter_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_runs),
	    cmocka_unit_test(test_many_threads_in_runs),
	    cmocka_unit_test(test_rebuilt_only_when_needed),
	    cmocka_unit_test(test_range_past_the_limit),
	    cmocka_unit_test(test_refused_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
