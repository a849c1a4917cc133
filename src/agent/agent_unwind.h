/* agent_unwind.h - the agent's own stack unwinder: DWARF CFI from each
 * module's .eh_frame, compiled into one small rule per return address,
 * cached process-wide and along each thread's previous stack, so a frame
 * costs a cached rule and a load or two. What it cannot unwind it leaves
 * to the caller's fallback (libunwind in agent.c). x86_64 Linux only, like
 * the agent.
 *
 * Safe inside someone else's malloc: no allocation through malloc (tables
 * come from mmap), no stdio, one spinlock of its own taken only to insert,
 * and every stack read lies within the calling thread's stack.
 */
#ifndef KILN_AGENT_AGENT_UNWIND_H
#define KILN_AGENT_AGENT_UNWIND_H

#include <stddef.h>
#include <stdint.h>

/* Why agent_unwind_backtrace_from() gave up, counted since the start. */
struct agent_unwind_stats {
	uint64_t misses;      /* addresses looked up in .eh_frame (cache misses) */
	uint64_t no_info;     /* stacks given up at an address with no module or no FDE */
	uint64_t unsupported; /* ... at a rule kept for libunwind (expressions, signal frames) */
	uint64_t bounds;      /* ... at a frame outside the thread's stack, or on an unknown stack */
	uint64_t resets;      /* rule caches dropped because a module was unloaded */
};

/* Notes a mapping of the agent's own (agent.c): the leak scan skips it. */
void agent_own_add(const void *p, size_t size);

/* Resolves what the unwinder needs from libdl. Call once, early, with the
 * agent's recursion guard set (dlsym may allocate). */
void agent_unwind_init(void);

/* Fills ips with up to max return addresses, innermost first: ra, the
 * return address of a call some frame made, then that frame's callers;
 * what libunwind's unw_backtrace() gives from there. cfa is that frame's
 * stack pointer once the call returns, bp its rbp at the call; the frames
 * below it are not walked. Returns how many, or -1 when some frame needs a
 * real unwinder (the caller then uses its fallback for the whole stack).
 * Async-signal-unsafe (it may take the insert lock), allocation-free. */
int agent_unwind_backtrace_from(void **ips, int max, uintptr_t ra, uintptr_t cfa, uintptr_t bp);

/* In a forked child: the parent's insert lock may have been held by a
 * thread that does not exist here; the counters start over. */
void agent_unwind_atfork_child(void);

/* Copies the counters (read racily: for a summary line). */
void agent_unwind_get_stats(struct agent_unwind_stats *st);

#endif
