/* test_keymap.c - the keyed index: keys confirmed by the caller's equality,
 * so keys whose hashes collide (all of them, with a degenerate hash) stay
 * apart; growth keeps every entry; reserve and clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/hashmap.h"
#include "util/keymap.h"

#define NKEYS 5000

/* The keys live in the caller's array, as in every real caller. */
struct keys {
	char name[NKEYS][16];
	uint32_t n;
};

static bool name_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct keys *k = ctx;
	return !strcmp(k->name[id], key);
}

static uint64_t good_hash(const char *s)
{
	return hash_bytes(s, strlen(s));
}

static uint64_t degenerate_hash(const char *s)
{
	(void)s;
	return 0x1234567800000000ULL; /* every key clashes in slot and tag */
}

/* Interns "k0".."k{n-1}" twice each; the second round must find the first. */
static void intern_all(struct keymap *m, struct keys *k, uint64_t (*hash)(const char *), uint32_t n)
{
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < n; i++) {
			char buf[16];
			snprintf(buf, sizeof(buf), "k%u", i);
			uint32_t id = keymap_find(m, hash(buf), name_eq, k, buf);
			if (round == 0) {
				assert_int_equal(id, KEYMAP_NONE);
				id = k->n++;
				memcpy(k->name[id], buf, sizeof(buf));
				keymap_add(m, hash(buf), id);
			}
			assert_int_equal(id, i);
		}
	assert_int_equal(m->n, n);
}

static void test_find_add(void **state)
{
	(void)state;
	static struct keys k;
	k.n = 0;
	struct keymap m;
	keymap_init(&m);
	assert_int_equal(keymap_find(&m, good_hash("x"), name_eq, &k, "x"), KEYMAP_NONE); /* never allocated */
	intern_all(&m, &k, good_hash, NKEYS);                                             /* grows many times */
	assert_true(m.cap >= NKEYS * 4 / 3);
	assert_int_equal(keymap_find(&m, good_hash("nope"), name_eq, &k, "nope"), KEYMAP_NONE);
	keymap_release(&m);
	keymap_release(NULL);
}

static void test_degenerate_hash(void **state)
{
	(void)state;
	static struct keys k;
	k.n = 0;
	struct keymap m;
	keymap_init(&m);
	/* one probe chain through every key, across growth: equality alone
	 * tells them apart, none is merged with another */
	intern_all(&m, &k, degenerate_hash, 300);
	assert_int_equal(keymap_find(&m, degenerate_hash("k300"), name_eq, &k, "k300"), KEYMAP_NONE);
	keymap_release(&m);
}

static void test_same_tag_other_home(void **state)
{
	(void)state;
	static struct keys k;
	k.n = 2;
	snprintf(k.name[0], sizeof(k.name[0]), "a");
	snprintf(k.name[1], sizeof(k.name[1]), "b");
	struct keymap m;
	keymap_init(&m);
	/* same high half (the kept tag), different low half: still one tag, so
	 * equal tags with unequal keys must be told apart by eq */
	keymap_add(&m, 0xabcdef0100000001ULL, 0);
	keymap_add(&m, 0xabcdef0100000002ULL, 1);
	assert_int_equal(keymap_find(&m, 0xabcdef0100000001ULL, name_eq, &k, "a"), 0);
	assert_int_equal(keymap_find(&m, 0xabcdef0100000002ULL, name_eq, &k, "b"), 1);
	assert_int_equal(keymap_find(&m, 0xabcdef0100000002ULL, name_eq, &k, "c"), KEYMAP_NONE);
	/* a guess is only a hint for prefetching: the first entry with the tag */
	assert_int_equal(keymap_guess(&m, 0xabcdef0100000002ULL), 0);
	assert_int_equal(keymap_guess(&m, 0x1111111100000000ULL), KEYMAP_NONE);
	keymap_prefetch(&m, 0x1111111100000000ULL);
	keymap_release(&m);
}

static void test_reserve_clear(void **state)
{
	(void)state;
	static struct keys k;
	k.n = 0;
	struct keymap m;
	keymap_init(&m);
	keymap_reserve(&m, 1000);
	uint64_t *slots = m.slots;
	size_t cap = m.cap;
	intern_all(&m, &k, good_hash, 1000);
	assert_ptr_equal(m.slots, slots); /* reserved: no growth */
	assert_int_equal(m.cap, cap);
	keymap_clear(&m);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.cap, cap);
	assert_int_equal(keymap_find(&m, good_hash("k1"), name_eq, &k, "k1"), KEYMAP_NONE);
	k.n = 0;
	intern_all(&m, &k, good_hash, 1000); /* usable again after clear */
	keymap_reserve(&m, 10);              /* never shrinks */
	assert_int_equal(m.cap, cap);
	keymap_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find_add),
	    cmocka_unit_test(test_degenerate_hash),
	    cmocka_unit_test(test_same_tag_other_home),
	    cmocka_unit_test(test_reserve_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
