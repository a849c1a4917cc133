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

/* The value types a heap profile carries, by HEAP_VALUE_*. */
static const char *const value_names[HEAP_NVALUES] = {
    [HEAP_VALUE_ALLOC_SPACE] = "alloc_space",       [HEAP_VALUE_ALLOC_OBJECTS] = "alloc_objects",
    [HEAP_VALUE_PEAK_SPACE] = "peak_space",         [HEAP_VALUE_LEAKED_SPACE] = "leaked_space",
    [HEAP_VALUE_LEAKED_OBJECTS] = "leaked_objects", [HEAP_VALUE_TEMPORARY] = "temporary_objects",
};

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
	return ev && !strcmp(ev, "heap") && value_of(p, value_names[HEAP_VALUE_ALLOC_SPACE]) >= 0;
}

/* One sample's heap values, by HEAP_VALUE_* (0 for a type the file lacks
 * or a negative value), and its leak class. */
struct sample_values {
	uint64_t v[HEAP_NVALUES];
	uint32_t cls;
};

/* The one reader of a sample: idx maps HEAP_VALUE_* to the file's value
 * indexes (-1: absent). */
static void sample_read(const struct profile_sample *smp, const int *idx, struct sample_values *out)
{
	for (int k = 0; k < HEAP_NVALUES; k++)
		out->v[k] = idx[k] >= 0 && smp->values[idx[k]] > 0 ? (uint64_t)smp->values[idx[k]] : 0;
	/* files before the class was kept have cpu 0: not scanned */
	out->cls = smp->cpu <= HEAP_LEAK_DEFINITE ? smp->cpu : HEAP_LEAK_UNKNOWN;
}

/* An old file's process entry from its samples. Its peak is what it held
 * at the run's peak, the closest the samples know. */
static void add_to_process(struct heap_process *pr, const struct sample_values *sv)
{
	pr->alloc_bytes += sv->v[HEAP_VALUE_ALLOC_SPACE];
	pr->allocs += sv->v[HEAP_VALUE_ALLOC_OBJECTS];
	pr->peak_bytes += sv->v[HEAP_VALUE_PEAK_SPACE];
	pr->temporary += sv->v[HEAP_VALUE_TEMPORARY];
	pr->leaked_bytes += sv->v[HEAP_VALUE_LEAKED_SPACE];
	pr->leaked_blocks += sv->v[HEAP_VALUE_LEAKED_OBJECTS];
	pr->class_bytes[sv->cls] += sv->v[HEAP_VALUE_LEAKED_SPACE];
	pr->class_blocks[sv->cls] += sv->v[HEAP_VALUE_LEAKED_OBJECTS];
	pr->scanned |= sv->cls != HEAP_LEAK_UNKNOWN;
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
	int idx[HEAP_NVALUES];
	for (int k = 0; k < HEAP_NVALUES; k++)
		idx[k] = value_of(p, value_names[k]);
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
		struct sample_values sv;
		sample_read(smp, idx, &sv);
		if (!table)
			add_to_process(&h->processes.v[proc], &sv);
		s->alloc_bytes += sv.v[HEAP_VALUE_ALLOC_SPACE];
		s->allocs += sv.v[HEAP_VALUE_ALLOC_OBJECTS];
		s->peak_bytes += sv.v[HEAP_VALUE_PEAK_SPACE];
		s->temporary += sv.v[HEAP_VALUE_TEMPORARY];
		uint64_t lb = sv.v[HEAP_VALUE_LEAKED_SPACE], ln = sv.v[HEAP_VALUE_LEAKED_OBJECTS];
		if (!lb && !ln)
			continue;
		if (!s->leaks) {
			vec_grow(&h->leaks);
			s->leaks = (uint32_t)(h->leaks.n - 1);
		}
		h->leaks.v[s->leaks].bytes[sv.cls] += lb;
		h->leaks.v[s->leaks].blocks[sv.cls] += ln;
	}
	free(by_node);
	hashmap_release(&pids);
	if (!table && h->processes.n == 1) /* its own peak is the run's */
		h->processes.v[0].peak_bytes = h->tot.peak_bytes;
	return h;
}
