/* profile_compact.h - shrinks a long-running profile to what is still in use.
 *
 * kiln serve records into one profile for days: every code address, mapping,
 * thread and name it ever saw would stay. profile_compact() rebuilds the
 * profile with only the stacks the caller still holds samples of (and their
 * ancestors), the locations, frames and mappings those reach, the mappings
 * and threads the caller marks, and the strings all of these name. Ids
 * change; the caller renames what it holds with the maps it gets back.
 */
#ifndef KILN_PROFILE_PROFILE_COMPACT_H
#define KILN_PROFILE_PROFILE_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

#define PROFILE_COMPACT_DROPPED UINT32_MAX

/* What to keep: one flag per stack node, per mapping and per thread of the
 * profile (non-zero keeps). mappings and threads may be NULL (none kept
 * beyond those the kept locations name; no thread kept). */
struct profile_keep {
	const uint8_t *stacks;
	const uint8_t *mappings;
	const uint8_t *threads;
};

/* How many of each the compaction dropped. */
struct profile_compact_stats {
	size_t stacks, locations, mappings, threads, strings;
};

/* Rebuilds p in place (the pointer stays valid) keeping what keep says.
 * stack_map (p->stacks.n entries) and mapping_map (p->mappings.n entries),
 * both the caller's, receive each old id's new id, or
 * PROFILE_COMPACT_DROPPED. p's samples are renamed too; those of a dropped
 * stack go. Value types, metadata and series stay. dropped may be NULL.
 * When old is not NULL, *old receives the whole profile as it was (ids
 * unchanged, its samples too), for the caller to finish and profile_free();
 * else it is freed here. */
void profile_compact(struct profile *p, const struct profile_keep *keep, uint32_t *stack_map, uint32_t *mapping_map,
                     struct profile_compact_stats *dropped, struct profile **old);

#endif
