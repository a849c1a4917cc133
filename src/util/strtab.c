/* strtab.c - string interning on top of hashmap (hash -> first id). */
#include "util/strtab.h"

#include <string.h>

#include "util/xalloc.h"

#define CHUNK_SIZE (64 * 1024)

static char *store(struct strtab *t, const char *s, size_t len)
{
	if (len + 1 > t->chunk_left) {
		size_t sz = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;
		char *c = xmalloc(sz);
		vec_push(&t->chunks, c);
		t->chunk_pos = c;
		t->chunk_left = sz;
	}
	char *d = t->chunk_pos;
	memcpy(d, s, len);
	d[len] = '\0';
	t->chunk_pos += len + 1;
	t->chunk_left -= len + 1;
	return d;
}

void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	hashmap_init(&t->index);
	strtab_intern_n(t, "", 0);
}

void strtab_release(struct strtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->chunks.n; i++)
		free(t->chunks.v[i]);
	vec_free(&t->chunks);
	vec_free(&t->strs);
	vec_free(&t->lens);
	vec_free(&t->next);
	hashmap_release(&t->index);
	memset(t, 0, sizeof(*t));
}

static uint32_t lookup(const struct strtab *t, const char *s, size_t len, uint64_t h)
{
	uint64_t id;
	if (!hashmap_get(&t->index, h, &id))
		return UINT32_MAX;
	for (uint32_t i = (uint32_t)id;; i = t->next.v[i] - 1) {
		if (t->lens.v[i] == len && memcmp(t->strs.v[i], s, len) == 0)
			return i;
		if (!t->next.v[i])
			return UINT32_MAX;
	}
}

uint32_t strtab_intern_n(struct strtab *t, const char *s, size_t len)
{
	uint64_t h = hash_bytes(s, len) & ~(1ULL << 63); /* never the empty key */
	uint32_t id = lookup(t, s, len, h);
	if (id != UINT32_MAX)
		return id;
	id = (uint32_t)t->strs.n;
	vec_push(&t->strs, store(t, s, len));
	vec_push(&t->lens, (uint32_t)len);
	uint64_t first;
	uint32_t chain = hashmap_get(&t->index, h, &first) ? (uint32_t)first + 1 : 0;
	vec_push(&t->next, chain);
	hashmap_put(&t->index, h, id);
	return id;
}

uint32_t strtab_intern(struct strtab *t, const char *s)
{
	return strtab_intern_n(t, s ? s : "", s ? strlen(s) : 0);
}

uint32_t strtab_find(const struct strtab *t, const char *s)
{
	size_t len = strlen(s);
	return lookup(t, s, len, hash_bytes(s, len) & ~(1ULL << 63));
}

const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return id < t->strs.n ? t->strs.v[id] : "";
}
