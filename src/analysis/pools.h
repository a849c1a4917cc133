/* pools.h - worker-pool health from an off-CPU or --wall profile.
 *
 * Threads that share a name up to a trailing number ("pool-worker-3",
 * "rayon-worker-12", or the same "tokio-runtime-worker" for all) and run
 * the same code (the outermost own function of their stacks that reach
 * the thread's start) are a pool, two or more of them; two kinds under
 * one name are two pools, "name (function)". Each worker's wall time
 * (its life within the recording) splits into
 *   parked   off the cpu waiting for work: the stack has a park frame
 *   blocked  off the cpu anywhere else: inside a task
 *   runnable preempted, waiting for a cpu
 *   busy     the rest: on a cpu
 * The park-frame rule: an off-CPU stack is parked when a frame matches one
 * of the known runtimes' park functions (pools_builtin_park), one given
 * by the user, or is the pool's own wait site: the function that calls a
 * Condvar (or channel, or thread::park) wait in at least half of the
 * pool's workers (two at least), as a get-work function does.
 */
#ifndef KILN_ANALYSIS_POOLS_H
#define KILN_ANALYSIS_POOLS_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/vec.h"

/* The known runtimes' park frames (POSIX extended regexes), NULL-ended. */
extern const char *const pools_builtin_park[];

struct pool_worker {
	uint32_t tid;
	uint32_t name;                            /* string id in the profile */
	uint64_t span;                            /* ns of the recording it lived */
	uint64_t busy, parked, blocked, runnable; /* ns; they add up to span */
	bool blocking;                            /* blocked in tasks >= POOLS_BLOCKED_SHARE of span */
};

/* Stacks that blocked workers inside tasks, merged by their label (see
 * pools_stack_key), with their blocked time. */
struct pool_stack {
	uint32_t stack; /* the first of them */
	uint64_t ns;
	uint32_t count;
};

struct pool {
	char *name; /* the shared name, without the number */
	VEC(struct pool_worker) workers;
	uint64_t span, busy, parked, blocked, runnable;
	VEC(struct pool_stack) stacks; /* blocked-in-task stacks, most time first */
	uint32_t park_site;            /* string id of the wait site taken as parking, 0 when none */
	uint32_t blocking_workers;     /* workers that are blocking */
};

/* A worker blocked in tasks for this share of its time or more makes its
 * pool unhealthy. */
#define POOLS_BLOCKED_SHARE 0.05

struct pools {
	VEC(struct pool) v; /* most blocked time first */
	VEC(regex_t) park;  /* compiled park patterns */
	bool builtin;       /* the built-in ones are among them */
};

void pools_init(struct pools *ps);
void pools_release(struct pools *ps);

/* Adds a park-frame pattern (a POSIX extended regex). Returns 0 or
 * -EINVAL when it does not compile. */
int pools_add_park(struct pools *ps, const char *regex);

/* Finds the pools of p and splits their time (after pools_add_park for
 * the user's patterns; the built-in ones are added by the first call).
 * Returns 0, or -ENOENT when p has no off-CPU values. */
int pools_build(struct pools *ps, const struct profile *p);

/* The innermost frame of stack that is the program's own (not the
 * kernel's, std's or libc's), and the frame it called: "a → b" into
 * buf. */
void pools_stack_label(const struct profile *p, uint32_t stack, char *buf, size_t size);
/* What the label names, as one number: stacks with the same key show as
 * one row (a function blocking from several call sites, or in a loop). */
uint64_t pools_stack_key(const struct profile *p, uint32_t stack);

#endif
