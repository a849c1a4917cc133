/* test_cache_sim.c - libkiln-qemu.so's cache simulation (src/qemu/
 * qemu_cache_sim.c, compiled in here): geometry checks, LRU replacement
 * within a set, the LL behind both first levels, a line-straddling access
 * counted once, and cachegrind's fallback geometry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qemu/qemu_cache_sim.h"

static void test_geometry(void **state)
{
	(void)state;
	struct cache_geometry g;
	assert_int_equal(cache_geometry_set(&g, 32768, 8, 64), 0);
	assert_int_equal(cache_geometry_set(&g, 32768, 8, 48), -EINVAL); /* line not a power of two */
	assert_int_equal(cache_geometry_set(&g, 32768, 7, 64), -EINVAL); /* size not assoc * line * sets */
	assert_int_equal(cache_geometry_set(&g, 0, 8, 64), -EINVAL);
	/* a set count that is no power of two (a 12-way 48K D1) is fine */
	assert_int_equal(cache_geometry_set(&g, 49152, 12, 64), 0);
}

static void test_lru(void **state)
{
	(void)state;
	struct cache_geometry l1, ll;
	/* 2 sets of 2 ways of 64 bytes; a big LL */
	assert_int_equal(cache_geometry_set(&l1, 256, 2, 64), 0);
	assert_int_equal(cache_geometry_set(&ll, 65536, 16, 64), 0);
	struct cache_sim s;
	assert_int_equal(cache_sim_init(&s, &l1, &l1, &ll), 0);
	/* lines 0, 2, 4 map to set 0 */
	assert_int_equal(cache_sim_data(&s, 0 * 64, 8), 2); /* cold: misses LL too */
	assert_int_equal(cache_sim_data(&s, 2 * 64, 8), 2);
	assert_int_equal(cache_sim_data(&s, 0 * 64 + 8, 8), 0); /* hit, line 0 most recent */
	assert_int_equal(cache_sim_data(&s, 4 * 64, 8), 2);     /* evicts line 2, the LRU */
	assert_int_equal(cache_sim_data(&s, 0, 8), 0);
	assert_int_equal(cache_sim_data(&s, 2 * 64, 8), 1); /* D1 miss, LL hit */
	/* the instruction cache is separate from D1 but shares LL */
	assert_int_equal(cache_sim_fetch(&s, 0, 4), 1);
	assert_int_equal(cache_sim_fetch(&s, 1, 4), 0);
	/* an access across two lines counts one miss at the deeper level */
	assert_int_equal(cache_sim_data(&s, 7 * 64 - 4, 8), 2);
	assert_int_equal(cache_sim_data(&s, 7 * 64 - 4, 8), 0);
	cache_sim_release(&s);
}

/* The fetch check worked out ahead (kiln_qemu.c): the tag at the slot is
 * the line's exactly while the line is its set's most recently used. */
static void test_line_tag(void **state)
{
	(void)state;
	struct cache_geometry l1, ll;
	assert_int_equal(cache_geometry_set(&l1, 256, 2, 64), 0); /* 2 sets of 2 ways */
	assert_int_equal(cache_geometry_set(&ll, 65536, 16, 64), 0);
	struct cache_sim s;
	assert_int_equal(cache_sim_init(&s, &l1, &l1, &ll), 0);
	uint64_t a = 3 * 64 + 10, b = 5 * 64; /* lines 3 and 5: both in set 1 */
	uint64_t ta = cache_sim_line_tag(&s.i1, a), tb = cache_sim_line_tag(&s.i1, b);
	uint32_t sa = cache_sim_line_slot(&s.i1, a);
	assert_int_equal(sa, 1 * 2);
	assert_int_equal(cache_sim_line_slot(&s.i1, b), sa);
	assert_true(ta && tb && ta != tb);
	assert_true(s.i1.tags[sa] != ta); /* cold */
	assert_int_equal(cache_sim_fetch(&s, a, 4), 2);
	assert_true(s.i1.tags[sa] == ta);
	assert_int_equal(cache_sim_fetch(&s, b, 4), 2);
	assert_true(s.i1.tags[sa] == tb && s.i1.tags[sa] != ta);
	assert_int_equal(cache_sim_fetch(&s, a, 4), 0); /* still in the set's second way */
	assert_true(s.i1.tags[sa] == ta);
	cache_sim_release(&s);
	/* sets not a power of two: no tag, every fetch takes the full way */
	assert_int_equal(cache_geometry_set(&l1, 3 * 128, 2, 64), 0);
	assert_int_equal(cache_sim_init(&s, &l1, &l1, &ll), 0);
	assert_true(cache_sim_line_tag(&s.i1, a) == 0);
	cache_sim_release(&s);
}

static void test_defaults(void **state)
{
	(void)state;
	struct cache_sim s;
	assert_int_equal(cache_sim_init(&s, NULL, NULL, NULL), 0);
	assert_int_equal(s.i1.geo.size, 32768);
	assert_int_equal(s.d1.geo.assoc, 8);
	assert_int_equal(s.ll.geo.size, 8 << 20);
	assert_int_equal(s.ll.sets, (8 << 20) / (16 * 64));
	cache_sim_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geometry),
	    cmocka_unit_test(test_lru),
	    cmocka_unit_test(test_line_tag),
	    cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
