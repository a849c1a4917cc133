/* qemu_cache_sim.c - I1/D1/LL simulation for libkiln-qemu.so (see the header). */
#include "qemu/qemu_cache_sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cache_geometry_set(struct cache_geometry *c, unsigned size, unsigned assoc, unsigned line)
{
	if (!size || !assoc || !line || (line & (line - 1)) || size % ((uint64_t)assoc * line))
		return -EINVAL;
	*c = (struct cache_geometry){size, assoc, line};
	return 0;
}

static int level_init(struct cache_level *l, const struct cache_geometry *g, struct cache_geometry dflt)
{
	l->geo = g && g->size ? *g : dflt;
	l->sets = l->geo.size / (l->geo.assoc * l->geo.line);
	l->set_mask = l->sets & (l->sets - 1) ? 0 : l->sets - 1;
	l->line_bits = 0;
	while ((1u << l->line_bits) < l->geo.line)
		l->line_bits++;
	l->tags = calloc((size_t)l->sets * l->geo.assoc, sizeof(uint64_t));
	return l->tags ? 0 : -ENOMEM;
}

int cache_sim_init(struct cache_sim *s, const struct cache_geometry *i1, const struct cache_geometry *d1,
                   const struct cache_geometry *ll)
{
	memset(s, 0, sizeof(*s));
	if (level_init(&s->i1, i1, (struct cache_geometry){32768, 8, 64}) < 0 ||
	    level_init(&s->d1, d1, (struct cache_geometry){32768, 8, 64}) < 0 ||
	    level_init(&s->ll, ll, (struct cache_geometry){8 << 20, 16, 64}) < 0) {
		cache_sim_release(s);
		return -ENOMEM;
	}
	return 0;
}

void cache_sim_release(struct cache_sim *s)
{
	free(s->i1.tags);
	free(s->d1.tags);
	free(s->ll.tags);
	memset(s, 0, sizeof(*s));
}

/* Looks line number blk up in l, making it the most recently used; 1 on a
 * hit. Tags are blk + 1 so that 0 stays "empty". */
static int level_ref(struct cache_level *l, uint64_t blk)
{
	unsigned set = l->set_mask ? (unsigned)(blk & l->set_mask) : (unsigned)(blk % l->sets);
	uint64_t *t = l->tags + (size_t)set * l->geo.assoc;
	uint64_t tag = blk + 1;
	if (t[0] == tag)
		return 1;
	for (unsigned i = 1; i < l->geo.assoc; i++)
		if (t[i] == tag) {
			memmove(t + 1, t, i * sizeof(*t));
			t[0] = tag;
			return 1;
		}
	memmove(t + 1, t, (l->geo.assoc - 1) * sizeof(*t));
	t[0] = tag;
	return 0;
}

int cache_sim_ref(struct cache_sim *s, struct cache_level *l1, uint64_t addr, unsigned size)
{
	uint64_t first = addr >> l1->line_bits, last = (addr + (size ? size - 1 : 0)) >> l1->line_bits;
	int worst = 0;
	for (uint64_t b = first; b <= last; b++) {
		if (level_ref(l1, b))
			continue;
		int lvl = level_ref(&s->ll, (b << l1->line_bits) >> s->ll.line_bits) ? 1 : 2;
		if (lvl > worst)
			worst = lvl;
	}
	return worst;
}
