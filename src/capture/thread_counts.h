/* thread_counts.h - which threads lost samples.
 *
 * A full ring drops samples without saying whose they were (its
 * PERF_RECORD_LOST names only the ring). But every inherited counter writes
 * what it counted for its thread when that thread exits (a
 * PERF_RECORD_READ, with attr.inherit_stat), and the samples kept for the
 * thread carry their periods: counted minus sampled, in periods, is about
 * how many of that thread's samples were lost. The exact number the
 * rings reported is spread over the threads by those estimates.
 */
#ifndef KILN_CAPTURE_THREAD_COUNTS_H
#define KILN_CAPTURE_THREAD_COUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hashmap.h"
#include "util/vec.h"

struct thread_count {
	uint32_t tid;
	uint64_t counted; /* events counted for this thread (all cpus) */
	uint64_t sampled; /* the periods of the samples kept for it */
	uint64_t samples;
	unsigned reads; /* counter values received */
	bool exited;
	bool opened; /* kiln opened its counters: no exit report is awaited */
};

struct thread_counts {
	struct hashmap idx; /* tid -> index in v */
	VEC(struct thread_count) v;
};

/* A thread's estimated lost samples. */
struct thread_lost {
	uint32_t tid;
	uint64_t lost;
};

void thread_counts_init(struct thread_counts *tc);
void thread_counts_release(struct thread_counts *tc);
/* The entry of tid, created empty when new; valid until the next call. */
struct thread_count *thread_counts_get(struct thread_counts *tc, uint32_t tid);
/* A kept sample of tid with its period. */
void thread_counts_sample(struct thread_counts *tc, uint32_t tid, uint64_t period);
/* A counter value of tid (one per cpu counter it had). */
void thread_counts_read(struct thread_counts *tc, uint32_t tid, uint64_t value);
/* Sum of every value thread_counts_read() received. */
uint64_t thread_counts_read_total(const struct thread_counts *tc);
/* Threads, other than opened ones, whose exit reports came in part or not
 * at all: exited (or reported) with fewer than per_thread values, one per
 * cpu counter, each through its own cpu's ring (a full ring drops them with
 * the samples). Their counts, so their losses, are too low. An opened
 * thread may report too: the kernel swaps two threads' counters when one
 * switches to the other (the counts stay with their threads), so the
 * original counters can end in a child and a copy in the opened thread. */
size_t thread_counts_unreported(const struct thread_counts *tc, unsigned per_thread);
/* Drops the entries of threads that exited and of those gone(ctx, tid)
 * says are gone (their exit record lost, or a record of theirs read after
 * it): a long-running recorder must not keep every thread it ever saw.
 * Their counts no longer take part in thread_counts_lost(). Returns how
 * many went. */
size_t thread_counts_forget(struct thread_counts *tc, bool (*gone)(void *ctx, uint32_t tid), void *ctx);
/* Whether tid has an entry. */
bool thread_counts_has(const struct thread_counts *tc, uint32_t tid);
/* The bytes tc holds on the heap. */
size_t thread_counts_bytes(const struct thread_counts *tc);

/* Estimates each thread's lost samples: total_lost (exact, from the
 * rings) spread over the threads in proportion to how many periods each
 * is short by beyond the one after its last sample, none beyond what it
 * is short by. Fills out (caller's, room for the number of threads) with
 * those given one or more, most first. A thread whose counters never
 * reported is left out. A thread with no kept sample is measured in the
 * mean period of all kept samples, or in dflt_period (0: unknown) when
 * none was kept. Returns how many were filled. */
size_t thread_counts_lost(const struct thread_counts *tc, uint64_t total_lost, uint64_t dflt_period,
                          struct thread_lost *out);

#endif
