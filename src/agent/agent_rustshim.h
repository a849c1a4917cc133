/* agent_rustshim.h - Rust's allocator shim diverted to the agent
 * (agent_rustshim.c), and the few calls of the core (agent.c) its hooks
 * need: the same events and the same mode allocator as the malloc hooks.
 *
 * Every Rust binary routes its heap through rustc's allocator shim
 * (__rustc::__rust_alloc, __rust_dealloc, __rust_realloc,
 * __rust_alloc_zeroed), which calls the #[global_allocator]. One that is
 * not System (jemalloc, mimalloc, an allocator on mmap) never reaches
 * malloc: its shim functions are diverted to hooks here instead. */
#ifndef KILN_AGENT_AGENT_RUSTSHIM_H
#define KILN_AGENT_AGENT_RUSTSHIM_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/agent_mode.h"

/* Finds the main executable's shim and diverts it when its global
 * allocator is not System, then sends what it found (KH_REC_ALLOCATOR).
 * In the constructor, single-threaded, with the channel open. */
void agent_rustshim_install(void);

/* ---- what the core offers the shim's hooks (agent.c) ---- */

/* True when this call should be recorded: the guard is set (release it
 * with agent_hook_leave()); false for the agent's own calls, a mode that
 * records no allocations, or when recording stopped. While the guard is
 * set, the malloc hooks let calls through unrecorded: a global allocator
 * that takes its memory from malloc (System, or a wrapper of it) is not
 * counted twice. */
bool agent_hook_enter(void);
void agent_hook_leave(void);
/* The mode's own allocator (memcheck's) with the guard set, or NULL. */
const struct agent_heap *agent_heap_enter(void);
/* Events of the heap mode; guard set. */
void agent_record_alloc(const struct agent_caller *from, void *ptr, size_t size);
void agent_record_free(void *ptr);
/* Calls fn(ptr, size, ctx) to move a block and records it as a realloc,
 * with the agent's lock held across the call (no other thread's event for
 * the old address can come first); guard set. Returns what fn returned. */
typedef void *(*agent_realloc_fn)(void *ptr, size_t size, const void *ctx);
void *agent_record_realloc(const struct agent_caller *from, void *ptr, size_t size, agent_realloc_fn fn,
                           const void *ctx);

#endif
