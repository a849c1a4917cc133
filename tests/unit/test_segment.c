/* test_segment.c - kiln serve's segment directory (profile/segment): names
 * in time order, removal by retention and by the byte budget, oldest first,
 * never the open segment, other files left alone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile/segment.h"

static char dir[512];

static void write_file(const char *path, size_t size, time_t mtime)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/test_segment.%d/a/b", tmp ? tmp : "/tmp", (int)getpid());
	return 0;
}

static void test_prune(void **state)
{
	(void)state;
	struct segment_dir sd;
	assert_int_equal(segment_dir_init(&sd, dir, 100ull * 1000000000ull, 2500), 0);
	uint64_t now = 1000000ull * 1000000000ull; /* a wall clock in ns */
	char *paths[4];
	for (int i = 0; i < 4; i++) {
		paths[i] = segment_dir_path(&sd, now - (uint64_t)(4 - i) * 60 * 1000000000ull, (uint64_t)i + 1);
		/* segment 0 last written 250 s ago (past retention), the rest recently */
		write_file(paths[i], 1000, (time_t)(now / 1000000000ull) - (i == 0 ? 250 : 10 - i));
	}
	assert_true(strcmp(paths[0], paths[1]) < 0); /* names sort in time order */
	assert_non_null(strstr(paths[0], "/kiln-serve-19700112T"));
	char other[600];
	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	write_file(other, 5000, 0);
	struct segment_dir_stats st;
	/* 0 goes for retention; then 3000 bytes > 2500: 1 goes (the oldest), 3 is open */
	assert_int_equal(segment_dir_prune(&sd, now, paths[3], &st), 2);
	assert_int_equal(access(paths[0], F_OK), -1);
	assert_int_equal(access(paths[1], F_OK), -1);
	assert_int_equal(access(paths[2], F_OK), 0);
	assert_int_equal(access(paths[3], F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 2000);
	assert_int_equal(st.removed, 2);
	/* the open segment is never removed, even over budget */
	sd.max_bytes = 10;
	assert_int_equal(segment_dir_prune(&sd, now, paths[3], &st), 1);
	assert_int_equal(access(paths[3], F_OK), 0);
	assert_int_equal(st.files, 1);
	for (int i = 0; i < 4; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	unlink(other);
	segment_dir_release(&sd);
}

static void test_not_a_dir(void **state)
{
	(void)state;
	char file[600];
	snprintf(file, sizeof(file), "%s/file", dir);
	mkdir(dir, 0755);
	write_file(file, 1, 0);
	struct segment_dir sd;
	assert_int_equal(segment_dir_init(&sd, file, 0, 0), -ENOTDIR);
	char under[700];
	snprintf(under, sizeof(under), "%s/sub", file);
	assert_int_equal(segment_dir_init(&sd, under, 0, 0), -ENOTDIR);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_prune, setup),
	    cmocka_unit_test_setup(test_not_a_dir, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
