/* keymap.c - the growing half of keymap.h: linear probing, load <= 3/4. */
#include "util/keymap.h"

#include <string.h>

#include "util/xalloc.h"

#define MIN_BITS 6

void keymap_init(struct keymap *m)
{
	memset(m, 0, sizeof(*m));
}

void keymap_release(struct keymap *m)
{
	if (!m)
		return;
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void keymap_clear(struct keymap *m)
{
	if (m->cap)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->n = 0;
}

/* Puts a slot's word where it belongs in a map with room to spare. */
static void place(struct keymap *m, uint64_t s)
{
	size_t mask = m->cap - 1, at = keymap_home(s, m->bits);
	while (m->slots[at])
		at = (at + 1) & mask;
	m->slots[at] = s;
}

static void rehash(struct keymap *m, unsigned bits)
{
	struct keymap old = *m;
	m->bits = bits;
	m->cap = (size_t)1 << bits;
	m->slots = xmalloc_huge(m->cap * sizeof(*m->slots));
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i])
			place(m, old.slots[i]);
	free(old.slots);
}

/* Does a map of cap slots hold n entries within the load limit? */
static bool fits(size_t n, size_t cap)
{
	return n <= cap / 4 * 3;
}

void keymap_reserve(struct keymap *m, size_t n)
{
	if (m->cap && fits(n, m->cap))
		return;
	unsigned bits = m->bits > MIN_BITS ? m->bits : MIN_BITS;
	while (!fits(n, (size_t)1 << bits) && bits < sizeof(size_t) * 8 - 2)
		bits++;
	if (!m->cap || bits > m->bits)
		rehash(m, bits);
}

void keymap_add(struct keymap *m, uint64_t hash, uint32_t id)
{
	if (!m->cap || !fits(m->n + 1, m->cap))
		keymap_reserve(m, m->cap ? m->cap : 1);
	place(m, (hash >> 32) << 32 | ((uint64_t)id + 1));
	m->n++;
}
