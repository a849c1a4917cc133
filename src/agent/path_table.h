/* path_table.h - the agent's index from a stack path's 64-bit hash to its
 * trie node id: open addressing with linear probing, in memory the caller
 * maps (the agent allocates nothing through malloc), so it is the agent's
 * allocation-free counterpart of util/keymap. Every probe of it is here:
 * agent.c never walks the slots by hand.
 *
 * The key is the hash itself (a path's frames are not kept in the agent):
 * two paths with equal 64-bit hashes are one entry (about one in 10^7 with
 * a million paths, agent.c). Hashes have bit 0 set: 0 marks an empty slot.
 * Not thread-safe: the caller holds its lock, except that a stale
 * path_table_prefetch() is harmless.
 */
#ifndef KILN_AGENT_PATH_TABLE_H
#define KILN_AGENT_PATH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct path_slot {
	uint64_t hash; /* 0 = empty */
	uint32_t id;
} __attribute__((packed, aligned(4))); /* 12 bytes: the kernel zeroes every page the table grows into */

struct path_table {
	struct path_slot *slot; /* cap slots, zeroed; NULL before the first */
	size_t cap;             /* a power of two */
	size_t n;
};

/* A hash's home slot: from the bits above bit 0, or only odd slots would
 * be homes. */
static inline size_t path_table_home(uint64_t hash, size_t cap)
{
	return (size_t)(hash >> 1) & (cap - 1);
}

/* The slot of hash: its entry, or the empty slot where it goes (the table
 * is never full: see path_table_needs). */
static inline struct path_slot *path_table_slot(const struct path_table *t, uint64_t hash)
{
	size_t m = t->cap - 1, j = path_table_home(hash, t->cap);
	while (t->slot[j].hash && t->slot[j].hash != hash)
		j = (j + 1) & m;
	return &t->slot[j];
}

/* hash's id, or 0 when it is not there. */
static inline uint32_t path_table_find(const struct path_table *t, uint64_t hash)
{
	const struct path_slot *s = path_table_slot(t, hash);
	return s->hash ? s->id : 0;
}

/* Adds hash (not there yet) with id. */
static inline void path_table_add(struct path_table *t, uint64_t hash, uint32_t id)
{
	struct path_slot *s = path_table_slot(t, hash);
	s->hash = hash;
	s->id = id;
	t->n++;
}

/* True when adding `more` entries would fill the table past 70% (linear
 * probing still ends within a cache line or two), so it must grow first. */
static inline bool path_table_needs(const struct path_table *t, size_t more)
{
	return (t->n + more) * 10 > t->cap * 7;
}

/* Moves every entry of from into to: zeroed slots of a power-of-two
 * ncap (more than from's entries); the caller unmaps from's slots. */
static inline void path_table_move(struct path_table *from, struct path_table *to, struct path_slot *slots, size_t ncap)
{
	to->slot = slots;
	to->cap = ncap;
	to->n = 0;
	for (size_t i = 0; i < from->cap; i++)
		if (from->slot[i].hash)
			path_table_add(to, from->slot[i].hash, from->slot[i].id);
}

/* Starts fetching hash's home slot. May run without the caller's lock, on
 * a stale table: a prefetch never faults. */
static inline void path_table_prefetch(const struct path_table *t, uint64_t hash)
{
	struct path_slot *s = __atomic_load_n(&t->slot, __ATOMIC_RELAXED);
	size_t cap = __atomic_load_n(&t->cap, __ATOMIC_RELAXED);
	if (s)
		__builtin_prefetch(&s[path_table_home(hash, cap)]);
}

#endif
