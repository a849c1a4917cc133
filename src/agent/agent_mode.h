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

/* The caller of an allocator entry point: its return address, its stack
 * pointer after the return, its frame pointer (agent_backtrace()). */
struct agent_caller {
	uintptr_t ra, cfa, bp;
};

/* A mode's own allocator (memcheck): when a mode has one, the interposed
 * entry points call it instead of the real allocator, with the guard set.
 * A pointer it does not know (an allocation made before the agent started,
 * or by the agent itself) it leaves to the real allocator by returning
 * AGENT_HEAP_NOT_MINE from free, realloc and usable. */
#define AGENT_HEAP_NOT_MINE 1
struct agent_heap {
	/* size bytes aligned to align (a power of two, 16 at least), zeroed
	 * when zero; NULL with errno ENOMEM when it cannot. */
	void *(*alloc)(size_t size, size_t align, bool zero, const struct agent_caller *from);
	int (*free)(void *p, const struct agent_caller *from);
	/* *out: the moved block, as realloc(3) answers */
	int (*realloc)(void *p, size_t size, const struct agent_caller *from, void **out);
	int (*usable)(void *p, size_t *out);
	/* As alloc and free, for a family of allocator (enum kh_mem_family:
	 * operator new and delete) so that a block freed by another family's
	 * call is reported; NULL when the mode does not tell them apart. */
	void *(*alloc_as)(size_t size, size_t align, int family, const struct agent_caller *from);
	int (*free_as)(void *p, int family, const struct agent_caller *from);
};

/* A mode: what the agent does besides the core's work. Every hook may be
 * NULL; each runs with the agent's recursion guard set (see
 * agent_guarded()) and errno saved by the caller. */
struct agent_mode {
	const char *name;              /* KH_ENV_MODE's value */
	uint32_t id;                   /* KH_MODE_*: kh_ring_header.mode */
	bool alloc_hooks;              /* the allocator's entry points record events */
	const struct agent_heap *heap; /* the mode's own allocator, or NULL */
	/* In the constructor, after the channel is open. */
	void (*start)(void);
	/* In every thread the program starts, before its function runs. */
	void (*thread_start)(void);
	/* In a new process (a fork, or a raw clone the core noticed), after
	 * its own ring is open: the calling thread is its only thread. */
	void (*process_start)(void);
	/* Around fork(2), with the agent's lock held: fork_prepare takes the
	 * mode's own locks (after the agent's: that is the order), so the
	 * child gets the state they guard whole; fork_parent lets them go in
	 * the parent, process_start in the child. A thread that holds a
	 * mode's lock must never wait for the agent's (only try it), and
	 * fork_prepare must not wait for a lock its own thread holds (a
	 * signal handler's fork). */
	void (*fork_prepare)(void);
	void (*fork_parent)(void);
	/* At exit (the core's exit handler), before anything else of the
	 * core's exit path. */
	void (*exit)(void);
	/* A mode with its own allocator that wants leaks found: at exit,
	 * after glibc freed its caches, with the agent's lock held, sends
	 * its live blocks (KH_REC_MEM_LIVE); the core then runs the heap
	 * mode's leak scan over them (kiln builds the live image). */
	void (*live_send)(void);
};

extern const struct agent_mode agent_mode_heap;
extern const struct agent_mode agent_mode_cpu;
extern const struct agent_mode agent_mode_memcheck;
extern const struct agent_mode agent_mode_lock;

/* The memcheck mode's part of the interposed sigaction (agent_cpu.c):
 * true when it took the call for SIGSEGV (*rc its result). */
bool agent_memcheck_sigaction(int sig, const void *act, void *old, int *rc);

/* The lock mode's part of the interposed syscall() (agent_sandbox.c):
 * whether it watches this call now, and a futex call timed and recorded,
 * made through fn (libc's syscall) as from's caller made it. */
bool agent_lock_on(void);
long agent_lock_futex(const struct agent_caller *from, long (*fn)(long, ...), long uaddr, long op, long a3, long a4,
                      long a5, long a6);

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
/* The stack that holds sp, as agent_thread_stack() knows the calling
 * thread's (a signal handler on an alternate stack asks for the
 * interrupted one). */
bool agent_thread_stack_at(uintptr_t sp, uintptr_t *lo, uintptr_t *hi);
/* The calling thread's stack from the frame of from's caller: up to max
 * addresses, innermost first, return addresses minus one, the agent's own
 * frames left out. Not async-signal-safe. */
int agent_backtrace(const struct agent_caller *from, uint64_t *out, int max);
/* Ends the channel as the core's exit path does (the maps, the last
 * record) for a mode that stops the process itself (_exit). */
void agent_channel_finish(void);
/* CLOCK_MONOTONIC in ns, and the calling thread's id, by system call
 * (async-signal-safe). */
uint64_t agent_now_ns(void);
uint32_t agent_tid(void);
/* The mode's own allocator for an entry point outside agent.c (agent_cxx.c),
 * with the agent's guard set: agent_heap_leave() after the call. NULL (no
 * guard set) in a mode without one, or inside the agent itself. */
const struct agent_heap *agent_heap_enter(void);
void agent_heap_leave(void);
/* A mode's allocator that hands most blocks to the real one unrecorded
 * (memcheck --sample) lets the entry points skip it for those: once
 * agent_heap_bypass_set() has run, a thread's malloc or calloc while its
 * agent_heap_skip is above 1 counts it down and goes straight to the real
 * allocator, and free, realloc and malloc_usable_size of a pointer outside
 * [lo, lo + len) go straight there too. The mode's alloc is called when
 * the count is down to 1 or 0 (or for any other entry point) and reloads
 * it. Set once, before any thread allocates through it. */
extern __thread __attribute__((tls_model("initial-exec"))) uint32_t agent_heap_skip;
void agent_heap_bypass_set(uintptr_t lo, uintptr_t len);
/* Whether p goes straight to the real allocator (outside the mode's
 * blocks once agent_heap_bypass_set() ran; never before). */
bool agent_heap_bypassed(const void *p);
/* Anonymous memory straight from mmap (zeroed), or NULL; and back. */
void *agent_map(size_t size);
void agent_unmap(void *p, size_t size);

#endif
