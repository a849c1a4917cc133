/* test_counters.c - counting-mode perf events: scaling of multiplexed
 * counts on synthetic values, and real counts of forked children (page
 * faults of touched pages, task-clock of burnt CPU, inheritance into a
 * grandchild), "not supported" kept per event, thread listing, rusage. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/counters.h"

static void test_scale(void **state)
{
	(void)state;
	double share;
	/* never multiplexed: as read */
	assert_true(counter_scale(1000, 500, 500, &share) == 1000.0);
	assert_true(share == 1.0);
	/* ran a quarter of the time: scaled up four times */
	assert_true(fabs(counter_scale(1000, 400, 100, &share) - 4000.0) < 1e-9);
	assert_true(fabs(share - 0.25) < 1e-12);
	/* enabled but never scheduled: not counted */
	assert_true(counter_scale(0, 400, 0, &share) < 0);
	/* never enabled (the command exited at once): zero, not an error */
	assert_true(counter_scale(0, 0, 0, NULL) == 0.0);
	/* no overflow on large counts */
	assert_true(fabs(counter_scale(UINT64_C(1) << 50, 3, 2, NULL) - 1.5 * (double)(UINT64_C(1) << 50)) < 1e3);
}

static bool can_count(void)
{
	struct event_desc ev;
	if (event_parse("task-clock", &ev))
		return false;
	return event_probe(&ev) == 0;
}

static void burn_ms(double ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	double end = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 + ms;
	volatile unsigned long x = 0;
	for (;;) {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		if (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 >= end)
			break;
		for (int i = 0; i < 1000; i++)
			x += (unsigned long)i;
	}
	(void)x;
}

/* Forks a child that waits on a pipe, then touches `pages` pages and burns
 * `ms` ms in a grandchild (so only inheritance can count them). */
static void count_child(size_t pages, double ms, struct counter_set *set, struct counter_rusage *ru, int *status)
{
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(90);
		pid_t g = fork();
		if (g == 0) {
			long page = sysconf(_SC_PAGESIZE);
			char *p = mmap(NULL, pages * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			               -1, 0);
			for (size_t i = 0; i < pages; i++)
				p[i * (size_t)page] = 1;
			burn_ms(ms);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		_exit(5);
	}
	close(go[0]);
	/* no exec here, so count from the open on (enable_on_exec = false) */
	assert_int_equal(counters_open(set, &pid, 1, true, false), 0);
	close(go[1]);
	int rc;
	while ((rc = counters_wait(pid, status, ru)) == -EINTR)
		;
	assert_int_equal(rc, 0);
	assert_int_equal(counters_read(set), 0);
}

static void test_count_children(void **state)
{
	(void)state;
	if (!can_count()) {
		skip();
		return;
	}
	struct counter_set set;
	counters_init(&set);
	struct event_desc ev;
	const char *names[] = {"task-clock", "page-faults", "cycles", "instructions"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(event_parse(names[i], &ev), 0);
		counters_add(&set, &ev, i == 3);
	}
	struct counter_rusage ru0, ru1;
	int status;
	count_child(0, 0, &set, &ru0, &status);
	double base_faults = (double)set.c.v[1].value;
	count_child(2000, 80, &set, &ru1, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 5);
	/* 2000 fresh pages in the grandchild: 2000 more faults than the empty run */
	double faults = (double)set.c.v[1].value - base_faults;
	assert_true(faults >= 1950 && faults <= 2300);
	/* 80 ms of CPU burnt: task-clock in ns, generous bounds */
	double ms = (double)set.c.v[0].value / 1e6;
	assert_true(ms >= 70 && ms <= 400);
	assert_true(ru1.user_s + ru1.sys_s >= 0.05);
	assert_true(ru1.maxrss_kib >= 2000 * 4);
	/* hardware: counted where a PMU exists, else a kept error, never both */
	for (size_t i = 2; i < 4; i++) {
		const struct counter *c = &set.c.v[i];
		if (c->err)
			assert_int_equal(c->fds.n, 0);
		else
			assert_true(c->fds.n == 1);
	}
	counters_release(&set);
}

static void test_list_threads(void **state)
{
	(void)state;
	pid_t *tids = NULL;
	int n = counters_list_threads(getpid(), &tids);
	assert_true(n >= 1);
	bool found = false;
	for (int i = 0; i < n; i++)
		found = found || tids[i] == getpid();
	assert_true(found);
	free(tids);
	assert_int_equal(counters_list_threads(0x7ffffff0, &tids), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scale),
	    cmocka_unit_test(test_count_children),
	    cmocka_unit_test(test_list_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
