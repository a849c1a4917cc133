/* flame_tree.c - merges a profile's stacks into the tree a flame graph draws
 * (see flame_tree.h). Samples are first summed per distinct (stack, thread),
 * so the work is proportional to distinct stacks, not to samples; flame
 * charts keep samples apart and merge only neighbours in time. Folded
 * stacks can skip the profile altogether (flame_folded_*): for a million
 * lines that is most of the time and memory kiln flame would spend.
 */
#include "analysis/flame_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static uint64_t nokey(uint64_t k)
{
	return k & ~(1ULL << 63); /* UINT64_MAX marks empty hashmap slots */
}

void flame_tree_init(struct flame_tree *t)
{
	memset(t, 0, sizeof(*t));
	strtab_init(&t->strings);
	hashmap_init(&t->index);
	struct flame_node *root = vec_grow(&t->nodes);
	root->first_child = root->next_sibling = root->last_child = FLAME_NONE;
	root->origin = FLAME_ORIGIN_UNKNOWN;
	root->name = strtab_intern(&t->strings, "all");
}

void flame_tree_release(struct flame_tree *t)
{
	if (!t)
		return;
	strtab_release(&t->strings);
	vec_free(&t->nodes);
	vec_free(&t->spans);
	hashmap_release(&t->index);
}

/* One frame of the stack being inserted, already in the tree's strings. */
struct path_frame {
	uint32_t name, module, file, line;
	uint8_t origin;
	uint8_t inlined;
};

static uint32_t node_new(struct flame_tree *t, uint32_t parent, const struct path_frame *f)
{
	uint32_t depth = t->nodes.v[parent].depth + 1;
	struct flame_node *n = vec_grow(&t->nodes);
	n->name = f->name;
	n->module = f->module;
	n->file = f->file;
	n->line = f->line;
	n->parent = parent;
	n->depth = depth;
	n->origin = f->origin;
	n->inlined = f->inlined;
	n->first_child = n->next_sibling = n->last_child = FLAME_NONE;
	return (uint32_t)(t->nodes.n - 1);
}

static uint32_t child_of(struct flame_tree *t, uint32_t parent, const struct path_frame *f)
{
	if (t->chart) {
		/* time order: only the latest child may continue */
		uint32_t last = t->nodes.v[parent].last_child;
		if (last != FLAME_NONE && t->nodes.v[last].name == f->name)
			return last;
		uint32_t id = node_new(t, parent, f);
		struct flame_node *p = &t->nodes.v[parent];
		if (last == FLAME_NONE)
			p->first_child = id;
		else
			t->nodes.v[last].next_sibling = id;
		p->last_child = id;
		return id;
	}
	uint64_t key = nokey(hash_mix(parent, f->name)), id;
	while (hashmap_get(&t->index, key, &id)) {
		const struct flame_node *n = &t->nodes.v[id];
		if (n->parent == parent && n->name == f->name)
			return (uint32_t)id;
		key = nokey(hash_u64(key + 1));
	}
	id = node_new(t, parent, f);
	hashmap_put(&t->index, key, id);
	return (uint32_t)id;
}

/* Adds v to the self value of the path's last node; flame_tree_finish()
 * sums the totals once, which is cheaper than adding along every path. */
static void insert_path(struct flame_tree *t, const struct path_frame *path, uint32_t n, int64_t v)
{
	uint32_t at = 0;
	for (uint32_t i = 0; i < n; i++)
		at = child_of(t, at, &path[i]);
	t->nodes.v[at].self += v;
}

void flame_tree_add_stack(struct flame_tree *t, const char *const *names, uint32_t n, int64_t v)
{
	struct path_frame small[64] = {{0}};
	struct path_frame *path = n <= 64 ? small : xmalloc(n * sizeof(*path));
	for (uint32_t i = 0; i < n; i++) {
		memset(&path[i], 0, sizeof(path[i]));
		path[i].name = strtab_intern(&t->strings, names[i]);
		path[i].origin = (uint8_t)flame_origin_guess(names[i], NULL, NULL, false);
	}
	insert_path(t, path, n, v);
	if (path != small)
		free(path);
}

static void folded_link(struct flame_tree *t);

#define FOLDED_MIN_BITS 10
#define FOLDED_WIDE     8 /* children of nodes with more than this many are found through the map */

/* The slot a tag starts probing at: Fibonacci hashing of the tag alone, so
 * growing the map never has to read the nodes again. */
static size_t folded_home(uint64_t tag, unsigned bits)
{
	return (size_t)((tag * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

void flame_folded_init(struct flame_folded *b, struct flame_tree *t)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	b->bits = FOLDED_MIN_BITS;
	b->cap = (size_t)1 << b->bits;
	b->slots = xcalloc(b->cap, sizeof(*b->slots));
	b->names_bits = FOLDED_MIN_BITS;
	b->names_cap = (size_t)1 << b->names_bits;
	b->names = xcalloc(b->names_cap, sizeof(*b->names));
	/* the same string order as flame_tree_build() */
	t->value_type = strtab_intern(&t->strings, "samples");
	t->value_unit = strtab_intern(&t->strings, "count");
	t->no_index = true;
	t->nodes.v[0].last_child = 0; /* a child count while building; see folded_child() */
}

/* Doubles a map of tagged slots (tag in the high half) in place of *slots. */
static void tagged_grow(uint64_t **slots, size_t *cap, unsigned *bits)
{
	unsigned nbits = *bits + 1;
	size_t ncap = (size_t)1 << nbits, mask = ncap - 1;
	uint64_t *ns = xcalloc(ncap, sizeof(*ns));
	for (size_t i = 0; i < *cap; i++) {
		uint64_t s = (*slots)[i];
		if (!s)
			continue;
		size_t at = folded_home(s >> 32, nbits);
		while (ns[at])
			at = (at + 1) & mask;
		ns[at] = s;
	}
	free(*slots);
	*slots = ns;
	*cap = ncap;
	*bits = nbits;
}

static void folded_grow(struct flame_folded *b)
{
	tagged_grow(&b->slots, &b->cap, &b->bits);
}

/* A word at a time: names are hashed once per new frame, so this is hot. */
static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ULL, w;
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	return hash_u64(h);
}

/* The tree's string id of name: a private map in front of the string table
 * (whose byte-wise hash would cost more than the rest of a frame). */
static uint32_t folded_intern(struct flame_folded *b, const char *name, size_t len)
{
	struct strtab *st = &b->t->strings;
	uint64_t tag = name_hash(name, len) >> 32;
	size_t mask = b->names_cap - 1, at = folded_home(tag, b->names_bits);
	for (uint64_t s; (s = b->names[at]) != 0; at = (at + 1) & mask) {
		uint32_t sid = (uint32_t)s - 1;
		if (s >> 32 == tag && st->lens.v[sid] == len && !memcmp(st->strs.v[sid], name, len))
			return sid;
	}
	uint32_t sid = strtab_intern_n(st, name, len);
	b->names[at] = tag << 32 | (sid + 1);
	if (++b->names_used * 4 > b->names_cap * 3)
		tagged_grow(&b->names, &b->names_cap, &b->names_bits);
	return sid;
}

static uint8_t folded_origin(struct flame_folded *b, uint32_t sid)
{
	if (sid >= b->origin_of.n) {
		size_t n = b->origin_of.n;
		vec_reserve(&b->origin_of, (size_t)sid + 1);
		memset(b->origin_of.v + n, 0, b->origin_of.cap - n);
		b->origin_of.n = b->origin_of.cap;
	}
	if (!b->origin_of.v[sid])
		b->origin_of.v[sid] =
		    (uint8_t)(flame_origin_guess(strtab_get(&b->t->strings, sid), NULL, NULL, false) + 1);
	return (uint8_t)(b->origin_of.v[sid] - 1);
}

/* Puts node into the map of wide parents' children. */
static void folded_put(struct flame_folded *b, uint32_t node)
{
	const struct flame_node *nd = &b->t->nodes.v[node];
	/* slots keep 32 bits of the hash, so other keys are passed over
	 * without touching their nodes */
	uint64_t tag = hash_mix(nd->parent, nd->name) >> 32;
	size_t mask = b->cap - 1, at = folded_home(tag, b->bits);
	while (b->slots[at])
		at = (at + 1) & mask;
	b->slots[at] = tag << 32 | node; /* node > 0: the root is nobody's child */
	if (++b->used * 4 > b->cap * 3)
		folded_grow(b);
}

/* The child of parent named name, made when new. While the tree is built,
 * a node's first_child is its newest child, next_sibling the next older one
 * and last_child the number of children (flame_tree_finish() links them
 * properly): most nodes have a few children, found on that list without the
 * cache miss of a hash lookup, and only the children of wide nodes go into
 * the map. */
static uint32_t folded_child(struct flame_folded *b, uint32_t parent, const char *name, size_t len)
{
	struct flame_tree *t = b->t;
	struct flame_node *nv = t->nodes.v;
	uint32_t sid = folded_intern(b, name, len);
	if (nv[parent].last_child <= FOLDED_WIDE) {
		for (uint32_t c = nv[parent].first_child; c != FLAME_NONE; c = nv[c].next_sibling)
			if (nv[c].name == sid)
				return c;
	} else {
		uint64_t tag = hash_mix(parent, sid) >> 32;
		size_t mask = b->cap - 1, at = folded_home(tag, b->bits);
		for (uint64_t s; (s = b->slots[at]) != 0; at = (at + 1) & mask) {
			if (s >> 32 != tag)
				continue;
			const struct flame_node *nd = &nv[(uint32_t)s];
			if (nd->parent == parent && nd->name == sid)
				return (uint32_t)s;
		}
	}
	struct path_frame pf = {.name = sid, .origin = folded_origin(b, sid)};
	uint32_t id = node_new(t, parent, &pf);
	nv = t->nodes.v;
	nv[id].last_child = 0;
	nv[id].next_sibling = nv[parent].first_child;
	nv[parent].first_child = id;
	uint32_t nchild = ++nv[parent].last_child;
	if (nchild == FOLDED_WIDE + 1) {
		for (uint32_t c = id; c != FLAME_NONE; c = t->nodes.v[c].next_sibling)
			folded_put(b, c);
	} else if (nchild > FOLDED_WIDE + 1) {
		folded_put(b, id);
	}
	return id;
}

/* The length of the common prefix of a and b (n bytes each), a word at a time. */
static size_t common_prefix(const char *a, const char *b, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
	}
#endif
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

void flame_folded_add(struct flame_folded *b, const char *stack, size_t len, int64_t v)
{
	if (v <= 0 || len > UINT32_MAX / 2)
		return;
	/* reuse the nodes of the whole frames this stack shares with the previous one */
	size_t common = common_prefix(stack, b->prev_stack.buf, len < b->prev_stack.len ? len : b->prev_stack.len);
	size_t keep = 0;
	while (len > 0 && keep < b->prev.n &&
	       (b->prev.v[keep].end < common ||
	        (b->prev.v[keep].end == common && (common == len || stack[common] == ';'))))
		keep++;
	uint32_t node = keep ? b->prev.v[keep - 1].node : 0;
	size_t pos = keep ? b->prev.v[keep - 1].end + 1 : 0;
	b->prev.n = keep;
	if (len > 0) {
		while (pos <= len) {
			const char *semi = memchr(stack + pos, ';', len - pos);
			size_t end = semi ? (size_t)(semi - stack) : len;
			node = folded_child(b, node, stack + pos, end - pos);
			struct flame_folded_prev pf = {(uint32_t)end, node};
			vec_push(&b->prev, pf);
			pos = end + 1;
		}
	}
	/* keep the shared prefix, copy only the rest */
	if (b->prev_stack.buf)
		b->prev_stack.len = common;
	strbuf_add(&b->prev_stack, stack + common, len - common);
	b->t->nodes.v[node].self += v;
}

void flame_folded_finish(struct flame_folded *b)
{
	free(b->slots);
	free(b->names);
	vec_free(&b->prev);
	vec_free(&b->origin_of);
	strbuf_release(&b->prev_stack);
	folded_link(b->t);
	memset(b, 0, sizeof(*b));
}

/* Working state of one flame_tree_build(). */
struct builder {
	struct flame_tree *t;
	const struct profile *p;
	const struct flame_options *o;
	uint32_t *strmap;   /* profile string id -> tree string id, FLAME_NONE until needed */
	uint8_t *focus_hit; /* per profile string id: 0 unknown, 1 match, 2 no match */
	uint8_t *excl_hit;
	uint8_t *origin_of; /* per profile frame index: origin + 1, 0 until needed */
	uint32_t *fnode_of; /* plain trees: profile stack node -> tree node, FLAME_NONE until mapped */
	bool direct;        /* every location is one frame with a name no other has: the profile's
	                     * trie already is the tree, so new nodes need no lookup */
	VEC(struct path_frame) path;
	bool focused, excluded;
	struct flame_span span; /* charts with times: the sample being added covers this */
	bool cut;               /* and its thread was not sampled for a while before it */
};

static uint32_t map_str(struct builder *b, uint32_t id)
{
	if (id >= strtab_count(&b->p->strings))
		id = 0;
	if (b->strmap[id] == FLAME_NONE)
		b->strmap[id] = strtab_intern(&b->t->strings, profile_str(b->p, id));
	return b->strmap[id];
}

static bool regex_hit(struct builder *b, const regex_t *re, uint8_t *cache, uint32_t id)
{
	if (id >= strtab_count(&b->p->strings))
		id = 0;
	if (!cache[id])
		cache[id] = regexec(re, profile_str(b->p, id), 0, NULL, 0) == 0 ? 1 : 2;
	return cache[id] == 1;
}

/* Fills pf from a profile frame; the origin is guessed once per frame. */
static void frame_to_path(struct builder *b, const struct profile_frame *f, uint32_t location, struct path_frame *pf)
{
	const struct profile *p = b->p;
	bool kernel = location < p->locations.n && p->locations.v[location].kind == PROFILE_LOC_KERNEL;
	pf->name = map_str(b, f->function);
	pf->module = map_str(b, f->module);
	pf->file = map_str(b, f->file);
	pf->line = f->line;
	pf->inlined = f->inlined;
	size_t fi = (size_t)(f - p->frames.v);
	bool cached = f >= p->frames.v && fi < p->frames.n;
	if (cached && b->origin_of[fi]) {
		pf->origin = (uint8_t)(b->origin_of[fi] - 1);
		return;
	}
	pf->origin = (uint8_t)flame_origin_guess(profile_str(p, f->function), profile_str(p, f->module),
	                                         profile_str(p, f->file), kernel);
	if (cached)
		b->origin_of[fi] = (uint8_t)(pf->origin + 1);
}

static int collect_frame(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct builder *b = ctx;
	struct path_frame *pf = vec_grow(&b->path);
	frame_to_path(b, f, location, pf);
	if (b->o->focus && !b->focused && regex_hit(b, b->o->focus, b->focus_hit, f->function))
		b->focused = true;
	if (b->o->exclude && regex_hit(b, b->o->exclude, b->excl_hit, f->function)) {
		b->excluded = true;
		return 1; /* the stack is dropped: stop walking */
	}
	return 0;
}

static void thread_frame(struct builder *b, uint32_t tid, struct path_frame *pf)
{
	const struct profile_thread *th = profile_find_thread(b->p, tid);
	char buf[320];
	const char *name = th ? profile_str(b->p, th->name) : "";
	snprintf(buf, sizeof(buf), "%.256s%stid %u", name, *name ? " " : "", tid);
	memset(pf, 0, sizeof(*pf));
	pf->name = strtab_intern(&b->t->strings, buf);
	pf->origin = FLAME_ORIGIN_THREAD;
}

static bool thread_selected(struct builder *b, uint32_t tid)
{
	if (!b->o->thread)
		return true;
	const struct profile_thread *th = profile_find_thread(b->p, tid);
	if (th && !strcmp(profile_str(b->p, th->name), b->o->thread))
		return true;
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", tid);
	return !strcmp(buf, b->o->thread);
}

/* Inserts a flame chart's sample at b->span: below the thread frame a
 * frame continues the thread's latest one of the same name unless the
 * thread was not sampled for a while before (b->cut), and every node's
 * span grows to the sample's end. */
static void chart_insert(struct builder *b, const struct path_frame *path, uint32_t n, int64_t v)
{
	struct flame_tree *t = b->t;
	uint32_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t last = t->nodes.v[at].last_child;
		if (last != FLAME_NONE && t->nodes.v[last].name == path[i].name && !(b->cut && i > 0)) {
			at = last;
		} else {
			uint32_t id = node_new(t, at, &path[i]);
			struct flame_node *p = &t->nodes.v[at];
			if (last == FLAME_NONE)
				p->first_child = id;
			else
				t->nodes.v[last].next_sibling = id;
			p->last_child = id;
			at = id;
		}
		while (t->spans.n < t->nodes.n) {
			struct flame_span *sp = vec_grow(&t->spans);
			*sp = b->span;
		}
		struct flame_span *sp = &t->spans.v[at];
		if (b->span.end > sp->end)
			sp->end = b->span.end;
	}
	t->nodes.v[at].self += v;
}

static int u64_order(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The sampling period of a chart: the median gap between consecutive
 * samples of a thread (order sorts them by thread, then time); 0 when the
 * samples have no times. */
static uint64_t chart_period(const struct profile *p, const uint32_t *order, size_t n)
{
	VEC(uint64_t) gaps = {0};
	for (size_t i = 1; i < n; i++) {
		const struct profile_sample *a = &p->samples.v[order[i - 1]], *s = &p->samples.v[order[i]];
		if (a->tid == s->tid && a->time && s->time > a->time)
			vec_push(&gaps, s->time - a->time);
	}
	uint64_t period = 0;
	if (gaps.n) {
		qsort(gaps.v, gaps.n, sizeof(*gaps.v), u64_order);
		period = gaps.v[gaps.n / 2];
	}
	vec_free(&gaps);
	return period;
}

/* Expands one stack into b->path (thread frame first when asked), applies
 * the filters and inserts it. */
static void add_stack(struct builder *b, uint32_t stack, uint32_t tid, int64_t v)
{
	vec_clear(&b->path);
	b->focused = b->excluded = false;
	if (stack >= b->p->stacks.n)
		stack = 0;
	profile_walk_stack(b->p, stack, collect_frame, b);
	if (b->excluded || (b->o->focus && !b->focused))
		return;
	struct path_frame *path = b->path.v;
	uint32_t n = (uint32_t)b->path.n;
	if (b->o->reverse)
		for (uint32_t i = 0; i < n / 2; i++) {
			struct path_frame tmp = path[i];
			path[i] = path[n - 1 - i];
			path[n - 1 - i] = tmp;
		}
	if (b->o->threads || b->o->chart) {
		vec_reserve(&b->path, b->path.n + 1);
		path = b->path.v;
		memmove(path + 1, path, n * sizeof(*path));
		thread_frame(b, tid, &path[0]);
		n++;
	}
	if (b->o->chart && b->t->period)
		chart_insert(b, path, n, v);
	else
		insert_path(b->t, path, n, v);
}

/* Plain trees (no filter, no reversal, no thread frames) follow the
 * profile's own trie: each stack node is mapped once, memoised, so the work
 * is proportional to the trie, not to stacks times depth. */
static uint32_t map_node(struct builder *b, uint32_t node)
{
	const struct profile *p = b->p;
	if (b->fnode_of[node] != FLAME_NONE)
		return b->fnode_of[node];
	VEC(uint32_t) up = {0};
	uint32_t i = node;
	while (b->fnode_of[i] == FLAME_NONE && up.n <= p->stacks.n) {
		vec_push(&up, i);
		uint32_t parent = p->stacks.v[i].parent;
		i = parent < p->stacks.n ? parent : 0; /* a damaged link hangs off the root */
	}
	uint32_t at = b->fnode_of[i] == FLAME_NONE ? 0 : b->fnode_of[i];
	for (size_t k = up.n; k-- > 0;) {
		uint32_t loc = p->stacks.v[up.v[k]].location;
		struct path_frame pf;
		if (loc < p->locations.n && p->locations.v[loc].nframes &&
		    (uint64_t)p->locations.v[loc].first_frame + p->locations.v[loc].nframes <= p->frames.n) {
			const struct profile_location *l = &p->locations.v[loc];
			for (uint32_t j = l->nframes; j-- > 0;) { /* innermost is stored first */
				frame_to_path(b, &p->frames.v[l->first_frame + j], loc, &pf);
				at = b->direct ? node_new(b->t, at, &pf) : child_of(b->t, at, &pf);
			}
		} else {
			struct profile_frame unknown = {0};
			frame_to_path(b, &unknown, loc, &pf);
			at = child_of(b->t, at, &pf);
		}
		b->fnode_of[up.v[k]] = at;
	}
	vec_free(&up);
	return b->fnode_of[node];
}

struct agg {
	uint32_t stack, tid;
	int64_t value;
};

static int sample_time_cmp(const void *x, const void *y, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_sample *a = &p->samples.v[*(const uint32_t *)x];
	const struct profile_sample *b = &p->samples.v[*(const uint32_t *)y];
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

int flame_tree_build(struct flame_tree *t, const struct profile *p, const struct flame_options *o)
{
	if (o->value < 0 || (size_t)o->value >= p->value_types.n)
		return -EINVAL;
	int vi = o->value;
	/* every sum in the tree is at most the sum of the positive values:
	 * check that once, so that no node's value can wrap */
	int64_t total = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		int64_t v = p->samples.v[i].values[vi];
		if (v > 0 && v > INT64_MAX - total)
			return -EOVERFLOW;
		if (v > 0)
			total += v;
	}
	t->chart = o->chart;
	t->value_type = strtab_intern(&t->strings, profile_str(p, p->value_types.v[vi].type));
	t->value_unit = strtab_intern(&t->strings, profile_str(p, p->value_types.v[vi].unit));

	struct builder b = {.t = t, .p = p, .o = o};
	uint32_t nstr = strtab_count(&p->strings) + 1;
	b.strmap = xmalloc(nstr * sizeof(*b.strmap));
	memset(b.strmap, 0xff, nstr * sizeof(*b.strmap));
	b.focus_hit = xcalloc(nstr, 1);
	b.excl_hit = xcalloc(nstr, 1);
	b.origin_of = xcalloc(p->frames.n + 1, 1);
	bool plain = !o->chart && !o->reverse && !o->threads && !o->focus && !o->exclude;
	if (plain) {
		b.fnode_of = xmalloc((p->stacks.n + 1) * sizeof(*b.fnode_of));
		memset(b.fnode_of, 0xff, (p->stacks.n + 1) * sizeof(*b.fnode_of));
		b.fnode_of[0] = 0;
		/* folded input has one location per name: skip the by-name merge */
		uint8_t *seen = xcalloc(nstr, 1);
		b.direct = true;
		for (size_t i = 0; i < p->locations.n && b.direct; i++) {
			const struct profile_location *l = &p->locations.v[i];
			uint32_t fn = l->nframes == 1 && l->first_frame < p->frames.n
			                  ? p->frames.v[l->first_frame].function
			                  : UINT32_MAX;
			if (fn >= nstr || seen[fn])
				b.direct = false;
			else
				seen[fn] = 1;
		}
		free(seen);
		t->no_index = b.direct;
	}

	if (o->chart) {
		uint32_t *order = xmalloc((p->samples.n + 1) * sizeof(*order));
		for (size_t i = 0; i < p->samples.n; i++)
			order[i] = (uint32_t)i;
		qsort_r(order, p->samples.n, sizeof(*order), sample_time_cmp, (void *)p);
		t->period = chart_period(p, order, p->samples.n);
		const struct profile_sample *prev = NULL;
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[order[i]];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			if (t->period) {
				/* a sample stands for the period before it; a gap of more
				 * than two and a half periods is time the thread did not run */
				uint64_t since =
				    prev && prev->tid == s->tid && s->time > prev->time ? s->time - prev->time : 0;
				uint64_t len = since && since < t->period ? since : t->period;
				b.cut = !prev || prev->tid != s->tid || since > t->period * 5 / 2;
				b.span.start = s->time > len ? s->time - len : 0;
				b.span.end = s->time;
			}
			add_stack(&b, s->stack, s->tid, s->values[vi]);
			prev = s;
		}
		free(order);
		if (t->period && t->spans.n == t->nodes.n && t->nodes.n > 1) {
			struct flame_span *root = &t->spans.v[0];
			*root = t->spans.v[1];
			for (size_t i = 2; i < t->nodes.n; i++)
				if (t->nodes.v[i].depth == 1) {
					if (t->spans.v[i].start < root->start)
						root->start = t->spans.v[i].start;
					if (t->spans.v[i].end > root->end)
						root->end = t->spans.v[i].end;
				}
		} else {
			vec_free(&t->spans);
			t->period = 0;
		}
	} else if (plain) {
		/* the memo merges repeated stacks already: no need to sum them first */
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[i];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			uint32_t leaf = map_node(&b, s->stack < p->stacks.n ? s->stack : 0); /* may move t->nodes.v */
			t->nodes.v[leaf].self += s->values[vi];
		}
	} else {
		bool per_thread = o->threads;
		VEC(struct agg) aggs = {0};
		struct hashmap index;
		hashmap_init(&index);
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[i];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			uint32_t tid = per_thread ? s->tid : 0;
			uint64_t key = nokey(hash_mix(s->stack, tid)), id;
			bool found = false;
			while (hashmap_get(&index, key, &id)) {
				if (aggs.v[id].stack == s->stack && aggs.v[id].tid == tid) {
					found = true;
					break;
				}
				key = nokey(hash_u64(key + 1));
			}
			if (!found) {
				struct agg *a = vec_grow(&aggs);
				a->stack = s->stack;
				a->tid = tid;
				id = aggs.n - 1;
				hashmap_put(&index, key, id);
			}
			aggs.v[id].value += s->values[vi];
		}
		for (size_t i = 0; i < aggs.n; i++) {
			uint32_t stack = aggs.v[i].stack < p->stacks.n ? aggs.v[i].stack : 0;
			add_stack(&b, stack, aggs.v[i].tid, aggs.v[i].value);
		}
		hashmap_release(&index);
		vec_free(&aggs);
	}
	vec_free(&b.path);
	free(b.strmap);
	free(b.focus_hit);
	free(b.excl_hit);
	free(b.origin_of);
	free(b.fnode_of);
	flame_tree_finish(t);
	return 0;
}

static int name_cmp(const void *x, const void *y, void *ctx)
{
	const struct strtab *st = ctx;
	return strcmp(strtab_get(st, *(const uint32_t *)x), strtab_get(st, *(const uint32_t *)y));
}

/* Each string id's place in name order; the caller frees it. */
static uint32_t *name_ranks(const struct flame_tree *t)
{
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *by_name = xmalloc(((size_t)nstr + 1) * sizeof(*by_name));
	uint32_t *rank = xmalloc(((size_t)nstr + 1) * sizeof(*rank));
	for (uint32_t i = 0; i < nstr; i++)
		by_name[i] = i;
	qsort_r(by_name, nstr, sizeof(*by_name), name_cmp, (void *)&t->strings);
	for (uint32_t r = 0; r < nstr; r++)
		rank[by_name[r]] = r;
	free(by_name);
	return rank;
}

static uint32_t rank_of(const uint32_t *rank, uint32_t nstr, uint32_t name)
{
	return rank[name < nstr ? name : 0]; /* an id out of range reads as "", id 0 */
}

/* Sums every node's value from the self values. */
static void sum_values(struct flame_tree *t)
{
	size_t n = t->nodes.n;
	/* children always come after their parent in t->nodes */
	for (size_t i = 0; i < n; i++)
		t->nodes.v[i].value = t->nodes.v[i].self;
	for (size_t i = n; i-- > 1;)
		t->nodes.v[t->nodes.v[i].parent].value += t->nodes.v[i].value;
}

void flame_tree_finish(struct flame_tree *t)
{
	size_t n = t->nodes.n;
	sum_values(t);
	flame_tree_resolve_origins(t);
	if (t->chart)
		return; /* linked in time order as they came */
	for (size_t i = 0; i < n; i++)
		t->nodes.v[i].first_child = t->nodes.v[i].next_sibling = t->nodes.v[i].last_child = FLAME_NONE;
	if (n < 2)
		return;
	/* children in name order: the names are ranked once, then the nodes are
	 * counting-sorted by rank and appended to their parents' lists in that
	 * order; far cheaper than comparing names for every node */
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *rank = name_ranks(t);
	uint32_t *start = xcalloc((size_t)nstr + 1, sizeof(*start)); /* of each rank in order */
	for (size_t i = 1; i < n; i++)
		start[rank_of(rank, nstr, t->nodes.v[i].name) + 1]++;
	for (uint32_t r = 0; r < nstr; r++)
		start[r + 1] += start[r];
	uint32_t *order = xmalloc((n - 1) * sizeof(*order));
	for (size_t i = 1; i < n; i++)
		order[start[rank_of(rank, nstr, t->nodes.v[i].name)]++] = (uint32_t)i;
	for (size_t i = 0; i < n - 1; i++) {
		struct flame_node *c = &t->nodes.v[order[i]];
		struct flame_node *parent = &t->nodes.v[c->parent];
		if (parent->first_child == FLAME_NONE)
			parent->first_child = order[i];
		else
			t->nodes.v[parent->last_child].next_sibling = order[i];
		parent->last_child = order[i];
	}
	free(order);
	free(start);
	free(rank);
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* flame_tree_finish() for a tree built by flame_folded_add(): the children
 * lists are already there (newest first, counted in last_child), so each is
 * only sorted by name, touching nodes that are only children not at all. */
static void folded_link(struct flame_tree *t)
{
	sum_values(t);
	flame_tree_resolve_origins(t);
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *rank = name_ranks(t);
	VEC(uint64_t) kids = {0}; /* rank << 32 | node: ids are unique, so no ties */
	struct flame_node *nv = t->nodes.v;
	for (size_t p = 0; p < t->nodes.n; p++) {
		uint32_t count = nv[p].last_child;
		if (count == 0) {
			nv[p].first_child = nv[p].last_child = FLAME_NONE;
			continue;
		}
		if (count == 1) { /* its next_sibling is FLAME_NONE already */
			nv[p].last_child = nv[p].first_child;
			continue;
		}
		vec_clear(&kids);
		for (uint32_t c = nv[p].first_child; c != FLAME_NONE; c = nv[c].next_sibling) {
			uint64_t k = (uint64_t)rank_of(rank, nstr, nv[c].name) << 32 | c;
			vec_push(&kids, k);
		}
		if (kids.n > 16) {
			qsort(kids.v, kids.n, sizeof(*kids.v), u64_cmp);
		} else {
			for (size_t i = 1; i < kids.n; i++) {
				uint64_t k = kids.v[i];
				size_t j = i;
				for (; j > 0 && kids.v[j - 1] > k; j--)
					kids.v[j] = kids.v[j - 1];
				kids.v[j] = k;
			}
		}
		nv[p].first_child = (uint32_t)kids.v[0];
		for (size_t i = 0; i + 1 < kids.n; i++)
			nv[(uint32_t)kids.v[i]].next_sibling = (uint32_t)kids.v[i + 1];
		nv[p].last_child = (uint32_t)kids.v[kids.n - 1];
		nv[nv[p].last_child].next_sibling = FLAME_NONE;
	}
	vec_free(&kids);
	free(rank);
}

void flame_tree_set_base(struct flame_tree *t, const struct flame_tree *base)
{
	size_t n = t->nodes.n;
	uint32_t *match = xmalloc(n * sizeof(*match));
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *names = xmalloc((nstr + 1) * sizeof(*names));
	for (uint32_t i = 0; i < nstr; i++)
		names[i] = strtab_find(&base->strings, strtab_get(&t->strings, i));
	match[0] = 0;
	t->nodes.v[0].base = base->nodes.v[0].value;
	const struct hashmap *index = &base->index;
	struct hashmap built;
	hashmap_init(&built);
	if (base->no_index && !base->chart) {
		for (size_t i = 1; i < base->nodes.n; i++) {
			uint64_t key = nokey(hash_mix(base->nodes.v[i].parent, base->nodes.v[i].name));
			while (hashmap_get(&built, key, NULL))
				key = nokey(hash_u64(key + 1));
			hashmap_put(&built, key, i);
		}
		index = &built;
	}
	/* parents precede their children in t->nodes */
	for (size_t i = 1; i < n; i++) {
		struct flame_node *nd = &t->nodes.v[i];
		uint32_t bp = match[nd->parent], bname = names[nd->name];
		match[i] = FLAME_NONE;
		nd->base = 0;
		if (bp == FLAME_NONE || bname == UINT32_MAX)
			continue;
		if (base->chart) {
			for (uint32_t c = base->nodes.v[bp].first_child; c != FLAME_NONE;
			     c = base->nodes.v[c].next_sibling)
				if (base->nodes.v[c].name == bname) {
					match[i] = c;
					break;
				}
		} else {
			uint64_t key = nokey(hash_mix(bp, bname)), id;
			while (hashmap_get(index, key, &id)) {
				const struct flame_node *bn = &base->nodes.v[id];
				if (bn->parent == bp && bn->name == bname) {
					match[i] = (uint32_t)id;
					break;
				}
				key = nokey(hash_u64(key + 1));
			}
		}
		if (match[i] != FLAME_NONE)
			nd->base = base->nodes.v[match[i]].value;
	}
	t->base_total = base->nodes.v[0].value;
	t->has_base = true;
	hashmap_release(&built);
	free(names);
	free(match);
}
