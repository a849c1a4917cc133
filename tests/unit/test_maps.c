/* test_maps.c - /proc/PID/maps lines, and mappings over time across an
 * exec (capture/maps.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/maps.h"
#include "profile/profile.h"

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

/* An exec ends the mappings made before it, and only those: the new
 * image's mappings are often read before the exec's own record, which
 * sits in another cpu's ring. */
static void test_exec(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct maps m;
	maps_init(&m, p);
	maps_add(&m, 7, 100, 0x1000, 0x1000, 0, "/old", NULL);
	maps_add(&m, 7, 300, 0x5000, 0x1000, 0, "/new", NULL); /* read first... */
	maps_exec(&m, 7, 200);                                 /* ...then the exec at 200 */
	assert_non_null(maps_find(&m, 7, 150, 0x1800));
	assert_null(maps_find(&m, 7, 250, 0x1800));
	const struct maps_entry *e = maps_find(&m, 7, 400, 0x5800);
	assert_non_null(e);
	assert_string_equal(profile_str(p, p->mappings.v[e->mapping].path), "/new");
	maps_release(&m);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_line),
	    cmocka_unit_test(test_exec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
