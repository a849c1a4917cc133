/* test_flame_diff.c - significance of a frame's change between two
 * profiles: noise stays neutral, a planted change is significant, frames
 * with no samples on one side and empty profiles are handled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analysis/flame_diff.h"

static void test_same(void **state)
{
	(void)state;
	struct flame_change c;
	flame_change_of(300, 1000, 300, 1000, FLAME_Z95, &c);
	assert_false(c.significant);
	assert_true(c.delta == 0);
	assert_true(c.margin > 0.03 && c.margin < 0.05);
}

static void test_noise(void **state)
{
	(void)state;
	struct flame_change c;
	/* two points on a thousand samples: inside the interval */
	flame_change_of(200, 1000, 220, 1000, FLAME_Z95, &c);
	assert_false(c.significant);
	assert_true(c.delta > 0.0199 && c.delta < 0.0201);
	/* the same two points on a million samples are real */
	flame_change_of(200000, 1000000, 220000, 1000000, FLAME_Z95, &c);
	assert_true(c.significant);
}

static void test_planted(void **state)
{
	(void)state;
	struct flame_change c;
	/* a frame that doubled, from 10% to 20% of a thousand samples */
	flame_change_of(100, 1000, 200, 1000, FLAME_Z95, &c);
	assert_true(c.significant);
	flame_change_of(200, 1000, 100, 1000, FLAME_Z95, &c);
	assert_true(c.significant);
	assert_true(c.delta < 0);
	/* totals of different size: shares, not counts, are compared */
	flame_change_of(100, 1000, 1000, 10000, FLAME_Z95, &c);
	assert_false(c.significant);
}

static void test_one_side_empty(void **state)
{
	(void)state;
	struct flame_change c;
	flame_change_of(0, 1000, 3, 1000, FLAME_Z95, &c); /* three new samples: noise */
	assert_false(c.significant);
	flame_change_of(50, 100, 0, 100, FLAME_Z95, &c); /* half of BASE gone from NEW */
	assert_true(c.significant);
	flame_change_of(5, 0, 5, 10, FLAME_Z95, &c);
	assert_false(c.significant);
	assert_true(c.delta == 0);
	flame_change_of(5, 10, 5, 0, FLAME_Z95, &c);
	assert_false(c.significant);
}

/* A tiny deterministic generator, so the test draws the same "runs" each time. */
static uint64_t rng_state = 88172645463325252ull;
static double uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Two "runs" of the same program: 2000 frames, 50,000 samples each drawn
 * from the same shares. Tested one by one at 95%, about a hundred frames
 * look changed; corrected for the 2000 tests, none does. A frame planted
 * at twice its share stays significant. */
static void test_many_frames(void **state)
{
	(void)state;
	enum { FRAMES = 2000, SAMPLES = 50000 };
	static double share[FRAMES], cum[FRAMES];
	static int a[FRAMES], b[FRAMES];
	double sum = 0;
	for (int i = 0; i < FRAMES; i++)
		sum += share[i] = 1.0 / (i % 50 + 1); /* some wide, most narrow */
	for (int i = 0; i < FRAMES; i++)
		cum[i] = (i ? cum[i - 1] : 0) + share[i] / sum;
	for (int run = 0; run < 2; run++)
		for (int k = 0; k < SAMPLES; k++) {
			double u = uniform();
			int lo = 0, hi = FRAMES - 1;
			while (lo < hi) {
				int mid = (lo + hi) / 2;
				if (cum[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			(run ? b : a)[lo]++;
		}
	static double z[FRAMES];
	int naive = 0;
	for (int i = 0; i < FRAMES; i++) {
		struct flame_change c;
		flame_change_of(a[i], SAMPLES, b[i], SAMPLES, FLAME_Z95, &c);
		naive += c.significant;
		z[i] = c.z;
	}
	assert_true(naive >= 20); /* what the uncorrected test says: noise */
	double zcrit = flame_diff_threshold(z, FRAMES);
	int corrected = 0;
	for (int i = 0; i < FRAMES; i++) {
		struct flame_change c;
		flame_change_of(a[i], SAMPLES, b[i], SAMPLES, zcrit, &c);
		corrected += c.significant;
	}
	assert_int_equal(corrected, 0);
	/* frame 0 (1,170 samples) twice as often in NEW: a real change */
	b[0] = 2 * a[0];
	for (int i = 0; i < FRAMES; i++) {
		struct flame_change c;
		flame_change_of(a[i], SAMPLES, b[i], SAMPLES + a[0], FLAME_Z95, &c);
		z[i] = c.z;
	}
	zcrit = flame_diff_threshold(z, FRAMES);
	struct flame_change c;
	flame_change_of(a[0], SAMPLES, b[0], SAMPLES + a[0], zcrit, &c);
	assert_true(c.significant);
	assert_true(zcrit > FLAME_Z95 && zcrit < FLAME_ZNONE);
	assert_true(flame_diff_threshold(z, 0) == FLAME_ZNONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same),           cmocka_unit_test(test_noise),       cmocka_unit_test(test_planted),
	    cmocka_unit_test(test_one_side_empty), cmocka_unit_test(test_many_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
