/* annotate.c - one function's value per source line and per address, for
 * `kiln annotate`. Samples are classified by their leaf location (self or
 * inlined, see annotate.h) or by the nearest stack node whose location has
 * the function (calls); both are memoised, so the work is proportional to
 * the samples plus the distinct locations and stack nodes.
 */
#include "analysis/annotate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

#define NONE  UINT32_MAX
#define UNSET (UINT32_MAX - 1)

struct builder {
	const struct profile *p;
	struct annotate *a;
	uint32_t *loc_k;     /* per location: innermost frame index of the function, NONE, or UNSET */
	uint32_t *node_near; /* per stack node: nearest node (itself or an ancestor) with the function */
	int64_t *loc_value;  /* per location: self/inlined value with it as the leaf */
	uint64_t *loc_samples;
	int64_t *loc_calls;        /* per location: calls value through it */
	struct hashmap line_index; /* (file << 32 | line) -> line index */
};

/* Innermost frame of location loc that is the function, or NONE. */
static uint32_t loc_k(struct builder *b, uint32_t loc)
{
	const struct profile *p = b->p;
	if (loc >= p->locations.n)
		return NONE;
	if (b->loc_k[loc] != UNSET)
		return b->loc_k[loc];
	const struct profile_location *l = &p->locations.v[loc];
	uint32_t k = NONE;
	if ((uint64_t)l->first_frame + l->nframes <= p->frames.n) {
		for (uint32_t j = 0; j < l->nframes; j++) {
			const struct profile_frame *f = &p->frames.v[l->first_frame + j];
			if (f->function == b->a->function && f->module == b->a->module) {
				k = j;
				break;
			}
		}
	}
	b->loc_k[loc] = k;
	return k;
}

/* Nearest node from `node` up to the root whose location has the function;
 * NONE when there is none. Memoised along the whole path. */
static uint32_t near_node(struct builder *b, uint32_t node)
{
	const struct profile *p = b->p;
	VEC(uint32_t) path = {0};
	uint32_t i = node, found = NONE;
	while (i && i < p->stacks.n && path.n <= p->stacks.n) {
		if (b->node_near[i] != UNSET) {
			found = b->node_near[i];
			break;
		}
		if (loc_k(b, p->stacks.v[i].location) != NONE) {
			found = i;
			break;
		}
		vec_push(&path, i);
		i = p->stacks.v[i].parent;
	}
	for (size_t k = 0; k < path.n; k++)
		b->node_near[path.v[k]] = found;
	if (i && i < p->stacks.n)
		b->node_near[i] = found;
	vec_free(&path);
	return found;
}

static uint32_t line_of(struct builder *b, uint32_t file, uint32_t line)
{
	struct annotate *a = b->a;
	uint64_t key = ((uint64_t)file << 32) | line, id;
	if (hashmap_get(&b->line_index, key, &id))
		return (uint32_t)id;
	struct annotate_line *l = vec_grow(&a->lines);
	l->file = file;
	l->line = line;
	id = a->lines.n - 1;
	hashmap_put(&b->line_index, key, id);
	return (uint32_t)id;
}

static const struct profile_frame *frame_at(const struct profile *p, uint32_t loc, uint32_t k)
{
	return &p->frames.v[p->locations.v[loc].first_frame + k];
}

struct addr_ref {
	uint32_t line;
	uint32_t loc;
	int64_t value;
};

static int cmp_addr_ref(const void *x, const void *y)
{
	const struct addr_ref *a = x, *b = y;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return a->loc < b->loc ? -1 : a->loc > b->loc;
}

static int cmp_line_pos(const void *x, const void *y)
{
	const struct annotate_line *a = x, *b = y;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Turns the per-location sums into lines and addresses. */
static void build_lines(struct builder *b)
{
	const struct profile *p = b->p;
	struct annotate *a = b->a;
	VEC(struct addr_ref) refs = {0};
	VEC(int64_t) callee_best = {0};
	for (uint32_t loc = 0; loc < p->locations.n; loc++) {
		if (!b->loc_samples[loc] && !b->loc_calls[loc])
			continue;
		uint32_t k = loc_k(b, loc);
		const struct profile_frame *f = frame_at(p, loc, k);
		uint32_t li = line_of(b, f->line ? f->file : 0, f->line);
		while (callee_best.n < a->lines.n)
			vec_push(&callee_best, 0);
		struct annotate_line *l = &a->lines.v[li];
		l->calls += b->loc_calls[loc];
		if (!b->loc_samples[loc])
			continue;
		l->samples += b->loc_samples[loc];
		if (k == 0) {
			l->self += b->loc_value[loc];
		} else {
			l->inlined += b->loc_value[loc];
			if (!l->callee || b->loc_value[loc] > callee_best.v[li]) {
				l->callee = frame_at(p, loc, k - 1)->function;
				callee_best.v[li] = b->loc_value[loc];
			}
		}
		struct addr_ref r = {li, loc, b->loc_value[loc]};
		vec_push(&refs, r);
	}

	/* sort lines by position, remapping the address references */
	uint32_t *pos = xmalloc((a->lines.n ? a->lines.n : 1) * sizeof(*pos));
	for (size_t i = 0; i < a->lines.n; i++)
		a->lines.v[i].first_addr = (uint32_t)i; /* remember the old index */
	if (a->lines.n > 1)
		qsort(a->lines.v, a->lines.n, sizeof(*a->lines.v), cmp_line_pos);
	for (size_t i = 0; i < a->lines.n; i++)
		pos[a->lines.v[i].first_addr] = (uint32_t)i;
	for (size_t i = 0; i < refs.n; i++)
		refs.v[i].line = pos[refs.v[i].line];
	if (refs.n > 1)
		qsort(refs.v, refs.n, sizeof(*refs.v), cmp_addr_ref);
	for (size_t i = 0; i < a->lines.n; i++)
		a->lines.v[i].first_addr = 0;
	for (size_t i = 0; i < refs.n; i++) {
		struct annotate_line *l = &a->lines.v[refs.v[i].line];
		if (!l->naddrs)
			l->first_addr = (uint32_t)a->addrs.n;
		l->naddrs++;
		const struct profile_location *pl = &p->locations.v[refs.v[i].loc];
		struct annotate_addr *ad = vec_grow(&a->addrs);
		ad->address = pl->address;
		ad->offset = pl->address;
		if (pl->mapping < p->mappings.n) {
			const struct profile_mapping *m = &p->mappings.v[pl->mapping];
			if (pl->address >= m->start)
				ad->offset = pl->address - m->start + m->pgoff;
		}
		ad->has_vaddr = pl->has_vaddr;
		ad->mapping = pl->mapping;
		ad->vaddr = pl->has_vaddr ? pl->vaddr : ad->offset;
		ad->value = refs.v[i].value;
		ad->samples = b->loc_samples[refs.v[i].loc];
	}
	free(pos);
	vec_free(&refs);
	vec_free(&callee_best);
}

/* The main source file (most value, then most lines) and its line range. */
static void pick_file(struct annotate *a)
{
	int64_t best_value = -1;
	size_t best_lines = 0;
	for (size_t i = 0; i < a->lines.n;) {
		size_t j = i, nlines = 0;
		int64_t v = 0;
		for (; j < a->lines.n && a->lines.v[j].file == a->lines.v[i].file; j++) {
			v += annotate_line_value(&a->lines.v[j]);
			nlines++;
		}
		if (a->lines.v[i].file && (v > best_value || (v == best_value && nlines > best_lines))) {
			best_value = v;
			best_lines = nlines;
			a->file = a->lines.v[i].file;
			a->first_line = a->lines.v[i].line;
			a->last_line = a->lines.v[j - 1].line;
		}
		i = j;
	}
}

int annotate_build(struct annotate *a, const struct profile *p, int value_index, uint32_t function, uint32_t module)
{
	memset(a, 0, sizeof(*a));
	a->profile = p;
	if (value_index == HOTSPOTS_VALUE_SAMPLES) {
		a->value_type = "samples";
		a->value_unit = "count";
	} else if (value_index >= 0 && (size_t)value_index < p->value_types.n) {
		a->value_type = profile_str(p, p->value_types.v[value_index].type);
		a->value_unit = profile_str(p, p->value_types.v[value_index].unit);
	} else {
		return -EINVAL;
	}
	a->value_index = value_index;
	a->function = function;
	a->module = module;

	struct builder b = {.p = p, .a = a};
	size_t nloc = p->locations.n ? p->locations.n : 1, nnode = p->stacks.n ? p->stacks.n : 1;
	b.loc_k = xmalloc(nloc * sizeof(*b.loc_k));
	b.node_near = xmalloc(nnode * sizeof(*b.node_near));
	for (size_t i = 0; i < nloc; i++)
		b.loc_k[i] = UNSET;
	for (size_t i = 0; i < nnode; i++)
		b.node_near[i] = UNSET;
	b.loc_value = xcalloc(nloc, sizeof(*b.loc_value));
	b.loc_samples = xcalloc(nloc, sizeof(*b.loc_samples));
	b.loc_calls = xcalloc(nloc, sizeof(*b.loc_calls));
	hashmap_init(&b.line_index);

	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		int64_t v = value_index == HOTSPOTS_VALUE_SAMPLES ? 1 : s->values[value_index];
		a->total += v;
		a->total_samples++;
		uint32_t node = s->stack;
		if (!node || node >= p->stacks.n)
			continue;
		uint32_t loc = p->stacks.v[node].location;
		if (loc_k(&b, loc) != NONE) {
			b.loc_value[loc] += v;
			b.loc_samples[loc]++;
			a->samples++;
			continue;
		}
		uint32_t near = near_node(&b, p->stacks.v[node].parent);
		if (near != NONE)
			b.loc_calls[p->stacks.v[near].location] += v;
	}

	build_lines(&b);
	for (size_t i = 0; i < a->lines.n; i++) {
		a->self += a->lines.v[i].self;
		a->inlined += a->lines.v[i].inlined;
		a->calls += a->lines.v[i].calls;
	}
	pick_file(a);

	hashmap_release(&b.line_index);
	free(b.loc_k);
	free(b.node_near);
	free(b.loc_value);
	free(b.loc_samples);
	free(b.loc_calls);
	return 0;
}

void annotate_release(struct annotate *a)
{
	if (!a)
		return;
	vec_free(&a->lines);
	vec_free(&a->addrs);
	vec_free(&a->insns);
}

static int cmp_insn(const void *x, const void *y)
{
	const struct annotate_insn *a = x, *b = y;
	return a->vaddr < b->vaddr ? -1 : a->vaddr > b->vaddr;
}

void annotate_set_insns(struct annotate *a, const struct annotate_insn *insns, size_t n,
                        bool (*in_module)(void *ctx, uint32_t mapping), void *ctx)
{
	vec_clear(&a->insns);
	a->insns_value = 0;
	vec_reserve(&a->insns, n);
	for (size_t i = 0; i < n; i++) {
		struct annotate_insn *in = vec_grow(&a->insns);
		*in = insns[i];
		in->value = 0;
		in->samples = 0;
	}
	/* the same address may stand in several lines' lists (one per
	 * process that mapped the module): add them all up */
	for (size_t i = 0; i < a->addrs.n; i++) {
		const struct annotate_addr *ad = &a->addrs.v[i];
		if (!ad->has_vaddr || !in_module(ctx, ad->mapping))
			continue;
		struct annotate_insn key = {.vaddr = ad->vaddr};
		struct annotate_insn *in = bsearch(&key, a->insns.v, a->insns.n, sizeof(key), cmp_insn);
		if (!in)
			continue;
		in->value += ad->value;
		in->samples += ad->samples;
		a->insns_value += ad->value;
	}
}

static int cmp_hot(const void *x, const void *y, void *ctx)
{
	const struct annotate *a = ctx;
	const struct annotate_line *l = &a->lines.v[*(const uint32_t *)x], *m = &a->lines.v[*(const uint32_t *)y];
	int64_t lv = annotate_line_value(l), mv = annotate_line_value(m);
	if (lv != mv)
		return lv > mv ? -1 : 1;
	return cmp_line_pos(l, m);
}

size_t annotate_hottest(const struct annotate *a, uint32_t *order)
{
	size_t n = 0;
	for (size_t i = 0; i < a->lines.n; i++)
		if (a->lines.v[i].samples)
			order[n++] = (uint32_t)i;
	if (n > 1)
		qsort_r(order, n, sizeof(*order), cmp_hot, (void *)a);
	return n;
}

const struct annotate_line *annotate_find_line(const struct annotate *a, uint32_t file, uint32_t line)
{
	size_t lo = 0, hi = a->lines.n;
	struct annotate_line key = {.file = file, .line = line};
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_line_pos(&a->lines.v[mid], &key);
		if (!c)
			return &a->lines.v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

double annotate_pct(const struct annotate *a, int64_t v)
{
	int64_t own = a->self + a->inlined;
	return own ? 100.0 * (double)v / (double)own : 0.0;
}

static bool ends_with_path(const char *name, const char *query)
{
	size_t n = strlen(name), q = strlen(query);
	return n > q + 2 && !strcmp(name + n - q, query) && name[n - q - 1] == ':' && name[n - q - 2] == ':';
}

size_t annotate_match_functions(const struct hotspots *h, const char *query, uint32_t *out, size_t max)
{
	for (int level = 0; level < 3; level++) {
		size_t n = 0;
		for (size_t i = 0; i < h->funcs.n; i++) {
			const char *name = profile_str(h->profile, h->funcs.v[i].name);
			bool hit = level == 0   ? !strcmp(name, query)
			           : level == 1 ? ends_with_path(name, query)
			                        : strstr(name, query) != NULL;
			if (!hit)
				continue;
			if (n < max)
				out[n] = (uint32_t)i;
			n++;
		}
		if (n)
			return n;
	}
	return 0;
}
