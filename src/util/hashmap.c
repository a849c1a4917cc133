/* hashmap.c - open addressing with linear probing, load factor <= 1/2. */
#include "util/hashmap.h"

#include <string.h>

#include "util/xalloc.h"

#define EMPTY UINT64_MAX

void hashmap_init(struct hashmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hashmap_release(struct hashmap *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void hashmap_clear(struct hashmap *m)
{
	if (m->cap)
		memset(m->keys, 0xff, m->cap * sizeof(*m->keys));
	m->n = 0;
}

bool hashmap_get(const struct hashmap *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == key) {
			if (val)
				*val = m->vals[i];
			return true;
		}
		if (m->keys[i] == EMPTY)
			return false;
	}
}

static void put_nogrow(struct hashmap *m, uint64_t key, uint64_t val)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
		if (m->keys[i] == EMPTY) {
			m->keys[i] = key;
			m->vals[i] = val;
			m->n++;
			return;
		}
	}
}

void hashmap_put(struct hashmap *m, uint64_t key, uint64_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct hashmap old = *m;
		m->cap = old.cap ? old.cap * 2 : 64;
		m->keys = xmalloc(m->cap * sizeof(*m->keys));
		m->vals = xmalloc(m->cap * sizeof(*m->vals));
		memset(m->keys, 0xff, m->cap * sizeof(*m->keys));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i] != EMPTY)
				put_nogrow(m, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	put_nogrow(m, key, val);
}

uint64_t hash_bytes(const void *p, size_t n)
{
	/* FNV-1a, finalised: strings are short, this is not a hot path. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return hash_u64(h);
}
