/* agent_unwind.h - the agent's own stack unwinder: DWARF CFI from each
 * module's .eh_frame, compiled into one small rule per return address,
 * cached process-wide and along each thread's previous stack, so a frame
 * costs a cached rule and a load or two. Signal frames are stepped through
 * (from the thread's alternate signal stack back to its stack, too). What
 * it cannot unwind it cuts short: the caller gets the frames up to there.
 * x86_64 Linux only, like the agent.
 *
 * Safe inside someone else's malloc: no allocation through malloc (tables
 * come from mmap), no stdio, no file descriptor, one spinlock of its own
 * taken only to insert, every stack read lies within the stack it belongs
 * to, and it uses a few hundred bytes of stack (a cache miss more, and only
 * when the stack has room for it).
 */
#ifndef KILN_AGENT_AGENT_UNWIND_H
#define KILN_AGENT_AGENT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why agent_unwind_backtrace_from() gave up, counted since the start. */
struct agent_unwind_stats {
	uint64_t misses;      /* addresses looked up in .eh_frame (cache misses) */
	uint64_t no_info;     /* stacks given up at an address with no module or no FDE */
	uint64_t unsupported; /* ... at a rule it does not follow (CFA expressions) */
	uint64_t bounds;      /* ... at a frame outside the thread's stacks, or on an unknown stack */
	uint64_t resets;      /* rule caches dropped because a module was unloaded */
	uint64_t no_room;     /* ... at a cache miss with too little stack left to look it up */
};

/* A frame's CFI row in the usual x86_64 shape (see agent_unwind.c). */
struct agent_rule {
	int32_t cfa_off;
	int16_t fp_off;
	uint16_t kind;
	uint32_t lo_back;
	uint32_t len;
};

/* A step of a thread's previous stack: the frame at sp followed rule, the
 * rule of the row starting at row_lo. */
struct agent_trace_step {
	uintptr_t sp, row_lo;
	struct agent_rule rule;
};

#define AGENT_TRACE_MAX 64 /* steps kept per stack; deeper frames go to the table */

/* Per-thread unwinding state, in memory the caller owns (not in static
 * TLS, which glibc carves from every thread's stack). Zeroed, then the
 * caller sets the stack bounds it knows. */
struct agent_unwind_thread {
	uintptr_t stack_lo, stack_hi; /* the thread's stack; hi = 0: unknown (only the first frame is taken) */
	struct agent_trace_step trace[2][AGENT_TRACE_MAX + 1]; /* + a sentinel */
	unsigned trace_prev;                                   /* the buffer holding the previous stack */
	uint64_t trace_gen; /* 1 + the table generation its rules are from; 0: none */
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
 * below it are not walked. Returns how many (at least 1: ra); *whole is
 * false when the stack was cut short at a frame it could not unwind.
 * Async-signal-unsafe (it may take the insert lock), allocation-free. */
int agent_unwind_backtrace_from(struct agent_unwind_thread *ut, void **ips, int max, uintptr_t ra, uintptr_t cfa,
                                uintptr_t bp, bool *whole);

/* After a siglongjmp out of a signal handler that interrupted the agent:
 * drops the insert lock if the calling thread held it. */
void agent_unwind_abandon(void);

/* In a forked child: the parent's insert lock may have been held by a
 * thread that does not exist here; the counters start over. */
void agent_unwind_atfork_child(void);

/* Sets the function the interposed dlclose calls first, while the module
 * it may unload is still mapped (agent.c names its code for kiln). */
void agent_unwind_on_dlclose(void (*fn)(void));

/* Copies the counters (read racily: for a summary line). */
void agent_unwind_get_stats(struct agent_unwind_stats *st);

#endif
