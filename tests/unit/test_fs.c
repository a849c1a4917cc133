/* test_fs.c - fs_make_dirs(): a path made with its parents, and its mode,
 * made again (nothing to do), refused under a file, and the empty path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_dirs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
