/* strtab.c - string interning on top of keymap (string -> id). */
#include "util/strtab.h"

#include <string.h>

#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/xalloc.h"

#define CHUNK_SIZE (64 * 1024)

static char *store(struct strtab *t, const char *s, size_t len)
{
	if (len + 1 > t->chunk_left) {
		size_t sz = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;
		char *c = xmalloc(sz);
		vec_push(&t->chunks, c);
		t->chunk_bytes += sz;
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
	keymap_init(&t->index);
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
	keymap_release(&t->index);
	memset(t, 0, sizeof(*t));
}

/* The key a lookup passes to str_eq(). */
struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct strtab *t = ctx;
	const struct str_key *k = key;
	return t->lens.v[id] == k->len && memcmp(t->strs.v[id], k->s, k->len) == 0;
}

static uint32_t lookup(const struct strtab *t, const char *s, size_t len, uint64_t h)
{
	struct str_key k = {s, len};
	return keymap_find(&t->index, h, str_eq, t, &k);
}

uint32_t strtab_intern_n(struct strtab *t, const char *s, size_t len)
{
	return strtab_intern_hashed(t, s, len, hash_bytes(s, len));
}

uint32_t strtab_intern_hashed(struct strtab *t, const char *s, size_t len, uint64_t h)
{
	strtab_reindex(t);
	uint32_t id = lookup(t, s, len, h);
	if (id != KEYMAP_NONE)
		return id;
	id = strtab_append(t, s, len);
	keymap_add(&t->index, h, id);
	t->indexed = t->strs.n;
	return id;
}

uint32_t strtab_append(struct strtab *t, const char *s, size_t len)
{
	uint32_t id = (uint32_t)t->strs.n;
	vec_push(&t->strs, store(t, s, len));
	vec_push(&t->lens, (uint32_t)len);
	return id;
}

uint32_t strtab_append_stored(struct strtab *t, const char *s, size_t len)
{
	uint32_t id = (uint32_t)t->strs.n;
	vec_push(&t->strs, (char *)s);
	vec_push(&t->lens, (uint32_t)len);
	return id;
}

void strtab_reserve(struct strtab *t, size_t n)
{
	vec_reserve(&t->strs, n);
	vec_reserve(&t->lens, n);
}

void strtab_adopt(struct strtab *t, void *block)
{
	/* store() goes on in its own last chunk: it keeps chunk_pos, not the list */
	vec_push(&t->chunks, block);
}

void strtab_reindex(struct strtab *t)
{
	if (t->indexed == t->strs.n)
		return;
	keymap_reserve(&t->index, t->strs.n);
	for (size_t i = t->indexed; i < t->strs.n; i++)
		keymap_add(&t->index, hash_bytes(t->strs.v[i], t->lens.v[i]), (uint32_t)i);
	t->indexed = t->strs.n;
}

uint32_t strtab_intern(struct strtab *t, const char *s)
{
	return strtab_intern_n(t, s ? s : "", s ? strlen(s) : 0);
}

uint32_t strtab_find(const struct strtab *t, const char *s)
{
	size_t len = strlen(s);
	return lookup(t, s, len, hash_bytes(s, len));
}

const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return id < t->strs.n ? t->strs.v[id] : "";
}

size_t strtab_bytes(const struct strtab *t)
{
	return t->chunk_bytes + t->strs.cap * sizeof(*t->strs.v) + t->lens.cap * sizeof(*t->lens.v) +
	       t->chunks.cap * sizeof(*t->chunks.v) + keymap_bytes(&t->index);
}
