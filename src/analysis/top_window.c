/* top_window.c - kiln top's rolling window of samples and the call tree of
 * one function (see top_window.h). */
#include "analysis/top_window.h"

#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

#define NONE UINT32_MAX

size_t top_window_trim(struct profile *p, uint64_t cutoff)
{
	size_t kept = 0, n = p->samples.n;
	for (size_t i = 0; i < n; i++) {
		/* rings of several cpus are read in turn: a later sample
		 * may be older than an earlier one, so look at each */
		if (p->samples.v[i].time < cutoff)
			continue;
		if (kept != i)
			p->samples.v[kept] = p->samples.v[i];
		kept++;
	}
	p->samples.n = kept;
	return n - kept;
}

/* A node of the merged tree under the function. */
struct merged {
	uint32_t name, module, depth;
	uint32_t first_child, next_sibling;
	int64_t self, total;
};

typedef VEC(struct merged) merged_vec;

static uint32_t merged_child(merged_vec *m, uint32_t parent, uint32_t name, uint32_t module)
{
	for (uint32_t c = m->v[parent].first_child; c != NONE; c = m->v[c].next_sibling)
		if (m->v[c].name == name && m->v[c].module == module)
			return c;
	if (m->n >= TOP_CALLTREE_MAX_LINES || m->v[parent].depth >= TOP_CALLTREE_MAX_DEPTH)
		return NONE;
	struct merged n = {name, module, m->v[parent].depth + 1, NONE, m->v[parent].first_child, 0, 0};
	vec_push(m, n);
	uint32_t id = (uint32_t)(m->n - 1);
	m->v[parent].first_child = id;
	return id;
}

struct pair {
	uint32_t from, to; /* a node of h's tree, and the merged node it adds to */
};

/* Adds the subtree of h's node at onto merged node to. */
static void merge_subtree(const struct hotspots *h, merged_vec *m, uint32_t at, uint32_t to)
{
	VEC(struct pair) todo = {0};
	vec_push(&todo, ((struct pair){at, to}));
	while (todo.n) {
		struct pair pr = todo.v[--todo.n];
		const struct hotspot_node *hn = &h->tree.v[pr.from];
		m->v[pr.to].self += hn->self;
		m->v[pr.to].total += hn->total;
		for (uint32_t i = 0; i < hn->nchildren; i++) {
			uint32_t c = h->tree_children.v[hn->first_child + i];
			const struct hotspot_node *cn = &h->tree.v[c];
			uint32_t mc = merged_child(m, pr.to, cn->name, cn->module);
			if (mc != NONE)
				vec_push(&todo, ((struct pair){c, mc}));
		}
	}
	vec_free(&todo);
}

static void add_caller(struct top_calltree *t, uint32_t name, uint32_t module, int64_t total)
{
	for (size_t i = 0; i < t->callers.n; i++)
		if (t->callers.v[i].name == name && t->callers.v[i].module == module) {
			t->callers.v[i].total += total;
			return;
		}
	vec_push(&t->callers, ((struct top_caller){name, module, total}));
}

static int cmp_merged_total(const void *a, const void *b, void *ctx)
{
	const merged_vec *m = ctx;
	int64_t x = m->v[*(const uint32_t *)a].total, y = m->v[*(const uint32_t *)b].total;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_caller(const void *a, const void *b)
{
	int64_t x = ((const struct top_caller *)a)->total, y = ((const struct top_caller *)b)->total;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The merged tree as lines, depth first, each node's children by total. */
static void flatten(struct top_calltree *t, merged_vec *m)
{
	VEC(uint32_t) todo = {0}, kids = {0};
	vec_push(&todo, 0u);
	while (todo.n) {
		uint32_t id = todo.v[--todo.n];
		const struct merged *n = &m->v[id];
		vec_push(&t->lines, ((struct top_call_line){n->name, n->module, n->depth, n->self, n->total}));
		vec_clear(&kids);
		for (uint32_t c = n->first_child; c != NONE; c = m->v[c].next_sibling)
			vec_push(&kids, c);
		if (kids.n > 1)
			qsort_r(kids.v, kids.n, sizeof(*kids.v), cmp_merged_total, m);
		/* pushed smallest first, so the largest comes out next */
		for (size_t i = kids.n; i-- > 0;)
			vec_push(&todo, kids.v[i]);
	}
	vec_free(&todo);
	vec_free(&kids);
}

void top_calltree_build(struct top_calltree *t, const struct hotspots *h, uint32_t name, uint32_t module)
{
	memset(t, 0, sizeof(*t));
	if (!h->tree.n)
		return;
	merged_vec m = {0};
	vec_push(&m, ((struct merged){name, module, 0, NONE, NONE, 0, 0}));
	bool found = false;
	VEC(uint32_t) todo = {0};
	vec_push(&todo, 0u);
	while (todo.n) {
		uint32_t id = todo.v[--todo.n];
		const struct hotspot_node *hn = &h->tree.v[id];
		if (id && hn->name == name && hn->module == module) {
			/* its outermost occurrence on this path: what recurses
			 * below is in its subtree already */
			found = true;
			merge_subtree(h, &m, id, 0);
			const struct hotspot_node *up = &h->tree.v[hn->parent];
			add_caller(t, hn->parent ? up->name : 0, hn->parent ? up->module : 0, hn->total);
			continue;
		}
		for (uint32_t i = 0; i < hn->nchildren; i++)
			vec_push(&todo, h->tree_children.v[hn->first_child + i]);
	}
	vec_free(&todo);
	if (found) {
		t->total = m.v[0].total;
		flatten(t, &m);
		if (t->callers.n > 1)
			qsort(t->callers.v, t->callers.n, sizeof(*t->callers.v), cmp_caller);
	}
	vec_free(&m);
}

void top_calltree_release(struct top_calltree *t)
{
	if (!t)
		return;
	vec_free(&t->lines);
	vec_free(&t->callers);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct top_thread *x = a, *y = b;
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void top_threads_build(top_thread_vec *t, const struct hotspots *h, const struct profile *p)
{
	vec_clear(t);
	struct hashmap seen;
	hashmap_init(&seen);
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct profile_thread *pt = &p->threads.v[i];
		hashmap_put(&seen, pt->tid, t->n);
		vec_push(t, ((struct top_thread){pt->tid, pt->pid, pt->name, 0, 0, ""}));
	}
	for (size_t i = 0; i < h->threads.n; i++) {
		const struct hotspot_thread *ht = &h->threads.v[i];
		uint64_t at;
		if (!hashmap_get(&seen, ht->tid, &at)) {
			at = t->n;
			hashmap_put(&seen, ht->tid, at);
			vec_push(t, ((struct top_thread){ht->tid, ht->pid, ht->name, 0, 0, ""}));
		}
		t->v[at].samples += ht->samples;
	}
	hashmap_release(&seen);
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_thread);
}
