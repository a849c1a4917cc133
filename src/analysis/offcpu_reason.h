/* offcpu_reason.h - why a thread was off the cpu, told from the stack it
 * went off on: the kernel frames (futex_wait, do_nanosleep, pipe_read,
 * ep_poll, io_schedule, a page fault) and the user frames (Condvar::wait
 * against Mutex::lock, both futexes to the kernel). */
#ifndef KILN_ANALYSIS_OFFCPU_REASON_H
#define KILN_ANALYSIS_OFFCPU_REASON_H

#include <stdint.h>

#include "profile/profile.h"
#include "util/hashmap.h"

enum offcpu_reason {
	OFFCPU_REASON_OTHER = 0,
	OFFCPU_REASON_SLEEP,    /* nanosleep, std::thread::sleep */
	OFFCPU_REASON_LOCK,     /* a contended mutex or rwlock */
	OFFCPU_REASON_CONDVAR,  /* a condition variable, thread::park, a channel */
	OFFCPU_REASON_FUTEX,    /* another futex wait (join, once, ...) */
	OFFCPU_REASON_READ,     /* read, recv, a pipe or socket */
	OFFCPU_REASON_POLL,     /* poll, select, epoll_wait */
	OFFCPU_REASON_IO,       /* a page fault or block I/O */
	OFFCPU_REASON_RUNNABLE, /* preempted: ready, waiting for a cpu */
	OFFCPU_NREASONS,
};

/* "sleep", "lock", "condvar", ... */
const char *offcpu_reason_name(enum offcpu_reason r);

/* The reason of a blocked interval that went off the cpu on stack (a leaf
 * node of p). Stacks without frames are OFFCPU_REASON_OTHER. */
enum offcpu_reason offcpu_reason_of(const struct profile *p, uint32_t stack);

/* offcpu_reason_of() for callers that ask once per interval: each stack's
 * reason is told once and kept in cache (stack -> reason; the caller
 * initializes and releases it). Telling walks the whole stack and matches
 * every frame's name against a few dozen patterns. */
enum offcpu_reason offcpu_reason_cached(const struct profile *p, uint32_t stack, struct hashmap *cache);

/* Value indexes of an off-CPU or --wall profile (see kiln-offcpu(1)):
 * -1 where p has no such value. */
struct offcpu_values {
	int offcpu, runnable;
};
void offcpu_values_find(const struct profile *p, struct offcpu_values *v);

#endif
