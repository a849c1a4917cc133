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
	flame_change_of(300, 1000, 300, 1000, &c);
	assert_false(c.significant);
	assert_true(c.delta == 0);
	assert_true(c.margin > 0.03 && c.margin < 0.05);
}

static void test_noise(void **state)
{
	(void)state;
	struct flame_change c;
	/* two points on a thousand samples: inside the interval */
	flame_change_of(200, 1000, 220, 1000, &c);
	assert_false(c.significant);
	assert_true(c.delta > 0.0199 && c.delta < 0.0201);
	/* the same two points on a million samples are real */
	flame_change_of(200000, 1000000, 220000, 1000000, &c);
	assert_true(c.significant);
}

static void test_planted(void **state)
{
	(void)state;
	struct flame_change c;
	/* a frame that doubled, from 10% to 20% of a thousand samples */
	flame_change_of(100, 1000, 200, 1000, &c);
	assert_true(c.significant);
	flame_change_of(200, 1000, 100, 1000, &c);
	assert_true(c.significant);
	assert_true(c.delta < 0);
	/* totals of different size: shares, not counts, are compared */
	flame_change_of(100, 1000, 1000, 10000, &c);
	assert_false(c.significant);
}

static void test_one_side_empty(void **state)
{
	(void)state;
	struct flame_change c;
	flame_change_of(0, 1000, 3, 1000, &c); /* three new samples: noise */
	assert_false(c.significant);
	flame_change_of(50, 100, 0, 100, &c); /* half of BASE gone from NEW */
	assert_true(c.significant);
	flame_change_of(5, 0, 5, 10, &c);
	assert_false(c.significant);
	assert_true(c.delta == 0);
	flame_change_of(5, 10, 5, 0, &c);
	assert_false(c.significant);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same),
	    cmocka_unit_test(test_noise),
	    cmocka_unit_test(test_planted),
	    cmocka_unit_test(test_one_side_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
