/* agent_mode.h - the modes of libkiln-agent.so, and what the agent's core
 * (agent.c) offers them.
 *
 * One agent, one interposition table (agent.c: the allocator, threads,
 * exec, jumps; agent_unwind.c: sigaltstack, dlclose), one channel per
 * process (channel_format.h). kiln chooses the mode at start in the
 * environment (KH_ENV_MODE, "heap" when unset); the core opens the ring,
 * stamps the mode in its header, follows forks, execs and threads, and
 * calls the mode at each of those moments.
 *
 * How to add a mode:
 *  1. write src/agent/agent_NAME.c defining
 *     `const struct agent_mode agent_mode_NAME` (declared below): its
 *     hooks run inside someone else's process, so the agent's rules hold
 *     (no malloc, no stdio, no lock held across a call into the target,
 *     async-signal-safe in a signal handler; see agent.c's head);
 *  2. add one row to the table in agent.c (agent_modes[]) and the file to
 *     the agent's explicit source list in CMakeLists.txt;
 *  3. give it a KH_MODE_* number and its record kinds (KH_REC_*, with
 *     their structs) in channel_format.h;
 *  4. decode those records in kiln (src/capture/), set KH_ENV_MODE where
 *     the command launches the target, and add e2e tests that run the
 *     mode on fixtures (tests/e2e/test_agent_*.sh).
 * The heap mode is the one the agent grew from: its hooks still live in
 * agent.c; its row only says that the allocator's entry points record.
 */
#ifndef KILN_AGENT_AGENT_MODE_H
#define KILN_AGENT_AGENT_MODE_H

#include <stdbool.h>
#include <stdint.h>

/* A mode: what the agent does besides the core's work. Every hook may be
 * NULL; each runs with the agent's recursion guard set (see
 * agent_guarded()) and errno saved by the caller. */
struct agent_mode {
	const char *name; /* KH_ENV_MODE's value */
	uint32_t id;      /* KH_MODE_*: kh_ring_header.mode */
	bool alloc_hooks; /* the allocator's entry points record events */
	/* In the constructor, after the channel is open. */
	void (*start)(void);
	/* In every thread the program starts, before its function runs. */
	void (*thread_start)(void);
	/* In a new process (a fork, or a raw clone the core noticed), after
	 * its own ring is open: the calling thread is its only thread. */
	void (*process_start)(void);
	/* At exit (the core's exit handler), before anything else of the
	 * core's exit path. */
	void (*exit)(void);
};

extern const struct agent_mode agent_mode_heap;
extern const struct agent_mode agent_mode_cpu;

/* ---- what the core offers a mode ---- */

/* Whether the calling thread is inside the agent (its guard is set): a
 * signal handler that finds it so must not take the agent's lock. */
bool agent_guarded(void);
/* Takes the agent's lock without waiting (false: someone holds it);
 * async-signal-safe when the caller is not inside the agent. */
bool agent_lock_try(void);
void agent_lock_release(void);
/* With the lock held: appends a record of type with len payload bytes;
 * waits for room when wait, else returns -1 when the ring is full (or
 * recording stopped). Returns 0 when written. */
int agent_channel_write(uint32_t type, const void *payload, uint32_t len, bool wait);
/* Whether this process records (its ring is open). */
bool agent_channel_on(void);
/* The calling thread's stack, [*lo, *hi): known for the main thread and
 * the threads the program started through pthread_create; false else. */
bool agent_thread_stack(uintptr_t *lo, uintptr_t *hi);
/* CLOCK_MONOTONIC in ns, and the calling thread's id, by system call
 * (async-signal-safe). */
uint64_t agent_now_ns(void);
uint32_t agent_tid(void);
/* Anonymous memory straight from mmap (zeroed), or NULL; and back. */
void *agent_map(size_t size);
void agent_unmap(void *p, size_t size);

#endif
