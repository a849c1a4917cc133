/* test_maps_line.c - the shared /proc/PID/maps line decoder
 * (capture/maps_line.c). Built twice (tests/CMakeLists.txt): against kiln's
 * build of the decoders and, as test_maps_line_agent, the agent's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/maps_line.h"

static bool parse(const char *s, struct maps_line *l)
{
	return maps_line_parse(s, strlen(s), l);
}

static void test_line(void **state)
{
	(void)state;
	struct maps_line l;
	const char *lib = "7f12a000-7f12c000 r-xp 00002000 08:01 1234    /usr/lib/libc.so.6\n";
	assert_true(parse(lib, &l));
	assert_int_equal(l.start, 0x7f12a000);
	assert_int_equal(l.end, 0x7f12c000);
	assert_int_equal(l.pgoff, 0x2000);
	assert_int_equal(l.inode, 1234);
	assert_memory_equal(l.perms, "r-xp", 4);
	assert_true(maps_line_exec(&l));
	assert_string_equal(lib + l.path_at, "/usr/lib/libc.so.6\n");
	assert_int_equal(l.path_len, strlen("/usr/lib/libc.so.6"));
	assert_int_equal(l.next, strlen(lib));
	/* a path with spaces stays whole; pseudo paths */
	const char *sp = "1000-2000 r-xp 00000000 00:00 0   /tmp/a b/c (deleted)";
	assert_true(parse(sp, &l));
	assert_string_equal(sp + l.path_at, "/tmp/a b/c (deleted)");
	assert_true(parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", &l));
	assert_int_equal(l.end, 0xffffffffff601000ull);
	/* anonymous: no path, trailing blanks or not */
	assert_true(parse("1000-2000 rw-p 00000000 00:00 0\n", &l));
	assert_int_equal(l.path_at, 0);
	assert_false(maps_line_exec(&l));
	assert_true(parse("1000-2000 rwxp 00000000 00:00 0               ", &l));
	assert_int_equal(l.path_at, 0);
}

static void test_malformed(void **state)
{
	(void)state;
	struct maps_line l;
	assert_false(parse("", &l));
	assert_false(parse("garbage", &l));
	assert_false(parse("1000-2000 r-xp", &l));
	assert_false(parse("1000-2000 r-xp 0", &l));
	assert_false(parse("1000 2000 r-xp 00000000 00:00 0", &l));
	assert_false(parse("2000-1000 r-xp 00000000 00:00 0", &l));           /* end below start */
	assert_false(parse("10000000000000000-1 r-xp 00000000 00:00 0", &l)); /* 17 digits */
	assert_false(parse("1000-2000 r-x 00000000 00:00 0", &l));
	assert_false(parse("1000-2000 r-xp 00000000 00:00 12x /a", &l)); /* inode */
	/* an inode past 64 bits is refused, not wrapped (to 0 here) */
	assert_false(parse("1000-2000 r-xp 00000000 00:00 18446744073709551616 /a", &l));
	assert_true(parse("1000-2000 r-xp 00000000 00:00 18446744073709551615 /a", &l));
	assert_true(l.inode == UINT64_MAX);
	assert_true(parse("1000-2000 r-xp 00000000 00:00 000000000000000000000042 /a", &l));
	assert_int_equal(l.inode, 42);
}

static void test_walk(void **state)
{
	(void)state;
	/* a buffer walked line by line, as the agent walks its snapshot; the
	 * last line has no newline and a bad line in the middle is skipped */
	const char buf[] = "1000-2000 r-xp 00000000 00:00 0 /a\nnot a line\n3000-4000 rw-p 00001000 00:00 0 /b";
	size_t len = sizeof(buf) - 1, n = 0, bad = 0;
	uint64_t ends[4];
	struct maps_line l;
	for (size_t i = 0; i < len; i += l.next) {
		if (!maps_line_parse(buf + i, len - i, &l)) {
			bad++;
			continue;
		}
		ends[n++] = l.end;
	}
	assert_int_equal(n, 2);
	assert_int_equal(bad, 1);
	assert_int_equal(ends[0], 0x2000);
	assert_int_equal(ends[1], 0x4000);
	/* the length bounds the line: nothing past it is read */
	assert_true(maps_line_parse(buf, 33, &l));
	assert_int_equal(l.path_len, 1);
	assert_int_equal(l.next, 33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
