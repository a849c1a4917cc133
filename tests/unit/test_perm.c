/* test_perm.c - the one rule for a refused perf_event_open (capture/perm):
 * another user's process is never blamed on perf_event_paranoid, and the
 * paranoid advice names the level actually needed, never the one set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/perm.h"

static void test_needed_levels(void **state)
{
	(void)state;
	struct perm_query q = {.paranoid = 3, .own_uid = 1000, .target_uid = -1};
	assert_int_equal(perm_paranoid_needed(&q), 2); /* user space of own processes */
	q.kernel = true;
	assert_int_equal(perm_paranoid_needed(&q), 1);
	q.cpu_wide = true;
	assert_int_equal(perm_paranoid_needed(&q), 0);
	q.raw = true;
	assert_int_equal(perm_paranoid_needed(&q), -1);
}

static void test_other_user(void **state)
{
	(void)state;
	/* `kiln record -p 1` as nobody: the owner matters at every level */
	for (long level = -1; level <= 4; level++) {
		struct perm_query q = {.paranoid = level, .own_uid = 65534, .target_uid = 0};
		assert_int_equal(perm_explain(&q), PERM_OTHER_USER);
	}
	struct perm_query own = {.paranoid = 1, .own_uid = 65534, .target_uid = 65534};
	assert_int_not_equal(perm_explain(&own), PERM_OTHER_USER);
}

static void test_paranoid(void **state)
{
	(void)state;
	struct perm_query q = {.paranoid = 3, .own_uid = 1000, .target_uid = -1};
	assert_int_equal(perm_explain(&q), PERM_PARANOID);
	/* at 2 user-space sampling is allowed: the level is not the reason,
	 * and no advice may say "set it to" a value it has */
	q.paranoid = 2;
	assert_int_equal(perm_explain(&q), PERM_ELSEWHERE);
	q.kernel = true;
	assert_int_equal(perm_explain(&q), PERM_PARANOID);
	assert_int_equal(perm_paranoid_needed(&q), 1);
	q.paranoid = 1;
	assert_int_equal(perm_explain(&q), PERM_ELSEWHERE);
}

static void test_root(void **state)
{
	(void)state;
	/* root passes the ptrace and paranoid checks: something else refused */
	struct perm_query q = {.paranoid = 4, .own_uid = 0, .target_uid = 1000};
	assert_int_equal(perm_explain(&q), PERM_ELSEWHERE);
}

static void test_process_uid(void **state)
{
	(void)state;
	assert_int_equal(perm_process_uid(getpid()), (long)geteuid());
	assert_int_equal(perm_process_uid(1), 0);
	assert_int_equal(perm_process_uid(0x7ffffff0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_needed_levels), cmocka_unit_test(test_other_user),  cmocka_unit_test(test_paranoid),
	    cmocka_unit_test(test_root),          cmocka_unit_test(test_process_uid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
