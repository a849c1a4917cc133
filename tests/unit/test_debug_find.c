/* test_debug_find.c - the check before libdwfl's search for a separate
 * debug file (debug_find.c): a stripped file with no debug file anywhere
 * is named without loading libdebuginfod, and debug files in each place
 * libdwfl looks (beside the file by .gnu_debuglink, in its .debug/, by
 * build-id in a --debug-dir) are still found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "run_cmd.h"

static char dir[1024];

static const char fixture_c[] = "#include <stdio.h>\n"
                                "__attribute__((noinline)) int work(int n)\n"
                                "{\n"
                                "\tint s = 0;\n"
                                "\tfor (int i = 0; i < n; i++)\n"
                                "\t\ts += i * i; /* work line */\n"
                                "\treturn s;\n"
                                "}\n"
                                "int main(int argc, char **argv)\n"
                                "{\n"
                                "\t(void)argv;\n"
                                "\tprintf(\"%d\\n\", work(argc * 1000));\n"
                                "\treturn 0;\n"
                                "}\n";

/* The file offset of function work in path: its symbol's value, as GNU
 * ld lays out a small PIE (each segment's offset equals its address). */
static uint64_t work_offset(const char *path)
{
	char cmd[2048], line[256];
	snprintf(cmd, sizeof(cmd), "nm '%s' | awk '$3 == \"work\" { print $1 }'", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	uint64_t v = 0;
	if (fgets(line, sizeof(line), f))
		v = strtoull(line, NULL, 16);
	pclose(f);
	assert_true(v != 0);
	return v;
}

/* The function at file offset off of path must be work; its file and
 * line into file and *line. */
static void lookup_work(const char *path, uint64_t off, char *file, size_t n, unsigned *line)
{
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[8];
	int k = symbolizer_lookup_file(s, path, off, f, 8);
	assert_true(k >= 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, "work");
	snprintf(file, n, "%s", f[0].file ? f[0].file : "");
	*line = f[0].line;
	symbolizer_free(s);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/debug-find-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	/* the check only skips libdwfl's search when no debuginfod server is set */
	unsetenv("DEBUGINFOD_URLS");
	return run("mkdir -p '%s/.debug' '%s/sub/.debug' '%s/dbg' && printf '%%s' '%s' > '%s/fix.c' && "
	           "cc -O1 -g -o '%s/full' '%s/fix.c' && cc -O1 -g -Wl,--build-id=none -o '%s/full_nobid' '%s/fix.c'",
	           dir, dir, dir, fixture_c, dir, dir, dir, dir, dir);
}

static int teardown(void **state)
{
	(void)state;
	symbols_set_debug_dirs(NULL);
	run("rm -rf '%s'", dir);
	return 0;
}

static void test_no_debuginfod(void **state)
{
	(void)state;
	char stripped[1200];
	snprintf(stripped, sizeof(stripped), "%s/stripped", dir);
	assert_int_equal(run("strip -o '%s' '%s/full'", stripped, dir), 0);
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[8];
	/* work is in no symbol table of the stripped file: the lookup
	 * searches for a debug file, finds none, and names what it can */
	char full[1200];
	snprintf(full, sizeof(full), "%s/full", dir);
	symbolizer_lookup_file(s, stripped, work_offset(full), f, 8);
	symbolizer_free(s);
	void *h = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	assert_null(h);
}

/* A debug file found through .gnu_debuglink, beside the file (where) or
 * in its .debug/ directory, for a file without a build-id. */
static void check_debuglink(const char *where)
{
	char exe[1200], dbg[1300], file[1200];
	unsigned line;
	snprintf(exe, sizeof(exe), "%s/sub/linked", dir);
	snprintf(dbg, sizeof(dbg), "%s/sub/%slinked.debug", dir, where);
	snprintf(file, sizeof(file), "%s/full_nobid", dir);
	uint64_t off = work_offset(file);
	assert_int_equal(run("rm -f '%s/sub/linked.debug' '%s/sub/.debug/linked.debug' && "
	                     "objcopy --only-keep-debug '%s/full_nobid' '%s' && "
	                     "strip --strip-debug --strip-unneeded -o '%s.tmp' '%s/full_nobid' && "
	                     "objcopy --add-gnu-debuglink='%s' '%s.tmp' '%s' && rm -f '%s.tmp'",
	                     dir, dir, dir, dbg, exe, dir, dbg, exe, exe, exe),
	                 0);
	lookup_work(exe, off, file, sizeof(file), &line);
	assert_non_null(strstr(file, "fix.c"));
	assert_true(line >= 2 && line <= 8);
}

static void test_debuglink_beside(void **state)
{
	(void)state;
	check_debuglink("");
}

static void test_debuglink_subdir(void **state)
{
	(void)state;
	check_debuglink(".debug/");
}

static void test_build_id_dir(void **state)
{
	(void)state;
	char exe[1200], bid[130], file[1200];
	unsigned line;
	snprintf(exe, sizeof(exe), "%s/bid_stripped", dir);
	assert_int_equal(run("strip -o '%s' '%s/full'", exe, dir), 0);
	assert_int_equal(symbols_file_build_id(exe, bid, sizeof(bid)), 1);
	assert_int_equal(run("mkdir -p '%s/dbg/.build-id/%.2s' && objcopy --only-keep-debug '%s/full' "
	                     "'%s/dbg/.build-id/%.2s/%s.debug'",
	                     dir, bid, dir, dir, bid, bid + 2),
	                 0);
	char dbgdir[1100];
	snprintf(dbgdir, sizeof(dbgdir), "%s/dbg", dir);
	symbols_set_debug_dirs(dbgdir);
	snprintf(file, sizeof(file), "%s/full", dir);
	lookup_work(exe, work_offset(file), file, sizeof(file), &line);
	symbols_set_debug_dirs(NULL);
	assert_non_null(strstr(file, "fix.c"));
	assert_true(line >= 2 && line <= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_debuginfod),
	    cmocka_unit_test(test_debuglink_beside),
	    cmocka_unit_test(test_debuglink_subdir),
	    cmocka_unit_test(test_build_id_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
