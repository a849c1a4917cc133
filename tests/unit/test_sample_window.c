/* test_sample_window.c - kiln serve's window of samples (profile/sample_window):
 * expiry by time, back-pressure that drops and counts, copies from a time,
 * forgetting the samples of a restarted stack trie, a ring that grows only as
 * samples come (up to its limit) and gives slots back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "profile/sample_window.h"

static struct profile_sample at(uint64_t time, uint32_t stack)
{
	return (struct profile_sample){.stack = stack, .time = time, .values = {1, 100}};
}

static void test_expire_and_drop(void **state)
{
	(void)state;
	struct sample_window w;
	sample_window_init(&w, 3, 1000);
	assert_true(sample_window_add(&w, &(struct profile_sample){.time = 100}));
	assert_true(sample_window_add(&w, &(struct profile_sample){.time = 200}));
	assert_true(sample_window_add(&w, &(struct profile_sample){.time = 300}));
	/* full of samples still inside the window: the new one is refused */
	struct profile_sample s = at(400, 1);
	assert_false(sample_window_add(&w, &s));
	assert_int_equal(w.dropped, 1);
	assert_int_equal(w.n, 3);
	sample_window_expire(&w, 1250); /* keeps 250 and later */
	assert_int_equal(w.n, 1);
	assert_true(sample_window_add(&w, &s));
	s = at(500, 2);
	assert_true(sample_window_add(&w, &s)); /* wraps around the ring */
	assert_int_equal(w.n, 3);
	struct profile *p = profile_new();
	assert_int_equal(sample_window_copy(&w, 400, p), 2);
	assert_int_equal(p->samples.n, 2);
	assert_int_equal(p->samples.v[0].time, 400);
	assert_int_equal(p->samples.v[1].time, 500);
	assert_int_equal(p->samples.v[1].values[1], 100);
	profile_free(p);
	sample_window_release(&w);
}

static void test_forget_stacks(void **state)
{
	(void)state;
	struct sample_window w;
	sample_window_init(&w, 4, 1000);
	for (uint32_t i = 0; i < 4; i++) {
		struct profile_sample s = at(10 + i, i % 2 ? 5 : 0);
		assert_true(sample_window_add(&w, &s));
	}
	sample_window_expire(&w, 1011); /* drops the first: the ring starts at 1 */
	struct profile_sample s = at(20, 7);
	assert_true(sample_window_add(&w, &s));
	assert_int_equal(sample_window_forget_stacks(&w, 1), 3);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.ring[w.head].time, 12);
	sample_window_release(&w);
}

static void test_grow_and_trim(void **state)
{
	(void)state;
	struct sample_window w;
	sample_window_init(&w, 100000, 1000000);
	size_t empty = sample_window_bytes(&w);
	assert_true(empty <= 1024 * sizeof(struct profile_sample));
	sample_window_expire(&w, 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct profile_sample s = at(1000 + i, i);
		assert_true(sample_window_add(&w, &s));
	}
	assert_true(w.cap >= 5000 && w.cap < 8000); /* grown in steps, not to the limit */
	assert_int_equal(w.ring[(w.head + 4999) % w.cap].stack, 4999);
	/* a lower limit: the ring holds what it has and takes no more */
	sample_window_set_limit(&w, 5000);
	sample_window_trim(&w);
	assert_int_equal(w.cap, 5000);
	struct profile_sample s = at(7000, 1);
	assert_false(sample_window_add(&w, &s));
	sample_window_expire(&w, 1000000 + 4000); /* keeps the last 2000 */
	assert_int_equal(w.n, 2000);
	sample_window_trim(&w);
	assert_true(w.cap < 5000 && w.cap >= 2000);
	assert_int_equal(w.ring[w.head].stack, 3000);
	assert_true(sample_window_add(&w, &s));
	sample_window_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expire_and_drop),
	    cmocka_unit_test(test_forget_stacks),
	    cmocka_unit_test(test_grow_and_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
