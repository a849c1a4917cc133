/* test_debug_inflate.c - inflating compressed sections' zlib streams:
 * whole buffers come back equal on one thread and on two (sections big
 * enough for the second thread), and a stream of another size than its
 * header claims, a garbled stream or a claimed size no deflate stream can
 * reach is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <zlib.h>

#include "symbols/symbols_int.h"

enum { NJOBS = 4 };
static const size_t sizes[NJOBS] = {3u << 20, 1u << 20, 4096, 1};
static unsigned char *plain[NJOBS], *packed[NJOBS];
static size_t packed_len[NJOBS];

/* Text-like bytes that compress a little, like DWARF. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)("abcdefgh_0123\n"[(x >> 16) % 14]);
	}
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NJOBS; i++) {
		plain[i] = malloc(sizes[i]);
		uLongf len = compressBound(sizes[i]);
		packed[i] = malloc(len);
		fill(plain[i], sizes[i], (uint32_t)i);
		if (compress2(packed[i], &len, plain[i], sizes[i], 6) != Z_OK)
			return -1;
		packed_len[i] = len;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NJOBS; i++) {
		free(plain[i]);
		free(packed[i]);
	}
	return 0;
}

static void jobs_of(struct inflate_job *jobs)
{
	for (int i = 0; i < NJOBS; i++)
		jobs[i] = (struct inflate_job){.in = packed[i], .in_len = packed_len[i], .out_len = sizes[i]};
}

static void test_inflates_whole(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 2; threads++) {
		struct inflate_job jobs[NJOBS];
		jobs_of(jobs);
		assert_int_equal(debug_inflate(jobs, NJOBS, threads), 0);
		for (int i = 0; i < NJOBS; i++) {
			assert_int_equal(jobs[i].rc, 0);
			assert_memory_equal(jobs[i].out, plain[i], sizes[i]);
		}
		debug_inflate_release(jobs, NJOBS);
		assert_null(jobs[0].out);
	}
	assert_int_equal(debug_inflate(NULL, 0, 2), 0);
}

static void test_refuses_bad(void **state)
{
	(void)state;
	struct inflate_job jobs[NJOBS];
	/* one byte more or less than the stream holds, in the big job and a small one */
	for (int delta = -1; delta <= 1; delta += 2)
		for (int bad = 0; bad < 3; bad += 2) {
			jobs_of(jobs);
			jobs[bad].out_len = (size_t)((long)jobs[bad].out_len + delta);
			assert_int_equal(debug_inflate(jobs, NJOBS, 2), -EBADMSG);
			assert_int_equal(jobs[bad].rc, -EBADMSG);
			assert_null(jobs[bad].out);
			assert_int_equal(jobs[1].rc, 0);
			debug_inflate_release(jobs, NJOBS);
		}
	/* a garbled stream */
	unsigned char junk[64];
	memset(junk, 0xa5, sizeof(junk));
	jobs_of(jobs);
	jobs[1].in = junk;
	jobs[1].in_len = sizeof(junk);
	assert_int_equal(debug_inflate(jobs, NJOBS, 2), -EBADMSG);
	assert_int_equal(jobs[0].rc, 0);
	debug_inflate_release(jobs, NJOBS);
	/* more than deflate can give from so few bytes: refused before any malloc */
	struct inflate_job huge = {.in = packed[3], .in_len = packed_len[3], .out_len = (size_t)1 << 60};
	assert_int_equal(debug_inflate(&huge, 1, 1), -EBADMSG);
	assert_null(huge.out);
	struct inflate_job empty = {.in = packed[3], .in_len = packed_len[3], .out_len = 0};
	assert_int_equal(debug_inflate(&empty, 1, 1), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inflates_whole),
	    cmocka_unit_test(test_refuses_bad),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
