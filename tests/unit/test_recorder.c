/* test_recorder.c - the recorder's sample path, fed synthetic perf records:
 * recorder -> profile -> .kiln writer, as `kiln record` drives it. A long
 * stream over a few thousand distinct stacks must run in flat memory and
 * still read back whole; threads that come and go must not stay. */
#include <inttypes.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/recorder.h"
#include "profile/kiln_file.h"
#include "profile/profile.h"

#define FAKE_PID   4242u
#define FAKE_START 0x400000ull
#define FAKE_LEN   0x400000ull

static void tmp_path(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("KILN_TEST_TMP");
	snprintf(buf, n, "%s/test_recorder.%d.%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

static struct recorder *new_recorder(struct profile *p, enum call_graph_mode mode)
{
	struct recorder_options o = {0};
	assert_int_equal(event_parse("cpu-clock", &o.event), 0);
	o.freq = 997;
	o.call_graph = mode;
	o.stack_size = RECORDER_MAX_STACK_SIZE;
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	return recorder_new(p, &o);
}

/* An MMAP2 record of an executable file in pid, as the kernel writes it. */
static void feed_mmap2(struct recorder *r, uint32_t pid, uint64_t start, uint64_t len, const char *path)
{
	uint64_t buf[64] = {0};
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint8_t *b = (uint8_t *)(h + 1);
	uint32_t ids[2] = {pid, pid};
	uint64_t v[3] = {start, len, 0};
	memcpy(b, ids, 8);
	memcpy(b + 8, v, 24);
	/* maj, min, ino, ino_generation, prot, flags: 32 bytes of zeros */
	size_t off = 8 + 24 + 32 + 8, plen = strlen(path) + 1;
	memcpy(b + off, path, plen);
	off += (plen + 7) & ~(size_t)7;
	uint32_t trailer[6] = {pid, pid, 0, 0, 0, 0}; /* pid, tid, time 0, cpu, res */
	memcpy(b + off, trailer, sizeof(trailer));
	off += sizeof(trailer);
	h->type = PERF_RECORD_MMAP2;
	h->size = (uint16_t)(sizeof(*h) + off);
	recorder_feed(r, h);
}

/* A frame-pointer-mode sample: ip, pid/tid, time, cpu, period, then the
 * callchain with the user context marker and pcs leaf first. */
static void feed_fp_sample(struct recorder *r, uint32_t pid, uint32_t tid, uint64_t time, const uint64_t *pcs,
                           uint32_t n)
{
	uint64_t buf[8 + 1 + 64];
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint64_t *w = (uint64_t *)(h + 1);
	size_t i = 0;
	w[i++] = pcs[0];
	w[i++] = pid | (uint64_t)tid << 32;
	w[i++] = time;
	w[i++] = 0; /* cpu, res */
	w[i++] = 1000000;
	w[i++] = n + 1;
	w[i++] = PERF_CONTEXT_USER;
	for (uint32_t k = 0; k < n; k++)
		w[i++] = pcs[k];
	h->type = PERF_RECORD_SAMPLE;
	h->misc = PERF_RECORD_MISC_USER;
	h->size = (uint16_t)(sizeof(*h) + i * 8);
	recorder_feed(r, h);
}

/* The synthetic program: stack s of NSTACKS is a chain of 4-19 frames in
 * the fake mapping; leaves vary more than callers, as in real profiles. */
#define NSTACKS 3000u

static uint32_t stack_of(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;
	return (uint32_t)((x >> 32) % NSTACKS);
}

static uint32_t stack_pcs(uint32_t s, uint64_t *pcs)
{
	uint32_t depth = 4 + s % 16;
	for (uint32_t d = 0; d < depth; d++) {
		/* outermost frames shared, inner ones specific to s */
		uint32_t key = d + 2 < depth ? (s / (d + 2)) % 97 : s;
		pcs[d] = FAKE_START + 0x1000 + (uint64_t)key * 0x40 + (depth - d) * 0x10000;
	}
	return depth;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd; /* 0 under ASan, whose allocator glibc does not see */
}

/* Feeds samples [from, to), streaming to the file every 4096 as record does
 * every 250 ms. */
static void feed_range(struct recorder *r, struct kiln_writer *w, struct profile *p, uint64_t from, uint64_t to)
{
	uint64_t pcs[32];
	for (uint64_t i = from; i < to; i++) {
		uint32_t n = stack_pcs(stack_of(i), pcs);
		feed_fp_sample(r, FAKE_PID, FAKE_PID + (uint32_t)(i % 4), 1000000000ull + i * 100000, pcs, n);
		if ((i + 1) % 4096 == 0)
			assert_int_equal(kiln_writer_stream(w, p), 0);
	}
}

static void test_long_stream_flat_memory(void **state)
{
	(void)state;
	const uint64_t N = 500000; /* then 4N: two million samples in all */
	char path[512];
	tmp_path(path, sizeof(path), "stream.kiln");
	struct profile *p = profile_new();
	struct recorder *r = new_recorder(p, CALL_GRAPH_FP);
	struct kiln_writer *w;
	assert_int_equal(kiln_writer_open(&w, path), 0);
	feed_mmap2(r, FAKE_PID, FAKE_START, FAKE_LEN, "/nonexistent/stream-app");

	feed_range(r, w, p, 0, N);
	size_t prof1 = profile_bytes(p), heap1 = heap_in_use();
	size_t stacks1 = p->stacks.n;
	feed_range(r, w, p, N, 4 * N);
	size_t prof4 = profile_bytes(p), heap4 = heap_in_use();
	print_message("profile tables: %zu bytes after %" PRIu64 " samples, %zu after %" PRIu64
	              "; heap in use %zu -> %zu\n",
	              prof1, N, prof4, 4 * N, heap1, heap4);
	/* every distinct stack was seen in the first N */
	assert_int_equal(p->stacks.n, stacks1);
	/* 3N more samples are 3N x 56 bytes (84 MB) if kept; allow 256 KiB */
	assert_true(prof4 <= prof1 + 256 * 1024);
	if (heap1 && heap4)
		assert_true(heap4 <= heap1 + 1024 * 1024);

	struct recorder_stats st;
	recorder_get_stats(r, &st);
	assert_int_equal(st.samples, 4 * N);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	kiln_writer_free(w);
	recorder_free(r);
	profile_free(p);

	/* every sample is in the file, in time order, on the right stacks */
	struct profile *q = NULL;
	struct kiln_read_info info;
	assert_int_equal(kiln_read(path, &q, &info), 0);
	assert_true(info.complete);
	assert_int_equal(q->samples.n, 4 * N);
	uint64_t pcs[32];
	for (uint64_t i = 0; i < q->samples.n; i += 997) {
		const struct profile_sample *s = &q->samples.v[i];
		assert_int_equal(s->time, 1000000000ull + i * 100000);
		uint32_t n = stack_pcs(stack_of(i), pcs);
		uint32_t node = s->stack;
		for (uint32_t d = 0; d < n; d++) { /* leaf first, as pcs */
			uint64_t want = d ? pcs[d] - 1 : pcs[d];
			assert_int_equal(q->locations.v[q->stacks.v[node].location].address, want);
			node = q->stacks.v[node].parent;
		}
		assert_int_equal(node, 0);
	}
	profile_free(q);
	unlink(path);
}

/* A replayed sample of a process with no MMAP record must not take the
 * maps of whatever live process has that pid now (here: this one). */
static void sample_of_self(bool replay, uint32_t *mapping)
{
	struct profile *p = profile_new();
	struct recorder_options o = {0};
	assert_int_equal(event_parse("cpu-clock", &o.event), 0);
	o.call_graph = CALL_GRAPH_FP;
	o.replay = replay;
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	struct recorder *r = recorder_new(p, &o);
	uint64_t pc = (uint64_t)(uintptr_t)&sample_of_self;
	uint32_t pid = (uint32_t)getpid();
	feed_fp_sample(r, pid, pid, 1, &pc, 1);
	assert_int_equal(p->samples.n, 1);
	const struct profile_location *l = &p->locations.v[p->locations.n - 1];
	assert_int_equal(l->address, pc);
	*mapping = l->mapping;
	recorder_free(r);
	profile_free(p);
}

static void test_replay_reads_no_proc(void **state)
{
	(void)state;
	uint32_t live, replayed;
	sample_of_self(false, &live);
	sample_of_self(true, &replayed);
	assert_int_not_equal(live, PROFILE_NO_MAPPING);
	assert_int_equal(replayed, PROFILE_NO_MAPPING);
}

/* A FORK or EXIT record of thread tid in pid, as the kernel writes it. */
static void feed_task(struct recorder *r, uint32_t type, uint32_t pid, uint32_t tid, uint64_t time)
{
	uint64_t buf[8] = {0};
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint32_t ids[4] = {pid, pid, tid, pid}; /* pid, ppid, tid, ptid */
	memcpy(h + 1, ids, sizeof(ids));
	memcpy((uint8_t *)(h + 1) + sizeof(ids), &time, sizeof(time));
	h->type = (uint16_t)type;
	h->size = (uint16_t)(sizeof(*h) + sizeof(ids) + sizeof(time) + 24);
	recorder_feed(r, h);
}

static bool tid_gone(void *ctx, uint32_t tid)
{
	return tid >= *(const uint32_t *)ctx;
}

/* kiln serve --all over days of thread churn: 10k threads start, take a
 * sample and exit; the recorder forgets them at each segment (every 1000
 * here) and keeps at most what one segment saw. Threads whose exit record
 * was lost go once the caller says they are gone. */
static void test_thread_churn_bounded(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct recorder *r = new_recorder(p, CALL_GRAPH_FP);
	feed_mmap2(r, FAKE_PID, FAKE_START, FAKE_LEN, "/nonexistent/churn-app");
	uint64_t pc = FAKE_START + 0x1000;
	size_t most = 0, bytes_first = 0, bytes_most = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t tid = 100000 + i;
		uint64_t t = 1000000000ull + i * 1000000ull;
		feed_task(r, PERF_RECORD_FORK, FAKE_PID, tid, t);
		feed_fp_sample(r, FAKE_PID, tid, t + 1, &pc, 1);
		feed_task(r, PERF_RECORD_EXIT, FAKE_PID, tid, t + 2);
		if (recorder_threads(r) > most)
			most = recorder_threads(r);
		if ((i + 1) % 1000 == 0) {
			recorder_forget_threads(r, NULL, NULL);
			size_t b = recorder_bytes(r);
			if (!bytes_first)
				bytes_first = b;
			if (b > bytes_most)
				bytes_most = b;
		}
	}
	print_message("thread churn: at most %zu threads held, %zu left; recorder %zu -> at most %zu bytes\n", most,
	              recorder_threads(r), bytes_first, bytes_most);
	assert_true(most <= 1001);
	assert_int_equal(recorder_threads(r), 0);
	assert_true(bytes_most <= bytes_first + 64 * 1024);

	/* 2000 threads whose exit records never came: kept while they run */
	for (uint32_t i = 0; i < 2000; i++)
		feed_fp_sample(r, FAKE_PID, 200000 + i, 3000000000ull + i, &pc, 1);
	uint32_t first_gone = 201000;
	assert_int_equal(recorder_forget_threads(r, tid_gone, &first_gone), 1000);
	assert_int_equal(recorder_threads(r), 1000);
	assert_int_equal(p->samples.n, 12000); /* forgetting loses no sample */
	recorder_free(r);
	profile_free(p);
}

/* Back-pressure: while refusing, samples are counted and not unwound. */
static void test_refusing_counts(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct recorder *r = new_recorder(p, CALL_GRAPH_FP);
	feed_mmap2(r, FAKE_PID, FAKE_START, FAKE_LEN, "/nonexistent/refuse-app");
	uint64_t pcs[2] = {FAKE_START + 0x1000, FAKE_START + 0x2000};
	feed_fp_sample(r, FAKE_PID, FAKE_PID, 1, pcs, 2);
	recorder_set_refusing(r, true);
	size_t locs = p->locations.n;
	for (uint32_t i = 0; i < 100; i++) {
		uint64_t other[2] = {FAKE_START + 0x3000 + i * 16, FAKE_START + 0x2000};
		feed_fp_sample(r, FAKE_PID, FAKE_PID, 2 + i, other, 2);
	}
	struct recorder_stats st;
	recorder_get_stats(r, &st);
	assert_int_equal(st.refused, 100);
	assert_int_equal(p->samples.n, 1);
	assert_int_equal(p->locations.n, locs);
	recorder_set_refusing(r, false);
	feed_fp_sample(r, FAKE_PID, FAKE_PID, 200, pcs, 2);
	assert_int_equal(p->samples.n, 2);
	recorder_free(r);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_stream_flat_memory),
	    cmocka_unit_test(test_replay_reads_no_proc),
	    cmocka_unit_test(test_thread_churn_bounded),
	    cmocka_unit_test(test_refusing_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
