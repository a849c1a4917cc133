/* test_dbgsym.c - which Debian package installed a module
 * (symbols_packages_of, src/symbols/debug_packages.c) from a made-up dpkg info directory:
 * the answers, the cache file that spares reading the lists again (for
 * the files asked and for every module-shaped file of the lists, so that
 * a new profile's modules are answered too), and that the cache is
 * dropped when the lists change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "util/strbuf.h"

static char dir[1024], info[1100], cache[1100];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_in(const char *d, const char *name, const char *text)
{
	char path[2300];
	snprintf(path, sizeof(path), "%s/%s", d, name);
	write_file(path, text);
}

/* Sets the info directory's mtime to ago seconds before now: the lists'
 * state, and old enough for answers to be kept. */
static void set_lists_time(time_t ago)
{
	struct timespec ts[2] = {{time(NULL) - ago, 0}, {time(NULL) - ago, 0}};
	assert_int_equal(utimensat(AT_FDCWD, info, ts, 0), 0);
}

static const char *const files[] = {"/usr/bin/zz", "/lib/x86_64-linux-gnu/libfoo.so.1", "/opt/none/x"};
#define NFILES (sizeof(files) / sizeof(*files))

static void ask(char (*pkg)[256], const char *with_cache)
{
	symbols_packages_of(info, with_cache, files, NFILES, pkg);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/dbgsym-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	snprintf(info, sizeof(info), "%s/info", dir);
	snprintf(cache, sizeof(cache), "%s/cache/kiln/packages", dir);
	if (mkdir(dir, 0755) != 0 || mkdir(info, 0755) != 0)
		return -1;
	/* a package named like its file, one found by the pass over all
	 * lists (with /usr merged: the list says /usr/lib/...), and lists
	 * that are not .list files */
	write_in(info, "zz.list", "/.\n/usr\n/usr/bin\n/usr/bin/zz\n");
	write_in(info, "libfoo1:amd64.list",
	         "/.\n/usr/lib/x86_64-linux-gnu/libfoo.so.1.2\n"
	         "/usr/lib/x86_64-linux-gnu/libfoo.so.1\n");
	write_in(info, "other.list", "/usr/bin/other\n/usr/share/doc/other/README\n");
	write_in(info, "cpp-9:amd64.list", "/usr/lib/gcc\n/usr/lib/gcc/x86_64-linux-gnu/9/cc1\n");
	write_in(info, "libbar2.list", "/lib/x86_64-linux-gnu/libbar.so.2.0.1\n/usr/share/libbar/x.so.txt\n");
	write_in(info, "libfoo1:amd64.md5sums", "0123 /opt/none/x\n");
	set_lists_time(100);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_from_lists(void **state)
{
	(void)state;
	char pkg[NFILES][256];
	ask(pkg, NULL);
	assert_string_equal(pkg[0], "zz");
	assert_string_equal(pkg[1], "libfoo1");
	assert_string_equal(pkg[2], "");
	assert_int_equal(access(cache, F_OK), -1); /* no cache asked for */
}

static void test_cache_used(void **state)
{
	(void)state;
	char pkg[NFILES][256];
	ask(pkg, cache);
	assert_string_equal(pkg[1], "libfoo1");
	assert_int_equal(access(cache, F_OK), 0);
	/* a later call answers from the cache, without the lists: a name
	 * planted there is what comes back */
	FILE *f = fopen(cache, "r");
	assert_non_null(f);
	char text[4096];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "/lib/x86_64-linux-gnu/libfoo.so.1\tlibfoo1\n"));
	assert_non_null(strstr(text, "/opt/none/x\t\n"));
	char *at = strstr(text, "\tlibfoo1\n");
	memcpy(at, "\tplant11\n", 9);
	write_file(cache, text);
	ask(pkg, cache);
	assert_string_equal(pkg[0], "zz");
	assert_string_equal(pkg[1], "plant11");
	assert_string_equal(pkg[2], "");
}

static void test_cache_dropped_when_lists_change(void **state)
{
	(void)state;
	char pkg[NFILES][256];
	ask(pkg, cache);
	assert_string_equal(pkg[1], "plant11"); /* still the planted answer */
	/* a package installed: dpkg's directory changes, the cache is stale */
	write_in(info, "none.list", "/opt\n/opt/none\n/opt/none/x\n");
	set_lists_time(50);
	ask(pkg, cache);
	assert_string_equal(pkg[0], "zz");
	assert_string_equal(pkg[1], "libfoo1");
	assert_string_equal(pkg[2], "none");
	/* and the new answers are kept: the lists are not read again */
	char path[2300];
	snprintf(path, sizeof(path), "%s/none.list", info);
	write_file(path, "/opt\n");
	set_lists_time(50);
	ask(pkg, cache);
	assert_string_equal(pkg[2], "none");
}

/* Reads the cache file whole into text. */
static void read_cache(char *text, size_t size)
{
	FILE *f = fopen(cache, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, size - 1, f);
	fclose(f);
	text[n] = '\0';
}

/* Adds a list to the info directory and puts the directory's mtime back:
 * the lists say something the cache's state does not see. */
static void add_list_unseen(const char *name, const char *text)
{
	struct stat st;
	assert_int_equal(stat(info, &st), 0);
	write_in(info, name, text);
	struct timespec ts[2] = {st.st_mtim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, info, ts, 0), 0);
}

/* The modules of a profile not read before are answered from the cache
 * the first pass over the lists wrote, without a second pass. */
static void test_other_modules_cached(void **state)
{
	(void)state;
	unlink(cache);
	set_lists_time(100);
	char pkg[NFILES][256];
	ask(pkg, cache);
	assert_string_equal(pkg[1], "libfoo1");
	char text[8192];
	read_cache(text, sizeof(text));
	/* every module-shaped file of every list, not only those asked */
	assert_non_null(strstr(text, "\n/usr/bin/other\tother\n"));
	assert_non_null(strstr(text, "\n/usr/lib/gcc/x86_64-linux-gnu/9/cc1\tcpp-9\n"));
	assert_non_null(strstr(text, "\n/lib/x86_64-linux-gnu/libbar.so.2.0.1\tlibbar2\n"));
	assert_non_null(strstr(text, "\n/usr/lib/x86_64-linux-gnu/libfoo.so.1.2\tlibfoo1\n"));
	assert_null(strstr(text, "README"));
	assert_null(strstr(text, "x.so.txt"));
	assert_null(strstr(text, "\n/usr/lib/gcc\t"));
	size_t n = strlen(text);
	assert_true(n > 3 && !strcmp(text + n - 3, "\n.\n")); /* whole */
	/* answered from there: a planted name comes back, under /usr merged */
	char *at = strstr(text, "\tlibbar2\n");
	memcpy(at, "\tplant22\n", 9);
	write_file(cache, text);
	const char *const more[] = {"/usr/bin/other", "/usr/lib/x86_64-linux-gnu/libbar.so.2.0.1",
	                            "/lib/gcc/x86_64-linux-gnu/9/cc1"};
	char got[3][256];
	symbols_packages_of(info, cache, more, 3, got);
	assert_string_equal(got[0], "other");
	assert_string_equal(got[1], "plant22");
	assert_string_equal(got[2], "cpp-9");
	/* a module-shaped file the cache does not hold is in no list (the lists
	 * are not read: one added unseen is not found), any other file is
	 * looked for in the lists */
	add_list_unseen("late.list", "/usr/bin/late\n/opt/late/prog\n");
	const char *const late[] = {"/usr/bin/late", "/opt/late/prog"};
	symbols_packages_of(info, cache, late, 2, got);
	assert_string_equal(got[0], "");
	assert_string_equal(got[1], "late");
	char path[2300];
	snprintf(path, sizeof(path), "%s/late.list", info);
	unlink(path);
	set_lists_time(100);
}

/* A cache cut short (its end line lost) is not used: it would say "no
 * package" for the module-shaped files it lost. */
static void test_cut_cache_ignored(void **state)
{
	(void)state;
	unlink(cache);
	char pkg[NFILES][256], text[8192];
	ask(pkg, cache);
	read_cache(text, sizeof(text));
	char *at = strstr(text, "\n/usr/bin/other\t");
	assert_non_null(at);
	at[1] = '\0';
	write_file(cache, text);
	const char *const other[] = {"/usr/bin/other"};
	char got[1][256];
	symbols_packages_of(info, cache, other, 1, got);
	assert_string_equal(got[0], "other");
	read_cache(text, sizeof(text)); /* and written whole again */
	assert_non_null(strstr(text, "\n/usr/bin/other\tother\n"));
}

/* The hint's packages: one each, in the order first asked, none for a
 * file no package installed. */
static void test_dbgsym_list_once(void **state)
{
	(void)state;
	const char pkg[5][256] = {"coreutils", "dash", "", "coreutils", "dash"};
	struct strbuf out = STRBUF_INIT;
	symbols_dbgsym_list(pkg, 5, &out);
	assert_string_equal(strbuf_str(&out), "coreutils-dbgsym dash-dbgsym");
	strbuf_release(&out);
	symbols_dbgsym_list(pkg + 2, 1, &out);
	assert_string_equal(strbuf_str(&out), "");
	strbuf_release(&out);
}

static void test_changing_lists_not_kept(void **state)
{
	(void)state;
	char pkg[NFILES][256];
	/* lists changed a moment ago may change again within the same tick
	 * of the directory's mtime: answers then are not stored */
	unlink(cache);
	set_lists_time(0);
	ask(pkg, cache);
	assert_string_equal(pkg[0], "zz");
	assert_int_equal(access(cache, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_lists),
	    cmocka_unit_test(test_cache_used),
	    cmocka_unit_test(test_cache_dropped_when_lists_change),
	    cmocka_unit_test(test_other_modules_cached),
	    cmocka_unit_test(test_cut_cache_ignored),
	    cmocka_unit_test(test_changing_lists_not_kept),
	    cmocka_unit_test(test_dbgsym_list_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
