/* qemu_cache_sim.h - the simulated cache hierarchy of kiln cache: a
 * first-level instruction cache (I1) and data cache (D1) in front of one
 * unified last-level cache (LL), each set-associative with LRU
 * replacement and write-allocate, as cachegrind models them. An access
 * that straddles two lines looks both up and counts one miss at the
 * deeper level either reached.
 */
#ifndef KILN_QEMU_CACHE_SIM_H
#define KILN_QEMU_CACHE_SIM_H

#include <stddef.h>
#include <stdint.h>

struct cache_geometry {
	unsigned size, assoc, line; /* bytes, ways, bytes */
};

struct cache_level {
	struct cache_geometry geo;
	unsigned sets;
	unsigned set_mask; /* sets - 1 when sets is a power of two, else 0 */
	unsigned line_bits;
	uint64_t *tags; /* sets * assoc, most recently used first; 0 = empty */
};

struct cache_sim {
	struct cache_level i1, d1, ll;
};

/* Checks and sets a geometry: size a multiple of assoc*line, line a power
 * of two; 0 or -EINVAL. */
int cache_geometry_set(struct cache_geometry *c, unsigned size, unsigned assoc, unsigned line);
/* Allocates the three levels (zeroed geometries: cachegrind's fallbacks,
 * 32K 8-way 64 B for I1/D1 and 8M 16-way 64 B for LL); 0 or -errno. */
int cache_sim_init(struct cache_sim *s, const struct cache_geometry *i1, const struct cache_geometry *d1,
                   const struct cache_geometry *ll);
void cache_sim_release(struct cache_sim *s);
/* One reference; returns 0 (I1/D1 hit), 1 (L1 miss, LL hit) or 2 (LL miss). */
int cache_sim_ref(struct cache_sim *s, struct cache_level *l1, uint64_t addr, unsigned size);

/* The common case inline: an access within one line that hits the most
 * recently used way of its set changes nothing, and needs no call. */
static inline int cache_sim_quick(struct cache_sim *s, struct cache_level *l1, uint64_t addr, unsigned size)
{
	uint64_t blk = addr >> l1->line_bits;
	if (l1->set_mask && ((addr + size - 1) >> l1->line_bits) == blk &&
	    l1->tags[(size_t)(blk & l1->set_mask) * l1->geo.assoc] == blk + 1)
		return 0;
	return cache_sim_ref(s, l1, addr, size);
}

/* For a reference known ahead (an instruction's fetch): the tag its line
 * has in l when most recently used, and where that tag is, so that the
 * quick check needs neither l's geometry nor the address. 0 when l's sets
 * are not a power of two (then every reference takes cache_sim_ref()). */
static inline uint64_t cache_sim_line_tag(const struct cache_level *l, uint64_t addr)
{
	return l->set_mask ? (addr >> l->line_bits) + 1 : 0;
}

static inline uint32_t cache_sim_line_slot(const struct cache_level *l, uint64_t addr)
{
	return (uint32_t)(((addr >> l->line_bits) & l->set_mask) * l->geo.assoc);
}

static inline int cache_sim_fetch(struct cache_sim *s, uint64_t addr, unsigned size)
{
	return cache_sim_quick(s, &s->i1, addr, size);
}

static inline int cache_sim_data(struct cache_sim *s, uint64_t addr, unsigned size)
{
	return cache_sim_quick(s, &s->d1, addr, size);
}

#endif
