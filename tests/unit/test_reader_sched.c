/* test_reader_sched.c - the handling thread's background policy
 * (capture/reader_sched.c): in and out of SCHED_IDLE, set from another
 * thread, and never entered where the thread could not come back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/reader_sched.h"

static int policy_of(pid_t tid)
{
	return sched_getscheduler(tid);
}

/* A child's checks: it exits 0 when they held, else with the check's number. */
static void assert_child_ok(pid_t pid)
{
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void *catch_up(void *arg)
{
	background_sched_catch_up(arg);
	return NULL;
}

/* Root may leave SCHED_IDLE: in, out at the same nice level, and out
 * from another thread (the reader, when records pile up). */
static void test_round_trip(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct background_sched b;
	background_sched_init(&b);
	assert_true(b.allowed);
	int nice = getpriority(PRIO_PROCESS, 0);
	background_sched_set(&b, true);
	assert_true(b.on);
	assert_int_equal(policy_of(0), SCHED_IDLE);
	background_sched_set(&b, false);
	assert_false(b.on);
	assert_int_equal(policy_of(0), SCHED_OTHER);
	assert_int_equal(getpriority(PRIO_PROCESS, 0), nice);

	background_sched_set(&b, true);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, catch_up, &b), 0);
	pthread_join(t, NULL);
	assert_int_equal(policy_of(0), SCHED_OTHER);
	background_sched_set(&b, false); /* the round's end: still fine */
	assert_false(b.on);
	assert_int_equal(policy_of(0), SCHED_OTHER);
	background_sched_set(&b, true); /* the next round goes back */
	assert_int_equal(policy_of(0), SCHED_IDLE);
	background_sched_set(&b, false);
}

/* Without CAP_SYS_NICE and with RLIMIT_NICE 0 the kernel would keep the
 * thread in SCHED_IDLE for good: it is never put there. Checked in a
 * child, which drops the capability. */
static void test_not_allowed(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) != 0)
			_exit(10);
		d[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
		struct rlimit rl = {0, 0};
		if (syscall(SYS_capset, &h, d) != 0 || setrlimit(RLIMIT_NICE, &rl) != 0)
			_exit(11);
		struct background_sched b;
		background_sched_init(&b);
		if (b.allowed)
			_exit(12);
		background_sched_set(&b, true);
		_exit(policy_of(0) == SCHED_OTHER && !b.on ? 0 : 13);
	}
	assert_child_ok(pid);
}

/* A policy the user gave kiln (chrt --batch kiln ...) is left alone. */
static void test_user_policy_kept(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sched_param sp = {0};
		if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
			_exit(10);
		struct background_sched b;
		background_sched_init(&b);
		background_sched_set(&b, true);
		_exit(!b.allowed && policy_of(0) == SCHED_BATCH ? 0 : 11);
	}
	assert_child_ok(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_not_allowed),
	    cmocka_unit_test(test_user_policy_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
