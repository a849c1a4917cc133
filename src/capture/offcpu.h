/* offcpu.h - turns a thread's switches into off-CPU intervals.
 *
 * A thread goes off the CPU at a switch-out (a sched_switch sample, which
 * carries the stack it went to sleep on, then a PERF_RECORD_SWITCH "out"
 * record, which says whether it was preempted) and comes back at a
 * switch-in record. Records of one thread reach kiln through the rings of
 * different cpus, and a round of reading can hold a switch-in whose
 * switch-out is still in another ring: the pairer buffers events, sorts
 * them by time and pairs only those older than what two rounds of reading
 * have surely delivered (see offcpu_pairer_flush()).
 *
 * Between the two, a blocked thread is woken (sched:sched_wakeup) and then
 * waits for a cpu: with its wake-up seen, an interval is split there, the
 * blocked part before it and a runnable part after, so a short nap on a
 * busy cpu does not read as a long sleep. Wake-ups come through the
 * per-cpu rings too and are paired by time like the rest: the first one
 * after a blocking switch-out and before its switch-in counts; those of a
 * thread on a cpu, preempted or already woken are ignored, so the parts
 * never overlap and none is negative. Without one, the whole interval is
 * blocked, as a lost wake-up cannot be told from none.
 */
#ifndef KILN_CAPTURE_OFFCPU_H
#define KILN_CAPTURE_OFFCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hashmap.h"
#include "util/vec.h"

enum offcpu_event_kind {
	OFFCPU_EV_STACK = 0, /* the switch-out sample: stack of the thread going off */
	OFFCPU_EV_OUT = 1,   /* the switch-out record (preempt says whether it stayed runnable) */
	OFFCPU_EV_IN = 2,    /* the switch-in record */
	OFFCPU_EV_WAKE = 3,  /* the thread was woken (made runnable); pid unknown (0) */
};

struct offcpu_event {
	uint64_t time; /* CLOCK_MONOTONIC ns */
	uint32_t tid, pid, cpu;
	uint32_t stack; /* OFFCPU_EV_STACK: leaf stack node */
	uint8_t kind;   /* enum offcpu_event_kind */
	bool preempt;   /* OFFCPU_EV_OUT: preempted, so runnable, not blocked */
};

/* One stretch a thread spent off the CPU. */
struct offcpu_interval {
	uint32_t tid, pid, cpu;
	uint32_t stack; /* 0 when its switch-out sample was lost */
	uint64_t start, end;
	bool preempted; /* runnable (waiting for a cpu), not blocked */
	bool woken;     /* the runnable rest of a blocked interval, after its wake-up */
};

typedef void (*offcpu_emit_fn)(void *ctx, const struct offcpu_interval *iv);

/* What the pairer knows of one thread. */
struct offcpu_thread_state {
	uint32_t tid, pid, cpu;
	uint32_t stack;
	uint64_t stack_time; /* of the latest switch-out sample */
	uint64_t out_time;   /* of the pending switch-out, 0 when on a cpu */
	uint64_t in_time;    /* of the latest switch-in */
	uint64_t early_in;   /* a switch-in seen before its switch-out, 0 when none */
	uint64_t wake_time;  /* of the first wake-up after a blocking switch-out, 0 when none */
	bool preempt;
};

struct offcpu_pairer {
	VEC(struct offcpu_event) events;  /* not yet paired */
	VEC(struct offcpu_event) scratch; /* the sort's, kept between flushes */
	struct hashmap index;             /* tid -> index in threads */
	VEC(struct offcpu_thread_state) threads;
	uint64_t seen[2]; /* the latest event time after the last two flushes */
};

void offcpu_pairer_init(struct offcpu_pairer *pp);
void offcpu_pairer_release(struct offcpu_pairer *pp);

/* Buffers one event (in any order). */
void offcpu_pairer_add(struct offcpu_pairer *pp, const struct offcpu_event *ev);

/* Ends a round of reading: pairs the events older than the latest time
 * seen two rounds ago (a record that old has been copied out of every
 * ring by now, even one a round deferred), calling emit for each
 * interval. With final, pairs everything, and closes a switch-out still
 * open (a thread blocked when recording stopped) at end. */
void offcpu_pairer_flush(struct offcpu_pairer *pp, bool final, uint64_t end, offcpu_emit_fn emit, void *ctx);

#endif
