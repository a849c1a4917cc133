/* test_scan_regions.c - capture/scan_regions.c: which mappings of
 * /proc/PID/maps the leak scan reads as roots. Anonymous memory and
 * private writable files are read; shared mappings, devices, the main
 * stack, the brk heap, glibc's arena heaps and what is not read-write are
 * not; a mapping merged right below an arena heap keeps its own part. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/scan_regions.h"

static const char maps[] = "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234 /usr/bin/prog\n"
                           "55d0c0c02000-55d0c0c03000 rw-p 00002000 08:01 1234 /usr/bin/prog\n"
                           "55d0c0c03000-55d0c0c05000 rw-p 00000000 00:00 0 \n"
                           "55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
                           /* an arena heap at 7f0004000000 (64 MiB aligned), with 1 MiB of
                            * someone's anonymous memory merged right below it */
                           "7f0003f00000-7f0004021000 rw-p 00000000 00:00 0 \n"
                           "7f0004021000-7f0008000000 ---p 00000000 00:00 0 \n"
                           /* a thread's stack above its guard page: read, the agent knows it */
                           "7f0010000000-7f0010001000 ---p 00000000 00:00 0 \n"
                           "7f0010001000-7f0010801000 rw-p 00000000 00:00 0 \n"
                           "7f0011000000-7f0011100000 rw-s 00000000 00:05 77 /dev/shm/kiln-heap-x/1.ring\n"
                           "7f0012000000-7f0012001000 rw-p 00000000 00:05 78 /dev/dri/card0\n"
                           "7f0012001000-7f0012002000 rw-p 00000000 00:05 79 /dev/zero (deleted)\n"
                           "7f0013000000-7f0013010000 rw-p 00000000 08:01 99 /tmp/a file with spaces\n"
                           "7f0014000000-7f0014010000 r--p 00000000 00:00 0 \n"
                           "7f0015000000-7f0015010000 rw-p 00000000 00:00 0                          [anon:pool]\n"
                           "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
                           "7ffd00100000-7ffd00102000 r--p 00000000 00:00 0                          [vvar]\n"
                           "garbage line\n"
                           "7ffd00200000-7ffd00201000 rw-p 00000000 00:00 0"; /* no newline at the end */

static void test_pick(void **state)
{
	(void)state;
	scan_region_vec v = {0};
	scan_regions_pick(maps, sizeof(maps) - 1, &v);
	const struct {
		uint64_t lo, hi;
		uint32_t kind;
		const char *name;
	} want[] = {
	    {0x55d0c0c02000, 0x55d0c0c03000, KH_REGION_FILE, "/usr/bin/prog"},
	    {0x55d0c0c03000, 0x55d0c0c05000, KH_REGION_ANON, NULL},
	    {0x7f0003f00000, 0x7f0004000000, KH_REGION_ANON, NULL},
	    {0x7f0010001000, 0x7f0010801000, KH_REGION_ANON, NULL},
	    {0x7f0012001000, 0x7f0012002000, KH_REGION_FILE, "/dev/zero (deleted)"},
	    {0x7f0013000000, 0x7f0013010000, KH_REGION_FILE, "/tmp/a file with spaces"},
	    {0x7f0015000000, 0x7f0015010000, KH_REGION_ANON, NULL},
	    {0x7ffd00200000, 0x7ffd00201000, KH_REGION_ANON, NULL},
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	assert_int_equal(v.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v.v[i].r.lo, want[i].lo);
		assert_int_equal(v.v[i].r.hi, want[i].hi);
		assert_int_equal(v.v[i].r.kind, want[i].kind);
		if (want[i].name)
			assert_string_equal(v.v[i].name, want[i].name);
		else
			assert_null(v.v[i].name);
		assert_int_equal(v.v[i].r.scanned, 0);
	}
	scan_regions_release(&v);
	assert_int_equal(v.n, 0);
}

/* An arena heap alone, another whose PROT_NONE part is followed by more
 * PROT_NONE memory, and one that grew to the full 64 MiB (nothing tells
 * it from other memory: read, minus its blocks, by the agent). */
static void test_arenas(void **state)
{
	(void)state;
	static const char arenas[] = "7f1004000000-7f1004400000 rw-p 00000000 00:00 0 \n"
	                             "7f1004400000-7f1008000000 ---p 00000000 00:00 0 \n"
	                             "7f1008000000-7f1008100000 rw-p 00000000 00:00 0 \n"
	                             "7f1008100000-7f100bf00000 ---p 00000000 00:00 0 \n"
	                             "7f100bf00000-7f100c100000 ---p 00000000 00:00 0 \n"
	                             "7f1010000000-7f1014000000 rw-p 00000000 00:00 0 \n"
	                             /* not an arena: PROT_NONE short of the boundary */
	                             "7f1020000000-7f1020001000 rw-p 00000000 00:00 0 \n"
	                             "7f1020001000-7f1020002000 ---p 00000000 00:00 0 \n";
	scan_region_vec v = {0};
	scan_regions_pick(arenas, sizeof(arenas) - 1, &v);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.v[0].r.lo, 0x7f1010000000);
	assert_int_equal(v.v[0].r.hi, 0x7f1014000000);
	assert_int_equal(v.v[1].r.lo, 0x7f1020000000);
	assert_int_equal(v.v[1].r.hi, 0x7f1020001000);
	scan_regions_release(&v);
}

static void test_read_self(void **state)
{
	(void)state;
	scan_region_vec v = {0};
	assert_int_equal(scan_regions_read(0x7fffffff, &v), -ENOENT);
	assert_int_equal(scan_regions_read((unsigned)getpid(), &v), 0);
	assert_true(v.n > 0);
	scan_regions_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_arenas),
	    cmocka_unit_test(test_read_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
