/* test_fs.c - fs_make_dirs(): a path made with its parents, and its mode,
 * made again (nothing to do), refused under a file, and the empty path;
 * fs_write_atomic(): a file written, replaced whole, and an error in a
 * directory that is not there with no temporary file left. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fs.h"

static char dir[1024];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/fs-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_make_dirs(void **state)
{
	(void)state;
	char path[1100], file[1100];
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(fs_make_dirs(path, 0700), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0); /* mode 0700: nothing for others */
	snprintf(file, sizeof(file), "%s/a", dir);
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* again, and with a trailing slash: nothing to make */
	assert_int_equal(fs_make_dirs(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/", dir);
	assert_int_equal(fs_make_dirs(path, 0700), 0);
	/* under a file: mkdir's own error */
	snprintf(file, sizeof(file), "%s/a/file", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a/file/sub", dir);
	assert_int_equal(fs_make_dirs(path, 0700), -ENOTDIR);
	assert_int_equal(fs_make_dirs("", 0700), -EINVAL);
}

/* The names in dir d, one per line, sorted, into out. */
static void list_dir(const char *d, char *out, size_t size)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | sort | tr '\\n' ' '", d);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void test_write_atomic(void **state)
{
	(void)state;
	char sub[1100], path[1200], got[64], names[256];
	snprintf(sub, sizeof(sub), "%s/w", dir);
	assert_int_equal(fs_make_dirs(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/file", sub);
	assert_int_equal(fs_write_atomic(path, "first", 5), 0);
	assert_int_equal(fs_write_atomic(path, "new", 3), 0); /* replaced, not overwritten in place */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(got, 1, sizeof(got), f);
	fclose(f);
	assert_int_equal(n, 3);
	assert_memory_equal(got, "new", 3);
	list_dir(sub, names, sizeof(names));
	assert_string_equal(names, "file "); /* no temporary file left */
	snprintf(path, sizeof(path), "%s/missing/file", sub);
	assert_int_equal(fs_write_atomic(path, "x", 1), -ENOENT);
	list_dir(sub, names, sizeof(names));
	assert_string_equal(names, "file ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_dirs),
	    cmocka_unit_test(test_write_atomic),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
