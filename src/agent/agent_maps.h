/* agent_maps.h - the agent's table of the process's mappings: read once
 * from /proc/self/maps in the constructor, before the host could forbid
 * opening files (a seccomp filter), and kept up to date with the modules
 * the loader reports later (dl_iterate_phdr), so nothing after the
 * constructor opens a file to learn where code or the main stack lies.
 *
 * Allocation-free (the table is mmap'd), no stdio; not thread-safe to
 * take (the constructor's job), safe to read from any thread after.
 */
#ifndef KILN_AGENT_AGENT_MAPS_H
#define KILN_AGENT_AGENT_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads /proc/self/maps and notes the modules loaded now. 0 or a negative
 * errno; on failure the table is empty and every module counts as new. */
int agent_maps_snapshot(void);

/* The mapping [*lo, *hi) of the snapshot that holds addr, and *gap_lo, the
 * end of the mapping below it (where a stack may grow down to). */
bool agent_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uintptr_t *gap_lo);

/* Emits the process's mappings as /proc/self/maps text, in pieces of at
 * most `piece` bytes: the snapshot's lines, then a line per loadable
 * segment of every module loaded since. No system call. */
void agent_maps_emit(void (*emit)(void *ctx, const char *text, size_t len), void *ctx, size_t piece);

/* Only the lines of the modules loaded since the snapshot, one emit call
 * per line: what a dlclose may unmap next. No system call. */
void agent_maps_emit_since(void (*emit)(void *ctx, const char *text, size_t len), void *ctx);

#endif
