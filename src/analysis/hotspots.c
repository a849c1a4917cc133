/* hotspots.c - per-function self/total values, the call tree, the thread
 * split and the distinct stacks of a profile.
 *
 * The profile's stack trie is keyed by locations (addresses); two addresses
 * in the same line of the same function are two nodes there. Views want
 * functions and frames (function, module, file, line, inlined). The call
 * tree merges the trie by function: one pass over the trie nodes on a
 * sampled path (parents come before children) maps each onto it, one pass
 * over the samples adds them up where they end, and every total is then a
 * sum over a subtree. The work is proportional to the trie plus the
 * samples, never to samples times depth.
 *
 * The distinct stacks are the nodes with samples of a trie of frames. A
 * heap profile can have a million of them and most views never show them,
 * so that trie is built, and the stacks listed, on the first
 * hotspots_stacks().
 *
 * Where a result depends on an order (ties between stacks or between
 * siblings of the call tree, the frame of a function that names its
 * place), it is the order in which samples first reach a node: the index
 * of the first sample through it, then its depth.
 */
#include "analysis/hotspots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/xalloc.h"

#define NONE UINT32_MAX
#define WIDE 8 /* a node with more children than this finds them by hashing */

/* The child links of a trie whose nodes are named by (parent, key). Most
 * nodes have a few children, found by walking a short list; the children
 * of a wide node are also in a hash map. */
struct trie_link {
	uint32_t key;          /* function id or frame id */
	uint32_t first_child;  /* NONE when none */
	uint32_t next_sibling; /* NONE ends the list */
	uint32_t nchildren;
};

struct trie {
	VEC(struct trie_link) links; /* node 0 is the root */
	struct hashmap wide;         /* (parent << 32 | key) -> child, for wide parents */
};

/* A node of the frame trie: a frame after its parent's frames. */
struct frame_node {
	uint32_t parent, frame; /* frame: index into hotspots.frames */
	uint32_t first;         /* index of the first sample through it */
	uint32_t depth;         /* number of frames from the root */
};

typedef VEC(uint64_t) u64_vec;

/* What hotspots_stacks() needs besides the profile, and what it made. */
struct hotspot_stack_data {
	uint32_t nloc;                   /* locations; index nloc is the unknown one */
	uint32_t *loc_first, *loc_count; /* per location: its frames in loc_frames */
	VEC(uint32_t) loc_frames;        /* frame ids, outermost first */
	bool listed;                     /* the rest is filled in */
	VEC(struct frame_node) nodes;    /* the frame trie; node 0 is the empty stack */
	VEC(struct hotspot_stack) stacks;
	VEC(uint32_t) tids;
};

/* Where a function is named when no line has self value: its first frame
 * with a file and a line, else with a file, else its first frame. */
enum { PLACE_ANY, PLACE_FILE, PLACE_FILE_LINE, NPLACES };

struct place {
	uint64_t order; /* first sample << 32 | depth; UINT64_MAX: none yet */
	uint32_t frame;
};

struct func_places {
	struct place at[NPLACES];
};

/* Working state of one hotspots_build(). */
struct builder {
	const struct profile *p;
	struct hotspots *h;
	struct hotspot_stack_data *sd;
	struct trie ctrie;              /* child links of h->tree */
	VEC(uint32_t) call_first;       /* per call node: first sample through it */
	VEC(uint32_t) frame_func;       /* per distinct frame: its function */
	VEC(struct func_places) places; /* per function */
	struct keymap frame_index;      /* frame -> frame id */
	struct hashmap func_index;      /* (name << 32 | module) -> function */
	int64_t *frame_self;            /* per frame: value of samples ending in it */
	bool *frame_seen;               /* per frame: some sample ends in it */
};

struct line_self {
	uint32_t func, file, line;
	int64_t value;
};

static void trie_init(struct trie *t)
{
	memset(t, 0, sizeof(*t));
	hashmap_init(&t->wide);
	struct trie_link *root = vec_grow(&t->links);
	root->first_child = root->next_sibling = NONE;
}

static void trie_release(struct trie *t)
{
	vec_free(&t->links);
	hashmap_release(&t->wide);
}

static uint64_t trie_key(uint32_t parent, uint32_t key)
{
	return ((uint64_t)parent << 32) | key; /* parent < NONE: never the empty key */
}

static uint32_t trie_find(const struct trie *t, uint32_t parent, uint32_t key)
{
	const struct trie_link *pl = &t->links.v[parent];
	if (pl->nchildren > WIDE) {
		uint64_t id;
		return hashmap_get(&t->wide, trie_key(parent, key), &id) ? (uint32_t)id : NONE;
	}
	for (uint32_t c = pl->first_child; c != NONE; c = t->links.v[c].next_sibling)
		if (t->links.v[c].key == key)
			return c;
	return NONE;
}

/* Adds a child under parent (which has none with this key); returns its id. */
static uint32_t trie_add(struct trie *t, uint32_t parent, uint32_t key)
{
	uint32_t id = (uint32_t)t->links.n;
	struct trie_link *l = vec_grow(&t->links);
	struct trie_link *pl = &t->links.v[parent];
	l->key = key;
	l->first_child = NONE;
	l->next_sibling = pl->first_child;
	pl->first_child = id;
	pl->nchildren++;
	if (pl->nchildren == WIDE + 1) {
		for (uint32_t c = id; c != NONE; c = t->links.v[c].next_sibling)
			hashmap_put(&t->wide, trie_key(parent, t->links.v[c].key), c);
	} else if (pl->nchildren > WIDE + 1) {
		hashmap_put(&t->wide, trie_key(parent, key), id);
	}
	return id;
}

static bool frame_equal(const struct profile_frame *a, const struct profile_frame *b)
{
	return a->function == b->function && a->module == b->module && a->file == b->file && a->line == b->line &&
	       a->inlined == b->inlined;
}

static bool frame_eq(const void *ctx, const void *key, uint32_t id)
{
	return frame_equal(&((const struct hotspots *)ctx)->frames.v[id], key);
}

static uint32_t func_of(struct builder *b, const struct profile_frame *f)
{
	struct hotspots *h = b->h;
	uint64_t key = ((uint64_t)f->function << 32) | f->module, id;
	if (hashmap_get(&b->func_index, key, &id))
		return (uint32_t)id;
	struct hotspot_func *fn = vec_grow(&h->funcs);
	fn->name = f->function;
	fn->module = f->module;
	fn->alias = f->alias;
	id = h->funcs.n - 1;
	hashmap_put(&b->func_index, key, id);
	struct func_places *pl = vec_grow(&b->places);
	for (int i = 0; i < NPLACES; i++)
		pl->at[i].order = UINT64_MAX;
	return (uint32_t)id;
}

/* The id of a distinct frame, adding it (and its function) when new. */
static uint32_t frame_id(struct builder *b, const struct profile_frame *f)
{
	struct hotspots *h = b->h;
	uint64_t key = hash_mix(hash_mix(f->function, ((uint64_t)f->module << 32) | f->file),
	                        ((uint64_t)f->line << 1) | f->inlined);
	uint32_t id = keymap_find(&b->frame_index, key, frame_eq, h, f);
	if (id != KEYMAP_NONE)
		return id;
	struct profile_frame *copy = vec_grow(&h->frames);
	copy->function = f->function;
	copy->file = f->file;
	copy->line = f->line;
	copy->module = f->module;
	copy->inlined = f->inlined;
	id = (uint32_t)h->frames.n - 1;
	keymap_add(&b->frame_index, key, id);
	vec_push(&b->frame_func, func_of(b, f));
	return (uint32_t)id;
}

/* Fills in the frames of a location (index nloc: an unknown one) the first
 * time a sampled node needs them. A location without frames, or with
 * frames out of range, is one unnamed frame. */
static void expand_location(struct builder *b, uint32_t loc)
{
	const struct profile *p = b->p;
	struct hotspot_stack_data *sd = b->sd;
	sd->loc_first[loc] = (uint32_t)sd->loc_frames.n;
	const struct profile_location *l = loc < p->locations.n ? &p->locations.v[loc] : NULL;
	if (!l || !l->nframes || (uint64_t)l->first_frame + l->nframes > p->frames.n) {
		struct profile_frame unknown = {0};
		vec_push(&sd->loc_frames, frame_id(b, &unknown));
		sd->loc_count[loc] = 1;
		return;
	}
	/* frames are stored innermost first */
	for (uint32_t j = l->nframes; j-- > 0;)
		vec_push(&sd->loc_frames, frame_id(b, &p->frames.v[l->first_frame + j]));
	sd->loc_count[loc] = l->nframes;
}

/* The location of a profile trie node, as an index into the location tables. */
static uint32_t node_location(const struct profile *p, const struct hotspot_stack_data *sd, uint32_t node)
{
	uint32_t loc = p->stacks.v[node].location;
	return loc < sd->nloc ? loc : sd->nloc;
}

/* The parent of a profile trie node; a damaged link (not to an earlier
 * node) hangs the node off the root, so the trie has no cycle. */
static uint32_t stack_parent(const struct profile *p, uint32_t node)
{
	uint32_t parent = p->stacks.v[node].parent;
	return parent < node ? parent : 0;
}

static uint32_t call_child(struct builder *b, uint32_t parent, uint32_t func)
{
	struct hotspots *h = b->h;
	uint32_t id = trie_find(&b->ctrie, parent, func);
	if (id != NONE)
		return id;
	id = trie_add(&b->ctrie, parent, func);
	struct hotspot_node *n = vec_grow(&h->tree);
	n->name = h->funcs.v[func].name;
	n->module = h->funcs.v[func].module;
	n->parent = parent;
	n->depth = h->tree.v[parent].depth + 1;
	vec_push(&b->call_first, NONE);
	return id;
}

/* Notes that a sample first reaches `frame` at `order`, for placing its function. */
static void place_candidate(struct builder *b, uint32_t frame, uint64_t order)
{
	const struct profile_frame *f = &b->h->frames.v[frame];
	struct place *at = b->places.v[b->frame_func.v[frame]].at;
	if (order < at[PLACE_ANY].order)
		at[PLACE_ANY] = (struct place){order, frame};
	if (f->file && order < at[PLACE_FILE].order)
		at[PLACE_FILE] = (struct place){order, frame};
	if (f->file && f->line && order < at[PLACE_FILE_LINE].order)
		at[PLACE_FILE_LINE] = (struct place){order, frame};
}

int hotspots_value_index(const struct profile *p, const char *type)
{
	size_t n = p->value_types.n;
	if (!type || !*type) /* a --wall or off-CPU recording says which it shows */
		type = profile_get_meta(p, "default_value");
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

/* A stack with its sort key: value, then samples, largest first, then the
 * order samples first reached it. */
struct stack_key {
	int64_t value;
	uint64_t samples;
	uint64_t order; /* first sample << 32 | depth */
	uint32_t stack;
};

static int cmp_stack_key(const void *a, const void *b)
{
	const struct stack_key *x = a, *y = b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_child(const void *a, const void *b, void *ctx)
{
	const struct builder *sort_ctx = ctx;
	const struct hotspots *h = sort_ctx->h;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct hotspot_node *x = &h->tree.v[ia], *y = &h->tree.v[ib];
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	int c = strcmp(profile_str(h->profile, x->name), profile_str(h->profile, y->name));
	if (c)
		return c;
	/* siblings: the first reached first */
	uint32_t fa = sort_ctx->call_first.v[ia], fb = sort_ctx->call_first.v[ib];
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
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

/* Marks the profile trie nodes on a sampled path with the index of the
 * first sample through them (NONE: no sample); returns the array and the
 * number of nodes marked in *nsampled. */
static uint32_t *mark_sampled(const struct profile *p, size_t nnodes, size_t *nsampled)
{
	uint32_t *first = xmalloc(nnodes * sizeof(*first));
	memset(first, 0xff, nnodes * sizeof(*first));
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t node = p->samples.v[i].stack < p->stacks.n ? p->samples.v[i].stack : 0;
		if (first[node] == NONE)
			first[node] = i < NONE - 1 ? (uint32_t)i : NONE - 1;
	}
	/* children come after their parents: one backward sweep carries each
	 * subtree's first sample up to its root */
	size_t n = 0;
	for (size_t i = nnodes; i-- > 1;) {
		if (first[i] == NONE)
			continue;
		n++;
		uint32_t parent = stack_parent(p, (uint32_t)i);
		if (first[i] < first[parent])
			first[parent] = first[i];
	}
	*nsampled = n;
	return first;
}

/* Maps every sampled profile trie node to its call tree node, in place:
 * node_map holds first samples on entry, call nodes on return. Notes
 * along the way when samples first reach each call node and frame. */
static void map_calls(struct builder *b, uint32_t *node_map, size_t nnodes)
{
	const struct profile *p = b->p;
	struct hotspot_stack_data *sd = b->sd;
	node_map[0] = 0;
	for (size_t i = 1; i < nnodes; i++) {
		uint32_t first = node_map[i];
		if (first == NONE)
			continue;
		uint32_t loc = node_location(p, sd, (uint32_t)i);
		if (sd->loc_first[loc] == NONE)
			expand_location(b, loc);
		/* parents come first: this node's is mapped */
		uint32_t at = node_map[stack_parent(p, (uint32_t)i)];
		for (uint32_t k = 0; k < sd->loc_count[loc]; k++) {
			uint32_t frame = sd->loc_frames.v[sd->loc_first[loc] + k];
			at = call_child(b, at, b->frame_func.v[frame]);
			if (first < b->call_first.v[at])
				b->call_first.v[at] = first;
			/* a call node is as deep as the frames that lead to it */
			place_candidate(b, frame, ((uint64_t)first << 32) | b->h->tree.v[at].depth);
		}
		node_map[i] = at;
	}
}

/* Adds up the samples where they end (per call node and leaf frame), per
 * thread, and in all. */
static void add_samples(struct builder *b, const uint32_t *call_of)
{
	const struct profile *p = b->p;
	struct hotspots *h = b->h;
	const struct hotspot_stack_data *sd = b->sd;
	b->frame_self = xcalloc(h->frames.n ? h->frames.n : 1, sizeof(*b->frame_self));
	b->frame_seen = xcalloc(h->frames.n ? h->frames.n : 1, sizeof(*b->frame_seen));
	struct hashmap thread_index;
	hashmap_init(&thread_index);
	uint32_t last_tid = 0, last_thread = NONE;
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		int64_t v = h->value_index == HOTSPOTS_VALUE_SAMPLES ? 1 : s->values[h->value_index];
		uint32_t node = s->stack < p->stacks.n ? s->stack : 0;
		struct hotspot_node *n = &h->tree.v[call_of[node]];
		n->self += v;
		n->samples++;
		if (node) {
			uint32_t loc = node_location(p, sd, node);
			uint32_t leaf = sd->loc_frames.v[sd->loc_first[loc] + sd->loc_count[loc] - 1];
			b->frame_self[leaf] += v;
			b->frame_seen[leaf] = true;
		}
		h->samples++;
		h->total += v;

		if (last_thread == NONE || s->tid != last_tid) {
			uint64_t id;
			if (!hashmap_get(&thread_index, s->tid, &id)) {
				struct hotspot_thread *t = vec_grow(&h->threads);
				const struct profile_thread *pt = profile_find_thread(p, s->tid);
				t->tid = s->tid;
				t->pid = pt && pt->pid ? pt->pid : s->pid;
				t->name = pt ? pt->name : 0;
				id = h->threads.n - 1;
				hashmap_put(&thread_index, s->tid, id);
			}
			last_tid = s->tid;
			last_thread = (uint32_t)id;
		}
		h->threads.v[last_thread].samples++;
		h->threads.v[last_thread].value += v;
	}
	hashmap_release(&thread_index);
}

/* Credits each function with the self value of its call nodes, then turns
 * the call tree's self values into totals over each subtree (children
 * come after their parents). */
static void add_up_tree(struct builder *b)
{
	struct hotspots *h = b->h;
	for (size_t i = 1; i < h->tree.n; i++) {
		struct hotspot_node *n = &h->tree.v[i];
		struct hotspot_func *fn = &h->funcs.v[b->ctrie.links.v[i].key];
		fn->self += n->self;
		fn->self_samples += n->samples;
	}
	for (size_t i = 0; i < h->tree.n; i++)
		h->tree.v[i].total = h->tree.v[i].self;
	for (size_t i = h->tree.n; i-- > 1;) {
		struct hotspot_node *n = &h->tree.v[i], *parent = &h->tree.v[n->parent];
		parent->total += n->total;
		parent->samples += n->samples;
	}
}

/* Counts every function's total once per call tree path it is on: at its
 * outermost node, whose subtree holds every sample with it on the stack. */
static void credit_totals(struct builder *b)
{
	struct hotspots *h = b->h;
	uint32_t *on_path = xcalloc(h->funcs.n ? h->funcs.n : 1, sizeof(*on_path));
	VEC(uint32_t) todo = {0};
	/* a depth-first walk; LEAVE marks the step back out of a node (there
	 * are far fewer than 2^31 nodes: each took a trie node's memory) */
	const uint32_t leave = 1u << 31;
	for (uint32_t i = 0; i < h->tree.v[0].nchildren; i++)
		vec_push(&todo, h->tree_children.v[h->tree.v[0].first_child + i]);
	while (todo.n) {
		uint32_t c = todo.v[--todo.n];
		if (c & leave) {
			on_path[b->ctrie.links.v[c & ~leave].key]--;
			continue;
		}
		uint32_t func = b->ctrie.links.v[c].key;
		const struct hotspot_node *n = &h->tree.v[c];
		if (!on_path[func]++) {
			h->funcs.v[func].total += n->total;
			h->funcs.v[func].total_samples += n->samples;
		}
		vec_push(&todo, c | leave);
		for (uint32_t i = 0; i < n->nchildren; i++)
			vec_push(&todo, h->tree_children.v[n->first_child + i]);
	}
	vec_free(&todo);
	free(on_path);
}

/* Where each function is: the line with the most self value, else the
 * place noted while mapping. */
static void place_functions(struct builder *b)
{
	struct hotspots *h = b->h;
	for (size_t i = 0; i < h->funcs.n; i++) {
		const struct place *at = b->places.v[i].at;
		const struct place *best = at[PLACE_FILE_LINE].order != UINT64_MAX ? &at[PLACE_FILE_LINE]
		                           : at[PLACE_FILE].order != UINT64_MAX    ? &at[PLACE_FILE]
		                                                                   : &at[PLACE_ANY];
		if (best->order == UINT64_MAX)
			continue;
		h->funcs.v[i].file = h->frames.v[best->frame].file;
		h->funcs.v[i].line = h->frames.v[best->frame].line;
	}

	VEC(struct line_self) lines = {0};
	for (size_t i = 0; i < h->frames.n; i++) {
		const struct profile_frame *f = &h->frames.v[i];
		/* line 0 is compiler-made code: no place to show */
		if (b->frame_seen[i] && f->file && f->line) {
			struct line_self ls = {b->frame_func.v[i], f->file, f->line, b->frame_self[i]};
			vec_push(&lines, ls);
		}
	}
	if (lines.n)
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
	vec_free(&lines);
}

static void build_children(struct builder *b)
{
	struct hotspots *h = b->h;
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
			        cmp_child, b);
}

static void stack_data_free(struct hotspot_stack_data *sd)
{
	if (!sd)
		return;
	free(sd->loc_first);
	free(sd->loc_count);
	vec_free(&sd->loc_frames);
	vec_free(&sd->nodes);
	vec_free(&sd->stacks);
	vec_free(&sd->tids);
	free(sd);
}

/* Do the values' magnitudes add up within 64 bits? Then no sum that
 * hotspots makes (a node's, a function's, a thread's, the total) can
 * overflow, since each adds up a subset of them. */
static bool values_fit(const struct profile *p, int value_index)
{
	if (value_index == HOTSPOTS_VALUE_SAMPLES)
		return true;
	int64_t sum = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		int64_t v = p->samples.v[i].values[value_index];
		if (v == INT64_MIN || __builtin_add_overflow(sum, v < 0 ? -v : v, &sum))
			return false;
	}
	return true;
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
	if (!values_fit(p, value_index))
		return -EOVERFLOW;
	h->value_index = value_index;

	struct builder b = {.p = p, .h = h};
	struct hotspot_stack_data *sd = b.sd = h->stack_data = xcalloc(1, sizeof(*h->stack_data));
	sd->nloc = (uint32_t)(p->locations.n < NONE - 1 ? p->locations.n : NONE - 1);
	sd->loc_first = xmalloc(((size_t)sd->nloc + 1) * sizeof(*sd->loc_first));
	sd->loc_count = xmalloc(((size_t)sd->nloc + 1) * sizeof(*sd->loc_count));
	memset(sd->loc_first, 0xff, ((size_t)sd->nloc + 1) * sizeof(*sd->loc_first));
	trie_init(&b.ctrie);
	keymap_init(&b.frame_index);
	hashmap_init(&b.func_index);
	vec_grow(&h->tree); /* the call tree's root, "all" */
	vec_push(&b.call_first, 0);

	size_t nnodes = p->stacks.n ? p->stacks.n : 1, nsampled;
	uint32_t *node_map = mark_sampled(p, nnodes, &nsampled);
	map_calls(&b, node_map, nnodes);
	add_samples(&b, node_map);
	free(node_map);
	add_up_tree(&b);
	build_children(&b);
	credit_totals(&b);
	place_functions(&b);
	if (h->threads.n > 1)
		qsort(h->threads.v, h->threads.n, sizeof(*h->threads.v), cmp_thread);
	hotspots_sort_functions(h, HOTSPOT_SORT_SELF);

	free(b.frame_self);
	free(b.frame_seen);
	vec_free(&b.call_first);
	vec_free(&b.frame_func);
	vec_free(&b.places);
	trie_release(&b.ctrie);
	keymap_release(&b.frame_index);
	hashmap_release(&b.func_index);
	return 0;
}

void hotspots_release(struct hotspots *h)
{
	if (!h)
		return;
	vec_free(&h->funcs);
	vec_free(&h->threads);
	vec_free(&h->frames);
	vec_free(&h->tree);
	vec_free(&h->tree_children);
	stack_data_free(h->stack_data);
	h->stack_data = NULL;
}

/* The frame node for `frame` under `parent`, reached by a sample no
 * earlier than `first`; added when new. */
static uint32_t frame_child(struct trie *t, struct hotspot_stack_data *sd, uint32_t parent, uint32_t frame,
                            uint32_t first)
{
	uint32_t id = trie_find(t, parent, frame);
	if (id != NONE) {
		if (first < sd->nodes.v[id].first)
			sd->nodes.v[id].first = first;
		return id;
	}
	id = trie_add(t, parent, frame);
	struct frame_node n = {parent, frame, first, sd->nodes.v[parent].depth + 1};
	vec_push(&sd->nodes, n);
	return id;
}

/* Builds the frame trie over the sampled nodes of the profile trie, in
 * place as map_calls() does; node_map then holds frame nodes. */
static void map_frames(const struct profile *p, struct hotspot_stack_data *sd, uint32_t *node_map, size_t nnodes,
                       size_t nsampled)
{
	struct trie t;
	trie_init(&t);
	struct frame_node root = {0, 0, 0, 0};
	vec_push(&sd->nodes, root);
	/* as many nodes as sampled ones, unless frames were inlined */
	vec_reserve(&sd->nodes, nsampled + 1);
	vec_reserve(&t.links, nsampled + 1);
	node_map[0] = 0;
	for (size_t i = 1; i < nnodes; i++) {
		uint32_t first = node_map[i];
		if (first == NONE)
			continue;
		uint32_t loc = node_location(p, sd, (uint32_t)i);
		uint32_t at = node_map[stack_parent(p, (uint32_t)i)];
		for (uint32_t k = 0; k < sd->loc_count[loc]; k++)
			at = frame_child(&t, sd, at, sd->loc_frames.v[sd->loc_first[loc] + k], first);
		node_map[i] = at;
	}
	trie_release(&t);
}

/* Lists the frame nodes with samples as stacks, by value (then samples),
 * largest first, ties in the order samples first reached them. */
static void list_stacks(const struct hotspots *h, struct hotspot_stack_data *sd)
{
	const struct profile *p = h->profile;
	size_t nnodes = p->stacks.n ? p->stacks.n : 1, nsampled;
	uint32_t *node_map = mark_sampled(p, nnodes, &nsampled);
	map_frames(p, sd, node_map, nnodes, nsampled);

	/* the samples per frame node; the threads of a stack seen on several
	 * as sorted unique (node << 32 | tid) pairs */
	size_t nf = sd->nodes.n;
	int64_t *value = xcalloc(nf, sizeof(*value));
	uint64_t *samples = xcalloc(nf, sizeof(*samples));
	uint32_t *tid = xmalloc(nf * sizeof(*tid)); /* of its first sample */
	uint8_t *multi = xcalloc(nf, sizeof(*multi));
	u64_vec pairs = {0};
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint32_t fid = node_map[s->stack < p->stacks.n ? s->stack : 0];
		if (!samples[fid]) {
			tid[fid] = s->tid;
		} else if (multi[fid]) {
			vec_push(&pairs, ((uint64_t)fid << 32) | s->tid);
		} else if (s->tid != tid[fid]) {
			multi[fid] = 1;
			vec_push(&pairs, ((uint64_t)fid << 32) | tid[fid]);
			vec_push(&pairs, ((uint64_t)fid << 32) | s->tid);
		}
		samples[fid]++;
		value[fid] += h->value_index == HOTSPOTS_VALUE_SAMPLES ? 1 : s->values[h->value_index];
	}
	free(node_map);
	if (pairs.n)
		qsort(pairs.v, pairs.n, sizeof(*pairs.v), cmp_u64);

	size_t nstacks = 0;
	for (size_t i = 0; i < nf; i++)
		nstacks += samples[i] != 0;
	struct stack_key *keys = xmalloc((nstacks ? nstacks : 1) * sizeof(*keys));
	struct hotspot_stack *unsorted = xmalloc((nstacks ? nstacks : 1) * sizeof(*unsorted));
	size_t k = 0, pi = 0;
	for (size_t i = 0; i < nf; i++) {
		if (!samples[i])
			continue;
		const struct frame_node *n = &sd->nodes.v[i];
		struct hotspot_stack *st = &unsorted[k];
		st->node = (uint32_t)i;
		st->nframes = n->depth;
		st->samples = samples[i];
		st->value = value[i];
		st->first_tid = (uint32_t)sd->tids.n;
		st->ntids = 0;
		if (!multi[i]) {
			vec_push(&sd->tids, tid[i]);
			st->ntids = 1;
		} else {
			for (; pi < pairs.n && pairs.v[pi] >> 32 == i; pi++) {
				if (st->ntids && pairs.v[pi] == pairs.v[pi - 1])
					continue;
				vec_push(&sd->tids, (uint32_t)pairs.v[pi]);
				st->ntids++;
			}
		}
		keys[k] =
		    (struct stack_key){st->value, st->samples, ((uint64_t)n->first << 32) | n->depth, (uint32_t)k};
		k++;
	}
	if (nstacks > 1)
		qsort(keys, nstacks, sizeof(*keys), cmp_stack_key);
	vec_reserve(&sd->stacks, nstacks);
	for (size_t i = 0; i < nstacks; i++)
		sd->stacks.v[i] = unsorted[keys[i].stack];
	sd->stacks.n = nstacks;
	free(unsorted);
	free(keys);
	vec_free(&pairs);
	free(multi);
	free(tid);
	free(samples);
	free(value);
	sd->listed = true;
}

struct hotspot_stack_list hotspots_stacks(const struct hotspots *h)
{
	struct hotspot_stack_list list = {0};
	struct hotspot_stack_data *sd = h->stack_data; /* not const: listed on demand */
	if (!sd)
		return list;
	if (!sd->listed)
		list_stacks(h, sd);
	list.v = sd->stacks.v;
	list.n = sd->stacks.n;
	list.tids = sd->tids.v;
	return list;
}

void hotspots_stack_frames(const struct hotspots *h, const struct hotspot_stack *s, const struct profile_frame **out)
{
	const struct hotspot_stack_data *sd = h->stack_data;
	uint32_t at = s->node;
	for (uint32_t k = s->nframes; k-- > 0; at = sd->nodes.v[at].parent)
		out[k] = &h->frames.v[sd->nodes.v[at].frame];
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
