/* agent_lock.h - the agent's lock-mode records (channel_format.h
 * KH_REC_LOCK_*) as kiln lock reads them: agent_sampler.c hands each to a
 * raw-mode recorder as a sample whose raw data is the record without its
 * frames; agent_lock_decode() reads that raw data back. */
#ifndef KILN_CAPTURE_AGENT_LOCK_H
#define KILN_CAPTURE_AGENT_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum agent_lock_what {
	AGENT_LOCK_NONE,
	AGENT_LOCK_WAIT,
	AGENT_LOCK_WAKE,
	AGENT_LOCK_HOLD, /* addr 0: only lost is set */
};

/* What the waiting function was (channel_format.h enum kh_lock_kind). */
enum agent_lock_kind {
	AGENT_LOCK_FUTEX = 0, /* a futex call through syscall(): the stack says more */
	AGENT_LOCK_MUTEX = 1,
	AGENT_LOCK_RWLOCK = 2,
	AGENT_LOCK_SEMAPHORE = 3,
	AGENT_LOCK_CONDVAR = 4,
};

struct agent_lock_event {
	enum agent_lock_what what;
	uint64_t time, ns; /* WAIT: when it began, how long */
	uint64_t addr;
	uint32_t tid;
	uint32_t kind;                                            /* enum agent_lock_kind */
	uint64_t acquisitions, uncontended, hold_ns, hold_max_ns; /* HOLD */
	uint64_t lost;                                            /* HOLD: waits the process dropped */
	uint64_t wakes;                                           /* WAKE: of addr, by tid first */
	bool several;                                             /* WAKE: other threads woke it too */
};

/* Decodes raw data (any bytes); sets what to AGENT_LOCK_NONE when it is
 * no lock record. */
void agent_lock_decode(const uint8_t *raw, size_t n, struct agent_lock_event *out);

#endif
