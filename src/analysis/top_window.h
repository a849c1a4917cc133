/* top_window.h - what `kiln top` keeps of a live profile and shows of it.
 *
 * kiln top records into one profile for as long as it runs. Its samples
 * are a rolling window: top_window_trim() drops those older than the
 * window, so the hot-function table (hotspots_build() over the profile)
 * is always the last few seconds; stacks, locations and strings stay and
 * grow only with distinct stacks. top_calltree_build() is the view of one
 * selected function: who called it and what it called, merged over every
 * path it appears on.
 */
#ifndef KILN_ANALYSIS_TOP_WINDOW_H
#define KILN_ANALYSIS_TOP_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "util/vec.h"

/* Drops the samples of p taken before cutoff (CLOCK_MONOTONIC ns), keeping
 * the order of the rest. Returns how many were dropped. */
size_t top_window_trim(struct profile *p, uint64_t cutoff);

/* One line of a function's call tree: a callee at depth (the function
 * itself is depth 0) with the value of the samples through it. */
struct top_call_line {
	uint32_t name, module; /* string ids of the profile */
	uint32_t depth;
	int64_t self, total;
};

/* A caller of the function, with the value that reached it from there. */
struct top_caller {
	uint32_t name, module; /* 0, 0: the function is a root (a thread's start) */
	int64_t total;
};

struct top_calltree {
	int64_t total;                   /* the function's total */
	VEC(struct top_call_line) lines; /* depth-first, the largest callee first */
	VEC(struct top_caller) callers;  /* largest first */
};

/* At most this many lines and this depth below the function: a screen. */
#define TOP_CALLTREE_MAX_LINES 4096u
#define TOP_CALLTREE_MAX_DEPTH 64u

/* Builds the call tree of the function (name, module) from h's call tree:
 * the subtrees under each of its outermost occurrences merged by function,
 * and its direct callers there. t is overwritten (release it with
 * top_calltree_release()); no lines when h has no such function. */
void top_calltree_build(struct top_calltree *t, const struct hotspots *h, uint32_t name, uint32_t module);
void top_calltree_release(struct top_calltree *t);

/* A thread of the profile and its samples in the window; state and wchan
 * are the caller's to fill (capture/proc_thread.h), 0 and "" until then. */
struct top_thread {
	uint32_t tid, pid;
	uint32_t name; /* string id: the last name seen, 0 when none */
	uint64_t samples;
	char state;
	char wchan[64];
};

/* Every thread of p with its samples in h (built over the window), most
 * samples first, then by tid; t->v is the caller's (vec_free). */
typedef VEC(struct top_thread) top_thread_vec;
void top_threads_build(top_thread_vec *t, const struct hotspots *h, const struct profile *p);

#endif
