/* test_thread_counts.c - attributing lost samples to threads from what
 * their counters counted against the periods of the samples kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capture/thread_counts.h"

#define PERIOD 1000000ull /* 1 ms of cpu-clock */

/* tid 1 kept all of its 10 samples, tid 2 kept 4 of 10, tid 3 none of 6
 * (it ran only where a ring was full): 12 lost in all. */
static void fill(struct thread_counts *tc)
{
	thread_counts_init(tc);
	for (int i = 0; i < 10; i++)
		thread_counts_sample(tc, 1, PERIOD);
	for (int i = 0; i < 4; i++)
		thread_counts_sample(tc, 2, PERIOD);
	/* each thread ran on two cpus: one counter value per cpu; plus part
	 * of a period after the last sample */
	thread_counts_read(tc, 1, 6 * PERIOD);
	thread_counts_read(tc, 1, 4 * PERIOD + PERIOD / 3);
	thread_counts_read(tc, 2, 10 * PERIOD + PERIOD / 2);
	thread_counts_read(tc, 2, 0);
	thread_counts_read(tc, 3, 6 * PERIOD + PERIOD / 4);
	thread_counts_read(tc, 3, 0);
}

static void test_lost_by_thread(void **state)
{
	(void)state;
	struct thread_counts tc;
	struct thread_lost out[8];
	fill(&tc);
	size_t n = thread_counts_lost(&tc, 12, 0, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].tid, 2);
	assert_int_equal(out[0].lost, 6);
	assert_int_equal(out[1].tid, 3);
	assert_int_equal(out[1].lost, 6);
	thread_counts_release(&tc);
}

static void test_scaled_to_what_rings_reported(void **state)
{
	(void)state;
	struct thread_counts tc;
	struct thread_lost out[8];
	fill(&tc);
	/* the rings said 6: the estimates (6 and 6) are halved */
	size_t n = thread_counts_lost(&tc, 6, 0, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].lost + out[1].lost, 6);
	/* nothing lost: nothing to say */
	assert_int_equal(thread_counts_lost(&tc, 0, 0, out), 0);
	thread_counts_release(&tc);
}

static void test_thread_without_report_left_out(void **state)
{
	(void)state;
	struct thread_counts tc;
	struct thread_lost out[8];
	thread_counts_init(&tc);
	thread_counts_sample(&tc, 7, PERIOD);
	thread_counts_get(&tc, 8)->exited = true; /* its report was lost */
	assert_int_equal(thread_counts_lost(&tc, 5, 0, out), 0);
	thread_counts_release(&tc);
}

/* Every sample lost: periods come from the sampling rate. */
/* Each exiting thread reports once per cpu counter, each report through
 * its own cpu's ring: a thread with fewer lost some with the samples, as
 * did one whose exit record came and no report; kiln's own counters'
 * threads never report. */
static void test_unreported(void **state)
{
	(void)state;
	struct thread_counts tc;
	fill(&tc);
	assert_int_equal(thread_counts_unreported(&tc, 2), 0);
	thread_counts_read(&tc, 4, 3 * PERIOD);   /* its second report lost */
	thread_counts_get(&tc, 5)->exited = true; /* both lost */
	thread_counts_sample(&tc, 6, PERIOD);     /* still running */
	thread_counts_get(&tc, 7)->opened = true; /* kiln opened it */
	thread_counts_get(&tc, 7)->exited = true;
	assert_int_equal(thread_counts_unreported(&tc, 2), 2);
	/* on one cpu, one report is all */
	assert_int_equal(thread_counts_unreported(&tc, 1), 1);
	thread_counts_release(&tc);
}

static void test_nothing_kept(void **state)
{
	(void)state;
	struct thread_counts tc;
	struct thread_lost out[8];
	thread_counts_init(&tc);
	thread_counts_read(&tc, 9, 4 * PERIOD + PERIOD / 2);
	assert_int_equal(thread_counts_lost(&tc, 4, 0, out), 0); /* unknown period */
	assert_int_equal(thread_counts_lost(&tc, 4, PERIOD, out), 1);
	assert_int_equal(out[0].tid, 9);
	assert_int_equal(out[0].lost, 4);
	thread_counts_release(&tc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lost_by_thread),
	    cmocka_unit_test(test_scaled_to_what_rings_reported),
	    cmocka_unit_test(test_thread_without_report_left_out),
	    cmocka_unit_test(test_unreported),
	    cmocka_unit_test(test_nothing_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
