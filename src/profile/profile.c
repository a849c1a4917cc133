/* profile.c - the in-memory profile model and its deduplication. */
#include "profile/profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct profile *profile_new(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	strtab_init(&p->strings);
	hashmap_init(&p->stack_index);
	keymap_init(&p->location_index);
	hashmap_init(&p->thread_index);
	struct profile_stack_node root = {0, 0, 0};
	vec_push(&p->stacks, root);
	p->stacks_indexed = 1; /* the root is never a child */
	return p;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	strtab_release(&p->strings);
	vec_free(&p->value_types);
	vec_free(&p->samples);
	vec_free(&p->stacks);
	vec_free(&p->locations);
	vec_free(&p->frames);
	vec_free(&p->threads);
	vec_free(&p->mappings);
	vec_free(&p->meta);
	for (size_t i = 0; i < p->series.n; i++)
		vec_free(&p->series.v[i].points);
	vec_free(&p->series);
	hashmap_release(&p->stack_index);
	keymap_release(&p->location_index);
	hashmap_release(&p->thread_index);
	free(p);
}

#define VEC_BYTES(x) ((x).cap * sizeof(*(x).v))

size_t profile_bytes(const struct profile *p)
{
	size_t n = sizeof(*p) + strtab_bytes(&p->strings) + VEC_BYTES(p->value_types) + VEC_BYTES(p->samples) +
	           VEC_BYTES(p->stacks) + VEC_BYTES(p->locations) + VEC_BYTES(p->frames) + VEC_BYTES(p->threads) +
	           VEC_BYTES(p->mappings) + VEC_BYTES(p->meta) + VEC_BYTES(p->series) + hashmap_bytes(&p->stack_index) +
	           keymap_bytes(&p->location_index) + hashmap_bytes(&p->thread_index);
	for (size_t i = 0; i < p->series.n; i++)
		n += VEC_BYTES(p->series.v[i].points);
	return n;
}

uint32_t profile_intern(struct profile *p, const char *s)
{
	return strtab_intern(&p->strings, s);
}

const char *profile_str(const struct profile *p, uint32_t id)
{
	return strtab_get(&p->strings, id);
}

int profile_add_value_type(struct profile *p, const char *type, const char *unit)
{
	if (p->value_types.n >= PROFILE_MAX_VALUES)
		return -1;
	struct profile_value_type vt = {profile_intern(p, type), profile_intern(p, unit)};
	vec_push(&p->value_types, vt);
	return (int)p->value_types.n - 1;
}

uint32_t profile_add_mapping(struct profile *p, const struct profile_mapping *m)
{
	vec_push(&p->mappings, *m);
	return (uint32_t)p->mappings.n - 1;
}

static uint64_t location_hash(uint32_t mapping, uint64_t address, uint8_t kind)
{
	return hash_mix(((uint64_t)mapping << 8) | kind, address);
}

static bool location_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct profile_location *l = &((const struct profile *)ctx)->locations.v[id], *k = key;
	return l->mapping == k->mapping && l->address == k->address && l->kind == k->kind;
}

uint32_t profile_location(struct profile *p, uint32_t mapping, uint64_t address, enum profile_location_kind kind)
{
	struct profile_location k = {.address = address, .mapping = mapping, .kind = (uint8_t)kind};
	uint64_t h = location_hash(mapping, address, k.kind);
	uint32_t id = keymap_find(&p->location_index, h, location_eq, p, &k);
	if (id != KEYMAP_NONE)
		return id;
	struct profile_location *l = vec_grow(&p->locations);
	l->address = address;
	l->mapping = mapping;
	l->kind = (uint8_t)kind;
	id = (uint32_t)p->locations.n - 1;
	keymap_add(&p->location_index, h, id);
	return id;
}

static uint64_t stack_key(uint32_t parent, uint32_t location)
{
	/* (parent, location) fits one 64-bit key exactly: no clash possible. */
	return ((uint64_t)parent << 32) | location;
}

/* Indexes the nodes appended since the index was last complete. A later
 * node with the same (parent, location) as an earlier one wins, as a
 * rebuild from scratch would have it. */
static void stack_index_catch_up(struct profile *p)
{
	size_t from = p->stacks_indexed ? p->stacks_indexed : 1;
	hashmap_reserve(&p->stack_index, p->stack_index.n + (p->stacks.n - from) + 1);
	for (size_t i = from; i < p->stacks.n; i++) {
		const struct profile_stack_node *n = &p->stacks.v[i];
		hashmap_put(&p->stack_index, stack_key(n->parent, n->location), i);
	}
	p->stacks_indexed = p->stacks.n;
}

uint32_t profile_stack_child(struct profile *p, uint32_t parent, uint32_t location)
{
	if (p->stacks_indexed < p->stacks.n)
		stack_index_catch_up(p);
	uint64_t key = stack_key(parent, location), id;
	if (hashmap_get(&p->stack_index, key, &id))
		return (uint32_t)id;
	struct profile_stack_node n = {parent, location, p->stacks.v[parent].depth + 1};
	vec_push(&p->stacks, n);
	id = p->stacks.n - 1;
	hashmap_put(&p->stack_index, key, id);
	p->stacks_indexed = p->stacks.n;
	return (uint32_t)id;
}

uint32_t profile_stack_append(struct profile *p, uint32_t parent, uint32_t location)
{
	struct profile_stack_node n = {parent, location, p->stacks.v[parent].depth + 1};
	vec_push(&p->stacks, n);
	return (uint32_t)(p->stacks.n - 1); /* indexed on the next profile_stack_child() */
}

uint32_t profile_stack_from_leaf(struct profile *p, const uint32_t *locs, uint32_t n)
{
	uint32_t node = 0;
	for (uint32_t i = n; i-- > 0;)
		node = profile_stack_child(p, node, locs[i]);
	return node;
}

void profile_add_sample(struct profile *p, const struct profile_sample *s)
{
	vec_push(&p->samples, *s);
}

/* Past this many the buffer is given back: a long pause between flushes
 * must not keep its peak for the rest of the recording. */
#define SAMPLES_KEEP_CAP 65536

void profile_clear_samples(struct profile *p)
{
	if (p->samples.cap > SAMPLES_KEEP_CAP)
		vec_free(&p->samples);
	vec_clear(&p->samples);
}

void profile_clear_stacks(struct profile *p)
{
	profile_clear_samples(p);
	p->stacks.n = 1;
	hashmap_clear(&p->stack_index);
	p->stacks_indexed = 1;
}

struct profile_thread *profile_thread(struct profile *p, uint32_t tid, uint32_t pid)
{
	uint64_t id;
	if (hashmap_get(&p->thread_index, tid, &id))
		return &p->threads.v[id];
	struct profile_thread *t = vec_grow(&p->threads);
	t->tid = tid;
	t->pid = pid;
	hashmap_put(&p->thread_index, tid, p->threads.n - 1);
	return t;
}

const struct profile_thread *profile_find_thread(const struct profile *p, uint32_t tid)
{
	uint64_t id;
	return hashmap_get(&p->thread_index, tid, &id) ? &p->threads.v[id] : NULL;
}

void profile_set_location_frames(struct profile *p, uint32_t location, const struct profile_frame *frames, uint32_t n)
{
	struct profile_location *l = &p->locations.v[location];
	l->first_frame = (uint32_t)p->frames.n;
	l->nframes = n;
	for (uint32_t i = 0; i < n; i++)
		vec_push(&p->frames, frames[i]);
}

uint32_t profile_copy_str(struct profile *to, const struct profile *from, uint32_t id)
{
	return id ? profile_intern(to, profile_str(from, id)) : 0;
}

void profile_copy_location_frames(struct profile *to, uint32_t to_loc, const struct profile *from, uint32_t from_loc)
{
	const struct profile_location *l = &from->locations.v[from_loc];
	struct profile_location *d = &to->locations.v[to_loc];
	d->first_frame = (uint32_t)to->frames.n;
	d->nframes = l->nframes;
	d->vaddr = l->vaddr;
	d->has_vaddr = l->has_vaddr;
	for (uint32_t k = 0; k < l->nframes; k++) {
		struct profile_frame f = from->frames.v[l->first_frame + k];
		f.function = profile_copy_str(to, from, f.function);
		f.file = profile_copy_str(to, from, f.file);
		f.module = profile_copy_str(to, from, f.module);
		f.alias = profile_copy_str(to, from, f.alias);
		vec_push(&to->frames, f);
	}
}

uint32_t profile_add_series(struct profile *p, const char *name, const char *unit)
{
	struct profile_series *s = vec_grow(&p->series);
	s->name = profile_intern(p, name);
	s->unit = profile_intern(p, unit);
	return (uint32_t)p->series.n - 1;
}

void profile_series_add(struct profile *p, uint32_t series, uint64_t time, int64_t value)
{
	struct profile_series_point pt = {time, value};
	vec_push(&p->series.v[series].points, pt);
}

const struct profile_series *profile_find_series(const struct profile *p, const char *name)
{
	uint32_t id = strtab_find(&p->strings, name);
	for (size_t i = 0; id != UINT32_MAX && i < p->series.n; i++)
		if (p->series.v[i].name == id)
			return &p->series.v[i];
	return NULL;
}

void profile_set_meta(struct profile *p, const char *key, const char *value)
{
	uint32_t k = profile_intern(p, key), v = profile_intern(p, value);
	for (size_t i = 0; i < p->meta.n; i++) {
		if (p->meta.v[i].key == k) {
			p->meta.v[i].value = v;
			return;
		}
	}
	struct profile_meta m = {k, v};
	vec_push(&p->meta, m);
}

void profile_set_meta_u64(struct profile *p, const char *key, uint64_t value)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	profile_set_meta(p, key, buf);
}

const char *profile_get_meta(const struct profile *p, const char *key)
{
	uint32_t k = strtab_find(&p->strings, key);
	if (k == UINT32_MAX)
		return NULL;
	for (size_t i = 0; i < p->meta.n; i++)
		if (p->meta.v[i].key == k)
			return profile_str(p, p->meta.v[i].value);
	return NULL;
}

uint64_t profile_get_meta_u64(const struct profile *p, const char *key, uint64_t dflt)
{
	const char *v = profile_get_meta(p, key);
	if (!v || !*v)
		return dflt;
	char *end;
	unsigned long long x = strtoull(v, &end, 10);
	return *end ? dflt : (uint64_t)x;
}

int profile_walk_stack(const struct profile *p, uint32_t node, profile_frame_fn fn, void *ctx)
{
	/* The trie links leaf to root; collect the path, then walk it root first. */
	uint32_t depth = node < p->stacks.n ? p->stacks.v[node].depth : 0;
	uint32_t small[256];
	uint32_t *path = depth <= 256 ? small : xmalloc(depth * sizeof(*path));
	uint32_t n = 0;
	for (uint32_t i = node; i != 0 && n < depth; i = p->stacks.v[i].parent)
		path[n++] = p->stacks.v[i].location;
	int rc = 0;
	for (uint32_t i = n; i-- > 0 && !rc;) {
		uint32_t loc = path[i];
		const struct profile_location *l = &p->locations.v[loc];
		if (!l->nframes) {
			struct profile_frame f = {0};
			rc = fn(ctx, &f, loc);
			continue;
		}
		/* frames are stored innermost first: walk them backwards */
		for (uint32_t j = l->nframes; j-- > 0 && !rc;)
			rc = fn(ctx, &p->frames.v[l->first_frame + j], loc);
	}
	if (path != small)
		free(path);
	return rc;
}

struct frame_array {
	VEC(struct profile_frame) f;
};

static int frame_append(void *ctx, const struct profile_frame *f, uint32_t location)
{
	(void)location;
	struct frame_array *a = ctx;
	vec_push(&a->f, *f);
	return 0;
}

size_t profile_stack_frames(const struct profile *p, uint32_t node, struct profile_frame **out)
{
	struct frame_array a = {0};
	profile_walk_stack(p, node, frame_append, &a);
	*out = a.f.v;
	return a.f.n;
}

const char *profile_module_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

char *profile_addr_name(char *buf, size_t size, const char *module, uint64_t off)
{
	snprintf(buf, size, "%s+0x%" PRIx64, module, off);
	return buf;
}

const char *profile_cut_name(uint64_t address)
{
	switch (address) {
	case PROFILE_CUT_NOT_COPIED:
		return "[stack not copied]";
	case PROFILE_CUT_EXEC:
		return "[cut by exec]";
	default:
		return "[truncated]";
	}
}

void profile_name_unsymbolized(struct profile *p)
{
	char buf[512];
	for (size_t i = 0; i < p->locations.n; i++) {
		struct profile_location *l = &p->locations.v[i];
		if (l->nframes)
			continue;
		struct profile_frame f = {0};
		if (l->kind == PROFILE_LOC_TRUNCATED) {
			f.function = profile_intern(p, profile_cut_name(l->address));
			profile_set_location_frames(p, (uint32_t)i, &f, 1);
			continue;
		}
		if (l->mapping != PROFILE_NO_MAPPING && l->mapping < p->mappings.n) {
			const struct profile_mapping *m = &p->mappings.v[l->mapping];
			const char *mod = profile_module_name(profile_str(p, m->path));
			f.module = profile_intern(p, mod);
			profile_addr_name(buf, sizeof(buf), mod, l->address - m->start + m->pgoff);
		} else {
			snprintf(buf, sizeof(buf), "0x%" PRIx64, l->address);
			if (l->kind == PROFILE_LOC_KERNEL)
				f.module = profile_intern(p, "[kernel.kallsyms]");
		}
		f.function = profile_intern(p, buf);
		profile_set_location_frames(p, (uint32_t)i, &f, 1);
	}
}

void profile_reindex(struct profile *p)
{
	hashmap_clear(&p->stack_index);
	keymap_clear(&p->location_index);
	hashmap_clear(&p->thread_index);
	p->stacks_indexed = 1; /* indexed again on the next profile_stack_child() */
	keymap_reserve(&p->location_index, p->locations.n);
	hashmap_reserve(&p->thread_index, p->threads.n);
	for (size_t i = 0; i < p->locations.n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		keymap_add(&p->location_index, location_hash(l->mapping, l->address, l->kind), (uint32_t)i);
	}
	for (size_t i = 0; i < p->threads.n; i++)
		hashmap_put(&p->thread_index, p->threads.v[i].tid, i);
}

void profile_reserve_stack_index(struct profile *p, size_t stacks)
{
	if (p->stacks_indexed < p->stacks.n)
		stack_index_catch_up(p);
	hashmap_reserve(&p->stack_index, stacks);
}

void profile_reserve(struct profile *p, size_t stacks, size_t samples, size_t locations)
{
	if (stacks)
		vec_reserve(&p->stacks, stacks);
	if (samples)
		vec_reserve(&p->samples, samples);
	if (locations) {
		vec_reserve(&p->locations, locations);
		keymap_reserve(&p->location_index, locations);
	}
}
