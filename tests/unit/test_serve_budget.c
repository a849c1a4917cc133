/* test_serve_budget.c - kiln serve's memory budget (cmd/serve_budget.c):
 * a recorder fed synthetic records from ever new processes, threads and
 * code addresses, over many segments, as kiln serve's loop drives it
 * (measure and apply the budget, poll, move the samples into the window,
 * compact at each segment and hand the old profile to the closer thread).
 * The bytes counted stay under --max-memory, the samples refused are all
 * counted, and the recorder holds only about one segment's threads. */
#include <inttypes.h>
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

#include "cmd/serve.h"
#include "profile/kiln_file.h"
#include "symbols/symbols.h"

/* Ids no process or thread has (above the kernel's pid_max): each is gone
 * when serve looks for it in /proc. */
#define FAKE_PID   5000000u
#define FAKE_TID   6000000u
#define FAKE_START 0x400000ull
#define FAKE_LEN   0x4000000ull

#define SEGMENTS     24
#define THREADS      400 /* started and exited per segment */
#define PER_THREAD   25  /* samples each */
#define POLL_SAMPLES 100 /* samples per poll */
#define BUDGET       (3u << 20)

static void feed_mmap2(struct recorder *r, uint32_t pid, uint64_t start, uint64_t len, const char *path)
{
	uint64_t buf[64] = {0};
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint8_t *b = (uint8_t *)(h + 1);
	uint32_t ids[2] = {pid, pid};
	uint64_t v[3] = {start, len, 0};
	memcpy(b, ids, 8);
	memcpy(b + 8, v, 24);
	size_t off = 8 + 24 + 32 + 8, plen = strlen(path) + 1;
	memcpy(b + off, path, plen);
	off += (plen + 7) & ~(size_t)7;
	uint32_t trailer[6] = {pid, pid, 0, 0, 0, 0};
	memcpy(b + off, trailer, sizeof(trailer));
	off += sizeof(trailer);
	h->type = PERF_RECORD_MMAP2;
	h->size = (uint16_t)(sizeof(*h) + off);
	recorder_feed(r, h);
}

static void feed_task(struct recorder *r, uint32_t type, uint32_t pid, uint32_t tid, uint64_t time)
{
	uint64_t buf[8] = {0};
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint32_t ids[4] = {pid, pid, tid, pid};
	memcpy(h + 1, ids, sizeof(ids));
	memcpy((uint8_t *)(h + 1) + sizeof(ids), &time, sizeof(time));
	h->type = (uint16_t)type;
	h->size = (uint16_t)(sizeof(*h) + sizeof(ids) + sizeof(time) + 24);
	recorder_feed(r, h);
}

static void feed_sample(struct recorder *r, uint32_t pid, uint32_t tid, uint64_t time, const uint64_t *pcs, uint32_t n)
{
	uint64_t buf[8 + 1 + 16];
	struct perf_event_header *h = (struct perf_event_header *)buf;
	uint64_t *w = (uint64_t *)(h + 1);
	size_t i = 0;
	w[i++] = pcs[0];
	w[i++] = pid | (uint64_t)tid << 32;
	w[i++] = time;
	w[i++] = 0;
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

/* serve.c's intake: the window takes the new samples or refuses them. */
static void intake(struct serve *s, struct serve_proc *sp)
{
	for (size_t i = 0; i < s->p->samples.n; i++) {
		if (sample_window_add(&s->win, &s->p->samples.v[i]))
			sp->samples++;
		else
			sp->dropped_memory++;
	}
	profile_clear_samples(s->p); /* serve streams them to the segment */
}

struct churn {
	uint64_t fed, kept, refused, window_dropped, most, most_threads, threads_left, forgotten, unfinished;
	size_t closing_most;
};

/* Feeds SEGMENTS segments of THREADS new threads of a new process at new
 * code addresses. stall: the closer thread waits on a FIFO at its first
 * close until the end (a disk stalled in fsync); else each segment's close
 * is finished before the next segment (as a minute apart). */
static void run_churn(bool stall, struct churn *c)
{
	char dir[256], gate[300];
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/test_serve_budget.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	snprintf(gate, sizeof(gate), "%s.gate", dir);
	memset(c, 0, sizeof(*c));
	struct serve s = {0};
	s.a.max_memory = BUDGET;
	s.a.max_stacks = 1000000;
	s.p = profile_new();
	profile_add_value_type(s.p, "samples", "count");
	profile_add_value_type(s.p, "cpu", "nanoseconds");
	assert_int_equal(serve_symbols_start(&s.symbols), 0);
	/* the window reaches back two segments of 1 s */
	sample_window_init(&s.win, BUDGET / sizeof(struct profile_sample), 2000000000ull);
	if (stall) {
		unlink(gate);
		assert_int_equal(mkfifo(gate, 0600), 0);
		setenv("KILN_TEST_SERVE_CLOSE_GATE", gate, 1);
	}
	assert_int_equal(serve_closer_start(&s.closer, &s.symbols), 0);
	unsetenv("KILN_TEST_SERVE_CLOSE_GATE");
	struct recorder_options o = {0};
	assert_int_equal(event_parse("cpu-clock", &o.event), 0);
	o.freq = 99;
	o.call_graph = CALL_GRAPH_FP;
	struct serve_proc *sp = vec_grow(&s.procs);
	sp->pid = FAKE_PID;
	sp->r = recorder_new(s.p, &o);

	uint64_t addr = 0;
	for (uint32_t seg = 0; seg < SEGMENTS; seg++) {
		uint64_t t0 = 1000000000ull * (seg + 1);
		uint32_t pid = FAKE_PID + seg; /* a new process each segment */
		char path[64];
		snprintf(path, sizeof(path), "/nonexistent/app-%u", seg); /* and a new binary */
		feed_mmap2(sp->r, pid, FAKE_START, FAKE_LEN, path);
		uint32_t polled = 0;
		for (uint32_t th = 0; th < THREADS; th++) {
			uint32_t tid = FAKE_TID + seg * THREADS + th;
			uint64_t t = t0 + (uint64_t)th * 2000000;
			feed_task(sp->r, PERF_RECORD_FORK, pid, tid, t);
			for (uint32_t k = 0; k < PER_THREAD; k++) {
				if (polled++ % POLL_SAMPLES == 0) { /* serve.c's poll_procs() */
					intake(&s, sp);
					sample_window_expire(&s.win, t);
					serve_budget_apply(&s);
					if (s.mem.total > c->most)
						c->most = s.mem.total;
					if (s.mem.closing > c->closing_most)
						c->closing_most = s.mem.closing;
				}
				/* every sample at new code addresses: ever new locations and stacks */
				uint64_t pcs[3] = {FAKE_START + 0x1000, FAKE_START + 0x10000 + (addr % 0x100000) * 16,
				                   FAKE_START + 0x2000000 + (addr % 0x100000) * 8};
				addr++;
				feed_sample(sp->r, pid, tid, t + k * 1000, pcs, 3);
				c->fed++;
			}
			feed_task(sp->r, PERF_RECORD_EXIT, pid, tid, t + 1999999);
		}
		intake(&s, sp);
		if (recorder_threads(sp->r) > c->most_threads)
			c->most_threads = recorder_threads(sp->r);
		/* the segment's end, as serve.c's segment_close() */
		struct profile *old = serve_budget_compact(&s);
		profile_clear_samples(s.p);
		char seg_path[300];
		snprintf(seg_path, sizeof(seg_path), "%s.%u.kiln", dir, seg);
		struct kiln_writer *w;
		assert_int_equal(kiln_writer_open(&w, seg_path), 0);
		if (serve_budget_close_whole(&s, old)) {
			serve_closer_submit(&s.closer, old, w, seg_path);
		} else {
			profile_free(old);
			kiln_writer_free(w);
		}
		if (!stall) { /* the close is done before the next segment */
			serve_closer_release(&s.closer);
			memset(&s.closer, 0, sizeof(s.closer));
			assert_int_equal(serve_closer_start(&s.closer, &s.symbols), 0);
		}
	}
	if (stall) { /* the first close reads a line from the gate */
		FILE *f = fopen(gate, "w");
		assert_non_null(f);
		fputs("go\n", f);
		fclose(f);
		unlink(gate);
	}
	serve_closer_stop(&s.closer);
	struct recorder_stats st;
	recorder_get_stats(sp->r, &st);
	c->kept = sp->samples;
	c->refused = st.refused;
	c->window_dropped = sp->dropped_memory;
	c->threads_left = recorder_threads(sp->r);
	c->forgotten = s.threads_forgotten;
	c->unfinished = s.segments_unfinished;
	print_message("%s: fed %" PRIu64 " samples: %" PRIu64 " kept, %" PRIu64 " refused by the recorder, %" PRIu64
	              " by the window; at most %" PRIu64 " bytes counted (budget %u), %zu of them closing; %" PRIu64
	              " segments unfinished; at most %" PRIu64 " threads held, %" PRIu64 " forgotten\n",
	              stall ? "closer stalled" : "closer keeps up", c->fed, c->kept, c->refused, c->window_dropped,
	              c->most, BUDGET, c->closing_most, c->unfinished, c->most_threads, c->forgotten);
	/* the profile's tables start over with what the window names */
	assert_true(s.p->threads.n <= 2 * THREADS);
	assert_true(s.p->mappings.n <= 3);
	serve_budget_measure(&s, &s.mem);
	assert_int_equal(s.mem.closing, 0);
	for (uint32_t seg = 0; seg < SEGMENTS; seg++) {
		char seg_path[300];
		snprintf(seg_path, sizeof(seg_path), "%s.%u.kiln", dir, seg);
		unlink(seg_path);
	}
	serve_closer_release(&s.closer);
	recorder_free(sp->r);
	vec_free(&s.procs);
	sample_window_release(&s.win);
	serve_symbols_release(&s.symbols); /* after the closer, which uses it */
	profile_free(s.p);
}

static void check_common(const struct churn *c)
{
	/* every sample fed is kept or counted as dropped */
	assert_int_equal(c->kept + c->refused + c->window_dropped, c->fed);
	assert_true(c->refused + c->window_dropped > 0);
	assert_true(c->kept > 0);
	/* the recorder holds one segment's threads, not every thread seen */
	assert_true(c->most_threads <= THREADS + 1);
	assert_true(c->threads_left <= THREADS + 1);
	assert_true(c->forgotten >= (SEGMENTS - 1) * THREADS);
}

static void test_budget_bounds_churn(void **state)
{
	(void)state;
	struct churn c;
	run_churn(false, &c);
	check_common(&c);
	/* a poll may pass the budget by what one poll grows a table */
	assert_true(c.most <= BUDGET + BUDGET / 8);
	assert_int_equal(c.unfinished, 0);
}

/* A closer stuck in fsync: the closed segments' profiles do not pile up
 * past the budget; the segments stay as written, counted. */
static void test_budget_stalled_closer(void **state)
{
	(void)state;
	struct churn c;
	run_churn(true, &c);
	check_common(&c);
	/* while the closer is busy a profile is queued only when serve with it
	 * stays under the budget (symbols the closer adds come on top, how
	 * much by the time of the next segment depends on the machine) */
	assert_true(c.unfinished >= SEGMENTS - 6);
	assert_true(c.closing_most <= 2 * BUDGET);
	assert_true(c.most <= 2 * BUDGET + BUDGET / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_bounds_churn),
	    cmocka_unit_test(test_budget_stalled_closer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
