/* test_maps.c - /proc/PID/maps lines (capture/maps.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/maps.h"

static void test_parse_line(void **state)
{
	(void)state;
	struct maps_line m;
	const char *lib = "7f3a1c000000-7f3a1c1b5000 r-xp 00028000 fe:01 1835 /usr/lib/x86_64-linux-gnu/libc.so.6\n";
	assert_true(maps_parse_line(lib, &m));
	assert_int_equal(m.start, 0x7f3a1c000000ull);
	assert_int_equal(m.end, 0x7f3a1c1b5000ull);
	assert_int_equal(m.pgoff, 0x28000);
	assert_string_equal(lib + m.path_at, "/usr/lib/x86_64-linux-gnu/libc.so.6\n");
	/* a path with spaces is kept whole */
	const char *sp = "1000-2000 r-xp 00000000 00:00 0 /tmp/my prog (deleted)";
	assert_true(maps_parse_line(sp, &m));
	assert_string_equal(sp + m.path_at, "/tmp/my prog (deleted)");
	/* anonymous executable memory (a JIT): no path */
	assert_true(maps_parse_line("1000-2000 rwxp 00000000 00:00 0\n", &m));
	assert_int_equal(m.path_at, 0);
	assert_true(maps_parse_line("1000-2000 rwxp 00000000 00:00 0               ", &m));
	assert_int_equal(m.path_at, 0);
	/* not executable, or not a maps line */
	assert_false(maps_parse_line("1000-2000 rw-p 00000000 00:00 0 [heap]", &m));
	assert_false(maps_parse_line("garbage", &m));
	assert_false(maps_parse_line("", &m));
	assert_false(maps_parse_line("1000-2000 r-xp", &m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
