/* test_hashmap.c - the open-addressing map: insert, overwrite, growth,
 * reserving room up front, clearing, and keys that collide in the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/hashmap.h"

static void test_put_get(void **state)
{
	(void)state;
	struct hashmap m;
	hashmap_init(&m);
	uint64_t v = 7;
	assert_false(hashmap_get(&m, 1, &v)); /* empty, never allocated */
	assert_int_equal(v, 7);
	hashmap_put(&m, 1, 10);
	hashmap_put(&m, 0, 20); /* 0 is an ordinary key */
	hashmap_put(&m, UINT64_MAX - 1, 30);
	assert_true(hashmap_get(&m, 1, &v));
	assert_int_equal(v, 10);
	assert_true(hashmap_get(&m, 0, &v));
	assert_int_equal(v, 20);
	assert_true(hashmap_get(&m, UINT64_MAX - 1, NULL));
	hashmap_put(&m, 1, 11); /* overwrite: no new key */
	assert_int_equal(m.n, 3);
	assert_true(hashmap_get(&m, 1, &v));
	assert_int_equal(v, 11);
	hashmap_release(&m);
	hashmap_release(NULL);
}

static void test_growth(void **state)
{
	(void)state;
	struct hashmap m;
	hashmap_init(&m);
	/* keys one table size apart land in the same slot of a small table */
	for (uint64_t i = 0; i < 100000; i++)
		hashmap_put(&m, i * 4096, i);
	assert_int_equal(m.n, 100000);
	assert_true(m.cap >= 2 * m.n); /* load factor at most 1/2 */
	for (uint64_t i = 0; i < 100000; i++) {
		uint64_t v;
		assert_true(hashmap_get(&m, i * 4096, &v));
		assert_int_equal(v, i);
	}
	assert_false(hashmap_get(&m, 4095, NULL));
	hashmap_release(&m);
}

static void test_reserve(void **state)
{
	(void)state;
	struct hashmap m;
	hashmap_init(&m);
	hashmap_put(&m, 5, 50);
	hashmap_reserve(&m, 10000);
	size_t cap = m.cap;
	assert_true(cap >= 2 * 10000);
	uint64_t v;
	assert_true(hashmap_get(&m, 5, &v)); /* kept across the rehash */
	assert_int_equal(v, 50);
	for (uint64_t i = 0; i < 9999; i++)
		hashmap_put(&m, 1000 + i, i);
	assert_int_equal(m.cap, cap); /* filling what was reserved never rehashes */
	assert_int_equal(m.n, 10000);
	hashmap_reserve(&m, 10); /* never shrinks */
	assert_int_equal(m.cap, cap);
	for (uint64_t i = 0; i < 9999; i++) {
		assert_true(hashmap_get(&m, 1000 + i, &v));
		assert_int_equal(v, i);
	}
	hashmap_release(&m);
}

static void test_clear(void **state)
{
	(void)state;
	struct hashmap m;
	hashmap_init(&m);
	for (uint64_t i = 0; i < 100; i++)
		hashmap_put(&m, i, i);
	size_t cap = m.cap;
	hashmap_clear(&m);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.cap, cap); /* keeps its memory for reuse */
	assert_false(hashmap_get(&m, 3, NULL));
	hashmap_put(&m, 3, 4);
	uint64_t v;
	assert_true(hashmap_get(&m, 3, &v));
	assert_int_equal(v, 4);
	hashmap_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
