/* stack_events.h - what the timeline exporters (speedscope, Chrome trace)
 * share: frames deduplicated by function and file, each thread's samples
 * in time order, and a walk of a thread's samples as frames opening and
 * closing over time (consecutive samples with the same frame at a depth
 * keep it open).
 *
 * A sample stands for the time until the thread's next sample, or for one
 * sampling interval when the next comes later than one and a quarter
 * intervals (the thread was preempted or blocked): its frames close then. A sample of an off-CPU
 * or --wall profile's blocked interval (its "offcpu" and "runnable"
 * values) lasts that long instead, and the next sample after its end
 * starts anew.
 */
#ifndef KILN_RENDER_STACK_EVENTS_H
#define KILN_RENDER_STACK_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/hashmap.h"
#include "util/vec.h"

/* One exported frame: a function in a file (lines of one function are one
 * frame, as kiln flame counts them). */
struct stack_frame {
	uint32_t function, file; /* string ids of the profile */
	uint32_t line;           /* the lowest line seen, near the function's start; 0 when unknown */
	uint32_t module;         /* string id */
};

/* A thread's samples: order[first .. first + n) in time order. */
struct stack_thread {
	uint32_t tid, pid;
	size_t first, n;
	size_t timed; /* of them, samples with a time (they come last) */
};

struct stack_events {
	const struct profile *p;
	VEC(struct stack_frame) frames;
	struct hashmap frame_ids;         /* function << 32 | file -> frame id */
	VEC(uint32_t) order;              /* sample ids, by thread, untimed first, then by time */
	VEC(struct stack_thread) threads; /* by pid, then tid */
	uint64_t start;                   /* the first sample time (ns); 0 when no sample has one */
	uint64_t interval;                /* ns a sample of a moment stands for at most */
	int offcpu, runnable;             /* value indexes of blocked time, -1 when none */
	/* scratch for stack_events_stack() and stack_events_walk() */
	VEC(uint32_t) locs, ids, prev;
};

/* Indexes p (which must outlive se) for the exporters. p's locations should
 * have frames (profile_name_unsymbolized()). Release with
 * stack_events_release(). */
void stack_events_init(struct stack_events *se, const struct profile *p);
void stack_events_release(struct stack_events *se);

/* The frame ids of stack node `node`, root first, *n of them; valid until
 * the next call. */
const uint32_t *stack_events_stack(struct stack_events *se, uint32_t node, size_t *n);

/* Calls open() and close() for thread t's timed samples: times are ns after
 * se->start; for one thread they never go backwards; a frame closes before
 * the frames it called are opened anew, deepest first. */
struct stack_events_ops {
	void (*open)(void *ctx, uint32_t depth, uint32_t frame, uint64_t at);
	void (*close)(void *ctx, uint32_t depth, uint32_t frame, uint64_t at);
};
void stack_events_walk(struct stack_events *se, size_t t, const struct stack_events_ops *ops, void *ctx);

/* A thread's name as the profile knows it ("" when it does not). */
const char *stack_events_thread_name(const struct stack_events *se, uint32_t tid);

#endif
