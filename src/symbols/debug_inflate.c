/* debug_inflate.c - inflates the zlib streams of a debug file's compressed
 * sections (SHF_COMPRESSED) whole, with libdeflate: 2-3x less CPU than
 * zlib's streaming inflate for buffers whose inflated size is known (each
 * section's Elf_Chdr gives it). When the sections are big enough for a
 * second thread to pay, the largest goes to one thread and the rest to
 * the caller's, as a first read of libc6-dbg waits on this.
 */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>

/* Below this many inflated bytes in all, a second thread is not worth it.
 * Measured (bench/README.md, "Reading perf.data"): starting and joining it
 * costs about 0.06 ms, libdeflate inflates about 650 MB/s, and the second
 * thread halves the wall of libm's 2.4 MB and cuts libc's 10 MB by a
 * third when the other core is free; so it pays from about 100 KB, and
 * 512 KiB keeps a margin for a busy machine, where it gains nothing. */
#define INFLATE_THREAD_MIN_BYTES (512u << 10)

/* One thread's share: the job big alone, or every job but big. */
struct inflate_share {
	struct inflate_job *jobs;
	size_t n, big;
	bool only_big;
};

static void inflate_one(struct libdeflate_decompressor *d, struct inflate_job *j)
{
	j->out = NULL;
	if (j->out_len == 0 || j->out_len / INFLATE_MAX_RATIO > j->in_len) {
		j->rc = -EBADMSG;
		return;
	}
	j->out = malloc(j->out_len);
	if (!j->out) {
		j->rc = -ENOMEM;
		return;
	}
	/* no actual_out: anything but exactly out_len bytes is refused */
	enum libdeflate_result r = libdeflate_zlib_decompress(d, j->in, j->in_len, j->out, j->out_len, NULL);
	j->rc = r == LIBDEFLATE_SUCCESS ? 0 : -EBADMSG;
	if (j->rc < 0) {
		free(j->out);
		j->out = NULL;
	}
}

static void *inflate_share_run(void *arg)
{
	struct inflate_share *sh = arg;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	for (size_t i = 0; i < sh->n; i++) {
		if ((i == sh->big) != sh->only_big)
			continue;
		if (d)
			inflate_one(d, &sh->jobs[i]);
		else
			sh->jobs[i].rc = -ENOMEM;
	}
	libdeflate_free_decompressor(d);
	return NULL;
}

int debug_inflate(struct inflate_job *jobs, size_t n, int max_threads)
{
	size_t total = 0, big = 0;
	for (size_t i = 0; i < n; i++) {
		jobs[i].out = NULL;
		jobs[i].rc = 0;
		total += jobs[i].out_len;
		if (jobs[i].out_len > jobs[big].out_len)
			big = i;
	}
	if (n == 0)
		return 0;
	struct inflate_share one = {jobs, n, big, true}, rest = {jobs, n, big, false};
	pthread_t th;
	bool threaded = max_threads > 1 && n > 1 && total >= INFLATE_THREAD_MIN_BYTES &&
	                pthread_create(&th, NULL, inflate_share_run, &one) == 0;
	if (!threaded)
		inflate_share_run(&one);
	inflate_share_run(&rest);
	if (threaded)
		pthread_join(th, NULL);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].rc < 0)
			return jobs[i].rc;
	return 0;
}

void debug_inflate_release(struct inflate_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(jobs[i].out);
		jobs[i].out = NULL;
	}
}
