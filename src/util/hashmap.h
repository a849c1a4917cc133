/* hashmap.h - open-addressing map from 64-bit keys to 64-bit values.
 *
 * For keys that are one exact integer (a tid, a pid, a file offset, two
 * 32-bit ids packed into one word): it stores plain integers, never
 * pointers it owns. Key UINT64_MAX is reserved as the empty marker. A key
 * that is a hash of something larger (a string, a tuple wider than 64 bits)
 * goes in a keymap (util/keymap.h), which confirms each candidate with the
 * caller's equality: never probe on by hand with a salted hash here.
 * hash_u64(), hash_mix() and hash_bytes() make the hashes for both.
 */
#ifndef KILN_UTIL_HASHMAP_H
#define KILN_UTIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key and its value side by side: a probe touches one cache line. */
struct hashmap_slot {
	uint64_t key, val;
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

void hashmap_init(struct hashmap *m);
void hashmap_release(struct hashmap *m);
void hashmap_clear(struct hashmap *m);
/* Makes room for n keys in all, so that inserting up to n never rehashes. */
void hashmap_reserve(struct hashmap *m, size_t n);

/* Returns true and sets *val when key is present. */
bool hashmap_get(const struct hashmap *m, uint64_t key, uint64_t *val);
/* Inserts or overwrites. */
void hashmap_put(struct hashmap *m, uint64_t key, uint64_t val);

/* A strong 64-bit finaliser, and a way to fold two words into one key. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t hash_mix(uint64_t a, uint64_t b)
{
	return hash_u64(a * 0x9e3779b97f4a7c15ULL ^ hash_u64(b));
}

uint64_t hash_bytes(const void *p, size_t n);

/* The bytes m's slots take on the heap (for memory budgets). */
static inline size_t hashmap_bytes(const struct hashmap *m)
{
	return m->cap * sizeof(*m->slots);
}

#endif
