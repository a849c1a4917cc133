/* profile_compact.c - rebuilds a profile with only what is still in use
 * (profile_compact.h): a mark pass over stacks, locations and mappings,
 * then a copy into a fresh profile whose contents replace the old. */
#include "profile/profile_compact.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void profile_compact(struct profile *p, const struct profile_keep *keep, uint32_t *stack_map, uint32_t *mapping_map,
                     struct profile_compact_stats *dropped, struct profile **old)
{
	size_t ns = p->stacks.n, nl = p->locations.n, nm = p->mappings.n;
	uint8_t *live_s = xcalloc(ns ? ns : 1, 1);
	uint8_t *live_l = xcalloc(nl ? nl : 1, 1);
	uint8_t *live_m = xcalloc(nm ? nm : 1, 1);
	uint32_t *loc_map = xmalloc((nl ? nl : 1) * sizeof(*loc_map));
	if (ns)
		memcpy(live_s, keep->stacks, ns);
	if (ns)
		live_s[0] = 1;
	/* a node's parent was added before it: one pass from the leaves up */
	for (size_t i = ns; i-- > 1;)
		if (live_s[i]) {
			live_s[p->stacks.v[i].parent] = 1;
			live_l[p->stacks.v[i].location] = 1;
		}
	for (size_t i = 0; i < nm; i++)
		live_m[i] = keep->mappings && keep->mappings[i];
	for (size_t i = 0; i < nl; i++)
		if (live_l[i] && p->locations.v[i].mapping != PROFILE_NO_MAPPING && p->locations.v[i].mapping < nm)
			live_m[p->locations.v[i].mapping] = 1;

	struct profile *q = profile_new();
	for (size_t i = 0; i < p->value_types.n; i++)
		profile_add_value_type(q, profile_str(p, p->value_types.v[i].type),
		                       profile_str(p, p->value_types.v[i].unit));
	for (size_t i = 0; i < p->meta.n; i++)
		profile_set_meta(q, profile_str(p, p->meta.v[i].key), profile_str(p, p->meta.v[i].value));
	for (size_t i = 0; i < p->series.n; i++) {
		const struct profile_series *se = &p->series.v[i];
		uint32_t k = profile_add_series(q, profile_str(p, se->name), profile_str(p, se->unit));
		for (size_t j = 0; j < se->points.n; j++)
			profile_series_add(q, k, se->points.v[j].time, se->points.v[j].value);
	}
	for (size_t i = 0; i < nm; i++) {
		mapping_map[i] = PROFILE_COMPACT_DROPPED;
		if (!live_m[i])
			continue;
		struct profile_mapping m = p->mappings.v[i];
		m.path = profile_copy_str(q, p, m.path);
		m.build_id = profile_copy_str(q, p, m.build_id);
		mapping_map[i] = profile_add_mapping(q, &m);
	}
	for (size_t i = 0; i < nl; i++) {
		loc_map[i] = PROFILE_COMPACT_DROPPED;
		if (!live_l[i])
			continue;
		const struct profile_location *l = &p->locations.v[i];
		uint32_t m = l->mapping < nm ? mapping_map[l->mapping] : PROFILE_NO_MAPPING;
		uint32_t id = profile_location(q, m, l->address, (enum profile_location_kind)l->kind);
		loc_map[i] = id;
		profile_copy_location_frames(q, id, p, (uint32_t)i);
	}
	if (ns)
		stack_map[0] = 0;
	for (size_t i = 1; i < ns; i++) {
		const struct profile_stack_node *sn = &p->stacks.v[i];
		stack_map[i] = live_s[i] ? profile_stack_append(q, stack_map[sn->parent], loc_map[sn->location])
		                         : PROFILE_COMPACT_DROPPED;
	}
	for (size_t i = 0; i < p->threads.n; i++) {
		if (!keep->threads || !keep->threads[i])
			continue;
		const struct profile_thread *t = &p->threads.v[i];
		struct profile_thread *u = profile_thread(q, t->tid, t->pid);
		u->name = profile_copy_str(q, p, t->name);
		u->start = t->start;
		u->end = t->end;
	}
	for (size_t i = 0; i < p->samples.n; i++) {
		struct profile_sample x = p->samples.v[i];
		if (x.stack < ns && stack_map[x.stack] != PROFILE_COMPACT_DROPPED) {
			x.stack = stack_map[x.stack];
			vec_push(&q->samples, x);
		}
	}
	if (dropped) {
		dropped->stacks = ns - q->stacks.n;
		dropped->locations = nl - q->locations.n;
		dropped->mappings = nm - q->mappings.n;
		dropped->threads = p->threads.n - q->threads.n;
		dropped->strings = strtab_count(&p->strings) - strtab_count(&q->strings);
	}
	struct profile tmp = *p;
	*p = *q;
	*q = tmp;
	if (old)
		*old = q;
	else
		profile_free(q);
	free(live_s);
	free(live_l);
	free(live_m);
	free(loc_map);
}
