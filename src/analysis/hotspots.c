/* hotspots.c - per-function self/total values, the call tree, the thread
 * split and the distinct stacks of a profile, computed in one pass.
 *
 * The profile's stack trie is keyed by locations (addresses); two addresses
 * in the same line of the same function are two nodes there. Views want
 * frames, so every sampled trie node is first mapped onto a trie of frames
 * (function, module, file, line, inlined): its nodes with samples are the
 * distinct stacks. The call tree is the same trie merged by function only.
 * Both are memoised per node, so the work is proportional to the number of
 * distinct stacks, not of samples.
 */
#include "analysis/hotspots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

#define NONE UINT32_MAX

struct frame_node {
	uint32_t parent;
	uint32_t depth;
	uint32_t call_node; /* the call tree node it merges into */
	struct profile_frame f;
	uint64_t samples;
	int64_t value;
};

/* Working state of one hotspots_build(). */
struct builder {
	const struct profile *p;
	struct hotspots *h;
	VEC(struct frame_node) fnodes; /* 0 is the empty stack */
	struct hashmap fnode_index;
	struct hashmap call_index;
	struct hashmap func_index; /* (name << 32 | module) -> function */
	uint32_t *fnode_of;        /* profile stack node -> frame node, NONE until needed */
};

struct line_self {
	uint32_t func, file, line;
	int64_t value;
};

static uint64_t nokey(uint64_t k)
{
	/* UINT64_MAX marks empty slots in the hashmap */
	return k & ~(1ULL << 63);
}

static bool frame_equal(const struct profile_frame *a, const struct profile_frame *b)
{
	return a->function == b->function && a->module == b->module && a->file == b->file && a->line == b->line &&
	       a->inlined == b->inlined;
}

static uint32_t call_child(struct builder *b, uint32_t parent, uint32_t name, uint32_t module)
{
	struct hotspots *h = b->h;
	uint64_t key = nokey(hash_mix(parent, ((uint64_t)name << 32) | module)), id;
	while (hashmap_get(&b->call_index, key, &id)) {
		const struct hotspot_node *n = &h->tree.v[id];
		if (n->parent == parent && n->name == name && n->module == module)
			return (uint32_t)id;
		key = nokey(hash_u64(key + 1));
	}
	struct hotspot_node *n = vec_grow(&h->tree);
	n->name = name;
	n->module = module;
	n->parent = parent;
	n->depth = h->tree.v[parent].depth + 1;
	id = h->tree.n - 1;
	hashmap_put(&b->call_index, key, id);
	return (uint32_t)id;
}

static uint32_t frame_child(struct builder *b, uint32_t parent, const struct profile_frame *f)
{
	uint64_t key = hash_mix(hash_mix(parent, ((uint64_t)f->function << 32) | f->module),
	                        (((uint64_t)f->file << 32) | f->line) ^ (uint64_t)f->inlined);
	key = nokey(key);
	uint64_t id;
	while (hashmap_get(&b->fnode_index, key, &id)) {
		const struct frame_node *n = &b->fnodes.v[id];
		if (n->parent == parent && frame_equal(&n->f, f))
			return (uint32_t)id;
		key = nokey(hash_u64(key + 1));
	}
	uint32_t call = call_child(b, b->fnodes.v[parent].call_node, f->function, f->module);
	struct frame_node *n = vec_grow(&b->fnodes);
	n->parent = parent;
	n->depth = b->fnodes.v[parent].depth + 1;
	n->call_node = call;
	n->f = *f;
	id = b->fnodes.n - 1;
	hashmap_put(&b->fnode_index, key, id);
	return (uint32_t)id;
}

/* Extends frame node `at` by the frames of one location, outermost first. */
static uint32_t frame_extend(struct builder *b, uint32_t at, uint32_t location)
{
	const struct profile *p = b->p;
	if (location >= p->locations.n) {
		struct profile_frame unknown = {0};
		return frame_child(b, at, &unknown);
	}
	const struct profile_location *l = &p->locations.v[location];
	if (!l->nframes || (uint64_t)l->first_frame + l->nframes > p->frames.n) {
		struct profile_frame unknown = {0};
		return frame_child(b, at, &unknown);
	}
	/* frames are stored innermost first */
	for (uint32_t j = l->nframes; j-- > 0;)
		at = frame_child(b, at, &p->frames.v[l->first_frame + j]);
	return at;
}

/* Maps a profile stack node to its frame node, memoising the whole path. */
static uint32_t frame_node_of(struct builder *b, uint32_t node)
{
	const struct profile *p = b->p;
	if (b->fnode_of[node] != NONE)
		return b->fnode_of[node];
	/* walk up to the first mapped ancestor, then map downwards */
	VEC(uint32_t) path = {0};
	uint32_t i = node;
	while (b->fnode_of[i] == NONE && path.n <= p->stacks.n) {
		vec_push(&path, i);
		uint32_t parent = p->stacks.v[i].parent;
		if (parent >= p->stacks.n)
			parent = 0; /* a damaged link: hang it off the root */
		i = parent;
	}
	uint32_t at = b->fnode_of[i];
	if (at == NONE)
		at = 0; /* a cycle in a damaged trie: stop at the root */
	for (size_t k = path.n; k-- > 0;) {
		at = frame_extend(b, at, p->stacks.v[path.v[k]].location);
		b->fnode_of[path.v[k]] = at;
	}
	vec_free(&path);
	return b->fnode_of[node];
}

static uint32_t func_of(struct builder *b, const struct profile_frame *f)
{
	struct hotspots *h = b->h;
	uint64_t key = ((uint64_t)f->function << 32) | f->module, id;
	if (hashmap_get(&b->func_index, key, &id)) {
		struct hotspot_func *fn = &h->funcs.v[id];
		if (f->file && (!fn->file || (!fn->line && f->line))) {
			fn->file = f->file;
			fn->line = f->line;
		}
		return (uint32_t)id;
	}
	struct hotspot_func *fn = vec_grow(&h->funcs);
	fn->name = f->function;
	fn->module = f->module;
	fn->file = f->file;
	fn->line = f->line;
	id = h->funcs.n - 1;
	hashmap_put(&b->func_index, key, id);
	return (uint32_t)id;
}

int hotspots_value_index(const struct profile *p, const char *type)
{
	size_t n = p->value_types.n;
	if (!type || !*type) {
		if (!n)
			return HOTSPOTS_VALUE_SAMPLES;
		return n >= 2 ? 1 : 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(profile_str(p, p->value_types.v[i].type), type))
			return (int)i;
	if (!n && !strcmp(type, "samples"))
		return HOTSPOTS_VALUE_SAMPLES;
	return -ENOENT;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_line_self(const void *a, const void *b)
{
	const struct line_self *x = a, *y = b;
	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct hotspot_thread *x = a, *y = b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct hotspot_stack *x = a, *y = b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	/* first_frame follows discovery order: deterministic for a given file */
	return x->first_frame < y->first_frame ? -1 : x->first_frame > y->first_frame;
}

static int cmp_child(const void *a, const void *b, void *ctx)
{
	const struct hotspots *sort_ctx = ctx;
	const struct hotspot_node *x = &sort_ctx->tree.v[*(const uint32_t *)a];
	const struct hotspot_node *y = &sort_ctx->tree.v[*(const uint32_t *)b];
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	int c = strcmp(profile_str(sort_ctx->profile, x->name), profile_str(sort_ctx->profile, y->name));
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_name(const struct hotspots *h, const struct hotspot_func *x, const struct hotspot_func *y)
{
	int c = strcmp(profile_str(h->profile, x->name), profile_str(h->profile, y->name));
	if (c)
		return c;
	return strcmp(profile_str(h->profile, x->module), profile_str(h->profile, y->module));
}

static int cmp_func_self(const void *a, const void *b, void *sort_ctx)
{
	const struct hotspot_func *x = a, *y = b;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return cmp_name(sort_ctx, x, y);
}

static int cmp_func_total(const void *a, const void *b, void *sort_ctx)
{
	const struct hotspot_func *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return cmp_name(sort_ctx, x, y);
}

static int cmp_func_name(const void *a, const void *b, void *sort_ctx)
{
	return cmp_name(sort_ctx, a, b);
}

void hotspots_sort_functions(struct hotspots *h, enum hotspot_sort sort)
{
	if (h->funcs.n < 2)
		return;
	qsort_r(h->funcs.v, h->funcs.n, sizeof(*h->funcs.v),
	        sort == HOTSPOT_SORT_TOTAL  ? cmp_func_total
	        : sort == HOTSPOT_SORT_NAME ? cmp_func_name
	                                    : cmp_func_self,
	        h);
}

static void add_thread(struct hotspots *h, struct hashmap *index, const struct profile_sample *s, int64_t v)
{
	uint64_t id;
	if (!hashmap_get(index, s->tid, &id)) {
		struct hotspot_thread *t = vec_grow(&h->threads);
		const struct profile_thread *pt = profile_find_thread(h->profile, s->tid);
		t->tid = s->tid;
		t->pid = pt && pt->pid ? pt->pid : s->pid;
		t->name = pt ? pt->name : 0;
		id = h->threads.n - 1;
		hashmap_put(index, s->tid, id);
	}
	h->threads.v[id].samples++;
	h->threads.v[id].value += v;
}

/* Turns the frame nodes with samples into stacks and credits functions. */
static void build_stacks(struct builder *b, uint32_t *fnode_stack)
{
	struct hotspots *h = b->h;
	VEC(struct line_self) lines = {0};
	VEC(uint32_t) stamp = {0}; /* per function: 1 + last stack that credited its total */
	for (uint32_t fid = 0; fid < b->fnodes.n; fid++) {
		const struct frame_node *fn = &b->fnodes.v[fid];
		if (!fn->samples)
			continue;
		fnode_stack[fid] = (uint32_t)h->stacks.n;
		struct hotspot_stack *st = vec_grow(&h->stacks);
		st->samples = fn->samples;
		st->value = fn->value;
		st->nframes = fn->depth;
		st->first_frame = (uint32_t)h->stack_frames.n;
		vec_reserve(&h->stack_frames, h->stack_frames.n + fn->depth);
		h->stack_frames.n += fn->depth;
		/* fill leaf to root so the stored order is root first */
		uint32_t at = fid;
		for (uint32_t k = fn->depth; k-- > 0; at = b->fnodes.v[at].parent)
			h->stack_frames.v[st->first_frame + k] = b->fnodes.v[at].f;

		for (uint32_t k = 0; k < fn->depth; k++) {
			const struct profile_frame *f = &h->stack_frames.v[st->first_frame + k];
			uint32_t func = func_of(b, f);
			while (stamp.n < h->funcs.n)
				vec_push(&stamp, 0);
			if (stamp.v[func] != h->stacks.n) {
				stamp.v[func] = (uint32_t)h->stacks.n; /* recursion: count once */
				h->funcs.v[func].total += fn->value;
				h->funcs.v[func].total_samples += fn->samples;
			}
			if (k + 1 == fn->depth) {
				h->funcs.v[func].self += fn->value;
				h->funcs.v[func].self_samples += fn->samples;
				if (f->file && f->line) { /* line 0 is compiler-made code: no place to show */
					struct line_self ls = {func, f->file, f->line, fn->value};
					vec_push(&lines, ls);
				}
			}
		}

		/* the call tree: self at the leaf, total along the path */
		uint32_t c = fn->call_node;
		h->tree.v[c].self += fn->value;
		for (;;) {
			h->tree.v[c].total += fn->value;
			h->tree.v[c].samples += fn->samples;
			if (!c)
				break;
			c = h->tree.v[c].parent;
		}
	}

	/* a function's location: the line with the most self value */
	if (lines.n) {
		qsort(lines.v, lines.n, sizeof(*lines.v), cmp_line_self);
		uint32_t best_func = NONE;
		int64_t best = 0;
		for (size_t i = 0; i < lines.n;) {
			size_t j = i;
			int64_t sum = 0;
			while (j < lines.n && !cmp_line_self(&lines.v[i], &lines.v[j]))
				sum += lines.v[j++].value;
			uint32_t func = lines.v[i].func;
			if (func != best_func || sum > best) {
				best_func = func;
				best = sum;
				h->funcs.v[func].file = lines.v[i].file;
				h->funcs.v[func].line = lines.v[i].line;
			}
			i = j;
		}
	}
	vec_free(&lines);
	vec_free(&stamp);
}

static void build_children(struct hotspots *h)
{
	size_t n = h->tree.n;
	for (size_t i = 1; i < n; i++)
		h->tree.v[h->tree.v[i].parent].nchildren++;
	uint32_t off = 0;
	for (size_t i = 0; i < n; i++) {
		h->tree.v[i].first_child = off;
		off += h->tree.v[i].nchildren;
		h->tree.v[i].nchildren = 0;
	}
	vec_reserve(&h->tree_children, off);
	h->tree_children.n = off;
	for (size_t i = 1; i < n; i++) {
		struct hotspot_node *parent = &h->tree.v[h->tree.v[i].parent];
		h->tree_children.v[parent->first_child + parent->nchildren++] = (uint32_t)i;
	}
	for (size_t i = 0; i < n; i++)
		if (h->tree.v[i].nchildren > 1)
			qsort_r(&h->tree_children.v[h->tree.v[i].first_child], h->tree.v[i].nchildren, sizeof(uint32_t),
			        cmp_child, h);
}

int hotspots_build(struct hotspots *h, const struct profile *p, int value_index)
{
	memset(h, 0, sizeof(*h));
	h->profile = p;
	if (value_index == HOTSPOTS_VALUE_SAMPLES) {
		h->value_type = "samples";
		h->value_unit = "count";
	} else if (value_index >= 0 && (size_t)value_index < p->value_types.n) {
		h->value_type = profile_str(p, p->value_types.v[value_index].type);
		h->value_unit = profile_str(p, p->value_types.v[value_index].unit);
	} else {
		return -EINVAL;
	}
	h->value_index = value_index;

	struct builder b = {.p = p, .h = h};
	hashmap_init(&b.fnode_index);
	hashmap_init(&b.call_index);
	hashmap_init(&b.func_index);
	struct hashmap thread_index;
	hashmap_init(&thread_index);
	size_t nstacks = p->stacks.n ? p->stacks.n : 1;
	b.fnode_of = xmalloc(nstacks * sizeof(*b.fnode_of));
	memset(b.fnode_of, 0xff, nstacks * sizeof(*b.fnode_of));
	b.fnode_of[0] = 0;
	struct frame_node *root = vec_grow(&b.fnodes);
	root->call_node = 0;
	vec_grow(&h->tree);        /* the call tree's root, "all" */
	VEC(uint64_t) pairs = {0}; /* (frame node << 32 | tid) */

	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		int64_t v = value_index == HOTSPOTS_VALUE_SAMPLES ? 1 : s->values[value_index];
		uint32_t node = s->stack < p->stacks.n ? s->stack : 0;
		uint32_t fid = frame_node_of(&b, node);
		b.fnodes.v[fid].samples++;
		b.fnodes.v[fid].value += v;
		h->samples++;
		h->total += v;
		add_thread(h, &thread_index, s, v);
		vec_push(&pairs, ((uint64_t)fid << 32) | s->tid);
	}

	uint32_t *fnode_stack = xmalloc(b.fnodes.n * sizeof(*fnode_stack));
	build_stacks(&b, fnode_stack);

	/* the threads of each stack: sorted unique (frame node, tid) pairs */
	if (pairs.n)
		qsort(pairs.v, pairs.n, sizeof(*pairs.v), cmp_u64);
	for (size_t i = 0; i < pairs.n; i++) {
		if (i && pairs.v[i] == pairs.v[i - 1])
			continue;
		struct hotspot_stack *st = &h->stacks.v[fnode_stack[pairs.v[i] >> 32]];
		if (!st->ntids)
			st->first_tid = (uint32_t)h->stack_tids.n;
		st->ntids++;
		vec_push(&h->stack_tids, (uint32_t)pairs.v[i]);
	}

	build_children(h);
	if (h->threads.n > 1)
		qsort(h->threads.v, h->threads.n, sizeof(*h->threads.v), cmp_thread);
	if (h->stacks.n > 1)
		qsort(h->stacks.v, h->stacks.n, sizeof(*h->stacks.v), cmp_stack);
	hotspots_sort_functions(h, HOTSPOT_SORT_SELF);

	free(fnode_stack);
	vec_free(&pairs);
	free(b.fnode_of);
	vec_free(&b.fnodes);
	hashmap_release(&b.fnode_index);
	hashmap_release(&b.call_index);
	hashmap_release(&b.func_index);
	hashmap_release(&thread_index);
	return 0;
}

void hotspots_release(struct hotspots *h)
{
	if (!h)
		return;
	vec_free(&h->funcs);
	vec_free(&h->threads);
	vec_free(&h->stacks);
	vec_free(&h->stack_frames);
	vec_free(&h->stack_tids);
	vec_free(&h->tree);
	vec_free(&h->tree_children);
}

const struct hotspot_func *hotspots_find_function(const struct hotspots *h, const char *name, const char *module)
{
	for (size_t i = 0; i < h->funcs.n; i++) {
		const struct hotspot_func *f = &h->funcs.v[i];
		if (strcmp(profile_str(h->profile, f->name), name))
			continue;
		if (module && strcmp(profile_str(h->profile, f->module), module))
			continue;
		return f;
	}
	return NULL;
}

uint32_t hotspots_tree_find_child(const struct hotspots *h, uint32_t parent, const char *name)
{
	if (parent >= h->tree.n)
		return UINT32_MAX;
	const struct hotspot_node *n = &h->tree.v[parent];
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint32_t c = h->tree_children.v[n->first_child + i];
		if (!strcmp(profile_str(h->profile, h->tree.v[c].name), name))
			return c;
	}
	return UINT32_MAX;
}

double hotspots_pct(const struct hotspots *h, int64_t v)
{
	return h->total ? 100.0 * (double)v / (double)h->total : 0.0;
}
