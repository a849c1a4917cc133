/* agent_pool.h - spare rings for the fork children of a sandboxed host
 * (the pool file of channel_format.h): made once, just before the host
 * installs a seccomp filter, while opening a file is still allowed; a
 * child forked later takes a slot with no system call, or counts its
 * calls in the pool's header when none is free.
 *
 * No allocation, no stdio; the pool's state lives in shared memory and
 * is changed with atomics only, so any process of the tree may use it.
 */
#ifndef KILN_AGENT_AGENT_POOL_H
#define KILN_AGENT_AGENT_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/channel_format.h"

/* Creates the pool file tmp_path with `slots` spare rings (at most
 * KH_POOL_SLOTS_MAX), maps it shared, closes it and renames it to
 * final_path, where kiln finds it. A pool made before stays. 0 or -errno;
 * on failure there is no pool. */
int agent_pool_make(const char *tmp_path, const char *final_path, uint32_t slots, uint32_t owner);

/* True once a pool is mapped (in this process or a parent). */
bool agent_pool_ready(void);

/* For a new process (a fork child): takes a free slot and returns its
 * ring header page, all zeros (the caller fills it, magic last), in
 * *out: 0. With no slot free the process is registered as counting
 * only (pid noted): -ENOSPC. Without a pool: -ENOENT. */
int agent_pool_take(uint32_t pid, struct kh_ring_header **out);

/* True when the ring lies in the pool: it must never be unmapped alone. */
bool agent_pool_holds(const void *ring);

/* A counting-only process's calls: one allocation of size bytes, one free. */
void agent_pool_count_alloc(uint64_t size);
void agent_pool_count_free(void);

#endif
