/* test_path_table.c - the agent's path hash index (agent/path_table.h):
 * probing past taken homes, wrapping at the end, growing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "agent/path_table.h"

static struct path_table table_of(size_t cap)
{
	struct path_table t = {calloc(cap, sizeof(struct path_slot)), cap, 0};
	assert_non_null(t.slot);
	return t;
}

/* A hash with bit 0 set whose home is slot `home` of a table of cap. */
static uint64_t hash_at(size_t home, uint64_t salt)
{
	return ((uint64_t)home << 1 | 1) + (salt << 40);
}

static void test_collisions_and_wrap(void **state)
{
	(void)state;
	struct path_table t = table_of(16);
	assert_int_equal(path_table_find(&t, hash_at(3, 0)), 0);
	/* three hashes with one home: each its own entry */
	for (uint32_t i = 0; i < 3; i++)
		path_table_add(&t, hash_at(3, i), 10 + i);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(path_table_find(&t, hash_at(3, i)), 10 + i);
	assert_int_equal(path_table_find(&t, hash_at(3, 7)), 0);
	/* the last slot's chain wraps to slot 0 */
	path_table_add(&t, hash_at(15, 0), 20);
	path_table_add(&t, hash_at(15, 1), 21);
	assert_int_equal(path_table_slot(&t, hash_at(15, 1)) - t.slot, 0);
	assert_int_equal(path_table_find(&t, hash_at(15, 1)), 21);
	assert_int_equal(path_table_find(&t, hash_at(0, 0)), 0); /* its home is taken, not its hash */
	assert_int_equal(t.n, 5);
	free(t.slot);
}

static void test_grow(void **state)
{
	(void)state;
	struct path_table t = table_of(16);
	uint32_t id = 1;
	for (; !path_table_needs(&t, 1); id++)
		path_table_add(&t, hash_at(id * 7, id), id);
	assert_int_equal(t.n, 11); /* 70% of 16 */
	struct path_table g;
	path_table_move(&t, &g, calloc(64, sizeof(struct path_slot)), 64);
	assert_int_equal(g.n, t.n);
	for (uint32_t i = 1; i < id; i++)
		assert_int_equal(path_table_find(&g, hash_at(i * 7, i)), i);
	assert_false(path_table_needs(&g, 1));
	free(t.slot);
	free(g.slot);
	/* an empty table (no slots yet) must grow before its first add */
	struct path_table none = {0};
	assert_true(path_table_needs(&none, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_collisions_and_wrap),
	    cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
