/* keymap.h - open-addressing index from keys of any shape to dense ids.
 *
 * The keys themselves stay where the caller keeps them (usually the array
 * the id indexes: locations, strings, tree nodes); the map holds only each
 * key's id and 32 bits of its hash, eight bytes a slot. A lookup hashes the
 * key, and every slot whose hash bits match is confirmed by the caller's
 * equality callback, so two keys with the same hash are two entries, never
 * one: no caller probes by hand. Keys are never deleted; keymap_clear()
 * empties the map.
 *
 * keymap_find() is inline so that a constant callback is inlined into the
 * probe loop on hot paths.
 */
#ifndef KILN_UTIL_KEYMAP_H
#define KILN_UTIL_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYMAP_NONE UINT32_MAX

struct keymap {
	uint64_t *slots; /* (hash >> 32) << 32 | (id + 1); 0 is empty */
	size_t cap;      /* 1 << bits, or 0 before the first add */
	size_t n;
	unsigned bits;
};

/* Does the key the caller passed to keymap_find() equal the key of id? */
typedef bool (*keymap_eq_fn)(const void *ctx, const void *key, uint32_t id);

void keymap_init(struct keymap *m);
void keymap_release(struct keymap *m);
/* The bytes m's slots take on the heap (for memory budgets). */
static inline size_t keymap_bytes(const struct keymap *m)
{
	return m->cap * sizeof(*m->slots);
}
/* Forgets every entry, keeping the slots for reuse. */
void keymap_clear(struct keymap *m);
/* Makes room for n entries in all, so that adding up to n never grows. */
void keymap_reserve(struct keymap *m, size_t n);
/* Adds id (below KEYMAP_NONE) under hash. The caller has checked with
 * keymap_find() that no equal key is there (of two equal keys, either may
 * be found). */
void keymap_add(struct keymap *m, uint64_t hash, uint32_t id);

/* The slot a hash starts probing at: from the 32 bits kept in the slot, so
 * growing never needs the keys again. */
static inline size_t keymap_home(uint64_t hash, unsigned bits)
{
	return (size_t)(((hash >> 32) * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* Starts fetching the slot a lookup of hash begins at: callers with many
 * keys at hand overlap the cache misses of their lookups. */
static inline void keymap_prefetch(const struct keymap *m, uint64_t hash)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[keymap_home(hash, m->bits)]);
}

/* The first id added under a hash with the same 32 bits kept as hash's,
 * or KEYMAP_NONE: not a lookup (no key is compared), a hint for fetching
 * the key a keymap_find() of hash will most likely compare. */
static inline uint32_t keymap_guess(const struct keymap *m, uint64_t hash)
{
	if (!m->n)
		return KEYMAP_NONE;
	size_t mask = m->cap - 1;
	for (size_t at = keymap_home(hash, m->bits);; at = (at + 1) & mask) {
		uint64_t s = m->slots[at];
		if (!s)
			return KEYMAP_NONE;
		if (s >> 32 == hash >> 32)
			return (uint32_t)s - 1;
	}
}

/* The id added under hash whose key eq() says equals key, or KEYMAP_NONE. */
static inline uint32_t keymap_find(const struct keymap *m, uint64_t hash, keymap_eq_fn eq, const void *ctx,
                                   const void *key)
{
	if (!m->n)
		return KEYMAP_NONE;
	uint64_t tag = hash >> 32;
	size_t mask = m->cap - 1;
	for (size_t at = keymap_home(hash, m->bits);; at = (at + 1) & mask) {
		uint64_t s = m->slots[at];
		if (!s)
			return KEYMAP_NONE;
		if (s >> 32 == tag && eq(ctx, key, (uint32_t)s - 1))
			return (uint32_t)s - 1;
	}
}

#endif
