/* heap_load.c - a heap analysis from a heap profile (heap.h): what
 * `kiln report FILE` shows of a file `kiln heap` wrote, the same summary
 * kiln heap printed from its live analysis (heap_finish() stores every
 * number it shows). Sites are the profile's samples merged by stack, in sample
 * order; their leak classes come from the samples' cpu field; the totals
 * and the per-process table from the metadata (docs/file-format.md, "Heap
 * profiles"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/heap_int.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

static int value_of(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->value_types.n; i++)
		if (!strcmp(profile_str(p, p->value_types.v[i].type), name))
			return (int)i;
	return -1;
}

bool heap_profile_is(const struct profile *p)
{
	const char *ev = profile_get_meta(p, "event");
	return ev && !strcmp(ev, "heap") && value_of(p, "alloc_space") >= 0;
}

static uint64_t get(const struct profile_sample *s, int vi)
{
	return vi >= 0 && s->values[vi] > 0 ? (uint64_t)s->values[vi] : 0;
}

/* An old file's process entry from its samples. Its peak is what it held
 * at the run's peak, the closest the samples know. */
static void add_to_process(struct heap_process *pr, const struct profile_sample *smp, int v_space, int v_objects,
                           int v_peak, int v_temp, int v_leaked, int v_lobjects)
{
	pr->alloc_bytes += get(smp, v_space);
	pr->allocs += get(smp, v_objects);
	pr->peak_bytes += get(smp, v_peak);
	pr->temporary += get(smp, v_temp);
	uint64_t lb = get(smp, v_leaked), ln = get(smp, v_lobjects);
	uint32_t c = smp->cpu <= HEAP_LEAK_DEFINITE ? smp->cpu : HEAP_LEAK_UNKNOWN;
	pr->leaked_bytes += lb;
	pr->leaked_blocks += ln;
	pr->class_bytes[c] += lb;
	pr->class_blocks[c] += ln;
	pr->scanned |= c != HEAP_LEAK_UNKNOWN;
}

struct heap_analysis *heap_from_profile(struct profile *p)
{
	if (!heap_profile_is(p))
		return NULL;
	struct heap_analysis *h = heap_new(p);
	heap_totals_from_meta(p, &h->tot);
	/* a file from before the per-process table: one entry per pid, its
	 * totals added up from its samples below */
	bool table = heap_processes_from_meta(h);
	struct hashmap pids; /* pid -> its first entry */
	hashmap_init(&pids);
	for (size_t i = h->processes.n; i-- > 0;)
		hashmap_put(&pids, h->processes.v[i].pid, i);
	int v_space = value_of(p, "alloc_space"), v_objects = value_of(p, "alloc_objects");
	int v_peak = value_of(p, "peak_space"), v_leaked = value_of(p, "leaked_space");
	int v_lobjects = value_of(p, "leaked_objects"), v_temp = value_of(p, "temporary_objects");
	/* profile stack ids are dense: a stack's merged site by direct index */
	uint32_t *by_node = xmalloc((p->stacks.n + 1) * sizeof(*by_node));
	memset(by_node, 0xff, (p->stacks.n + 1) * sizeof(*by_node));
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *smp = &p->samples.v[i];
		if (smp->stack >= p->stacks.n)
			continue;
		uint32_t m = by_node[smp->stack];
		uint64_t proc;
		if (!hashmap_get(&pids, smp->pid, &proc)) {
			struct heap_process *np = vec_grow(&h->processes);
			np->pid = smp->pid;
			np->command = xstrdup("");
			proc = h->processes.n - 1;
			hashmap_put(&pids, smp->pid, proc);
		}
		if (m == UINT32_MAX) {
			struct heap_site *d = vec_grow(&h->merged);
			d->node = smp->stack;
			d->proc = (uint32_t)proc;
			m = by_node[smp->stack] = (uint32_t)(h->merged.n - 1);
		}
		struct heap_site *s = &h->merged.v[m];
		if (!table)
			add_to_process(&h->processes.v[proc], smp, v_space, v_objects, v_peak, v_temp, v_leaked,
			               v_lobjects);
		s->alloc_bytes += get(smp, v_space);
		s->allocs += get(smp, v_objects);
		s->peak_bytes += get(smp, v_peak);
		s->temporary += get(smp, v_temp);
		uint64_t lb = get(smp, v_leaked), ln = get(smp, v_lobjects);
		if (!lb && !ln)
			continue;
		if (!s->leaks) {
			vec_grow(&h->leaks);
			s->leaks = (uint32_t)(h->leaks.n - 1);
		}
		/* files before the class was kept have cpu 0: not scanned */
		uint32_t c = smp->cpu <= HEAP_LEAK_DEFINITE ? smp->cpu : HEAP_LEAK_UNKNOWN;
		h->leaks.v[s->leaks].bytes[c] += lb;
		h->leaks.v[s->leaks].blocks[c] += ln;
	}
	free(by_node);
	hashmap_release(&pids);
	if (!table && h->processes.n == 1) /* its own peak is the run's */
		h->processes.v[0].peak_bytes = h->tot.peak_bytes;
	return h;
}
