/* hashmap.c - open addressing with linear probing, load factor <= 1/2. */
#include "util/hashmap.h"

#include <string.h>

#include "util/xalloc.h"

#define EMPTY   UINT64_MAX
#define MIN_CAP 64
#define CAP_MAX ((size_t)1 << (sizeof(size_t) * 8 - 2))

void hashmap_init(struct hashmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hashmap_release(struct hashmap *m)
{
	if (!m)
		return;
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static void clear_slots(struct hashmap_slot *s, size_t cap)
{
	/* only the keys mark a slot empty; all-ones bytes make UINT64_MAX */
	memset(s, 0xff, cap * sizeof(*s));
}

void hashmap_clear(struct hashmap *m)
{
	if (m->cap)
		clear_slots(m->slots, m->cap);
	m->n = 0;
}

bool hashmap_get(const struct hashmap *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		const struct hashmap_slot *s = &m->slots[i];
		if (s->key == key) {
			if (val)
				*val = s->val;
			return true;
		}
		if (s->key == EMPTY)
			return false;
	}
}

static void put_nogrow(struct hashmap *m, uint64_t key, uint64_t val)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		struct hashmap_slot *s = &m->slots[i];
		if (s->key == key) {
			s->val = val;
			return;
		}
		if (s->key == EMPTY) {
			s->key = key;
			s->val = val;
			m->n++;
			return;
		}
	}
}

static void rehash(struct hashmap *m, size_t cap)
{
	struct hashmap old = *m;
	m->cap = cap;
	m->slots = xreallocarray(NULL, cap, sizeof(*m->slots));
	clear_slots(m->slots, cap);
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != EMPTY)
			put_nogrow(m, old.slots[i].key, old.slots[i].val);
	free(old.slots);
}

void hashmap_reserve(struct hashmap *m, size_t n)
{
	if (n <= m->cap / 2)
		return;
	size_t cap = m->cap ? m->cap : MIN_CAP;
	while (cap / 2 < n && cap < CAP_MAX)
		cap *= 2;
	if (cap > m->cap)
		rehash(m, cap);
}

void hashmap_put(struct hashmap *m, uint64_t key, uint64_t val)
{
	if ((m->n + 1) * 2 > m->cap)
		rehash(m, m->cap ? m->cap * 2 : MIN_CAP);
	put_nogrow(m, key, val);
}

uint64_t hash_bytes(const void *p, size_t n)
{
	/* a word at a time: interning hashes every new string, and kiln flame
	 * every frame of its input */
	const char *s = p;
	uint64_t h = n * 0x9e3779b97f4a7c15ULL, w;
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	return hash_u64(h);
}
