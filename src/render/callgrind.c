/* callgrind.c - callgrind's format from a profile (callgrind.h). */
#include "render/callgrind.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "util/hashmap.h"
#include "util/vec.h"

struct cg_cost {
	uint32_t fn, file, line; /* self: the line; an edge: the call's line */
	uint32_t callee, callee_file;
	int64_t v[PROFILE_MAX_VALUES];
	int64_t calls; /* an edge's: the calls that entered the callee */
};

/* callgrind's names for kiln's value types, so cg tools know them */
static const char *event_name(const char *type)
{
	static const struct {
		const char *kiln, *cg;
	} names[] = {{"instructions", "Ir"},      {"i1_misses", "I1mr"},      {"d1_read_misses", "D1mr"},
	             {"d1_write_misses", "D1mw"}, {"ll_read_misses", "LLmr"}, {"ll_write_misses", "LLmw"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(type, names[i].kiln))
			return names[i].cg;
	return type;
}

static int cmp_cost(const void *a, const void *b)
{
	const struct cg_cost *x = a, *y = b;
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	if (x->callee != y->callee)
		return x->callee < y->callee ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static void add(struct hashmap *m, void *vp, uint64_t key, const struct cg_cost *c, size_t nv)
{
	VEC(struct cg_cost) *v = vp;
	uint64_t idx;
	if (!hashmap_get(m, key, &idx)) {
		idx = v->n;
		vec_push(v, *c);
		hashmap_put(m, key, idx);
		memset(v->v[idx].v, 0, sizeof(v->v[idx].v));
	}
	for (size_t i = 0; i < nv; i++)
		v->v[idx].v[i] += c->v[i];
}

static void name_out(FILE *f, const char *kind, uint32_t id, const struct profile *p, uint8_t *seen)
{
	if (seen[id]) {
		fprintf(f, "%s=(%u)\n", kind, id + 1);
		return;
	}
	seen[id] = 1;
	const char *s = profile_str(p, id);
	fprintf(f, "%s=(%u) %s\n", kind, id + 1, *s ? s : "???");
}

/* The value type "calls" (kiln count's), or -1. */
static int calls_value(const struct profile *p)
{
	int v = hotspots_value_index(p, "calls");
	return v >= 0 && v < PROFILE_MAX_VALUES ? v : -1;
}

/* The values but calls, which callgrind writes as calls= lines. */
static void costs_out(FILE *f, const int64_t *v, size_t nv, int calls_v)
{
	for (size_t k = 0; k < nv; k++)
		if ((int)k != calls_v)
			fprintf(f, " %" PRId64, v[k]);
	fputc('\n', f);
}

int callgrind_write(FILE *f, const struct profile *p)
{
	size_t nv = p->value_types.n;
	int calls_v = calls_value(p);
	VEC(struct cg_cost) self = {0}, edges = {0};
	struct hashmap self_ix, edge_ix;
	hashmap_init(&self_ix);
	hashmap_init(&edge_ix);
	int64_t totals[PROFILE_MAX_VALUES] = {0};
	VEC(uint64_t) seen_edges = {0};
	for (size_t s = 0; s < p->samples.n; s++) {
		const struct profile_sample *smp = &p->samples.v[s];
		struct profile_frame *fr = NULL;
		size_t n = profile_stack_frames(p, smp->stack, &fr);
		/* keep the real frames: an inlined frame's cost is its function's */
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!fr[i].inlined)
				fr[k++] = fr[i];
		n = k;
		for (size_t i = 0; i < nv; i++)
			totals[i] += smp->values[i];
		if (n) {
			struct cg_cost c = {fr[n - 1].function, fr[n - 1].file, fr[n - 1].line, 0, 0, {0}, 0};
			memcpy(c.v, smp->values, sizeof(c.v));
			add(&self_ix, &self, ((uint64_t)c.fn << 32) | c.line, &c, nv);
		}
		seen_edges.n = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			if (fr[i].function == fr[i + 1].function)
				continue; /* recursion: its cost is the function's own */
			uint64_t key = ((uint64_t)fr[i].function << 32) | fr[i + 1].function;
			bool dup = false;
			for (size_t j = 0; j < seen_edges.n && !dup; j++)
				dup = seen_edges.v[j] == key;
			if (dup)
				continue;
			vec_push(&seen_edges, key);
			struct cg_cost c = {fr[i].function, fr[i].file, fr[i].line, fr[i + 1].function,
			                    fr[i + 1].file, {0},        0};
			memcpy(c.v, smp->values, sizeof(c.v));
			add(&edge_ix, &edges, key, &c, nv);
		}
		/* a function's entry holds the calls that entered it from the
		 * frame above: that edge's calls */
		uint64_t idx;
		if (calls_v >= 0 && smp->values[calls_v] && n >= 2 && fr[n - 2].function != fr[n - 1].function &&
		    hashmap_get(&edge_ix, ((uint64_t)fr[n - 2].function << 32) | fr[n - 1].function, &idx))
			edges.v[idx].calls += smp->values[calls_v];
		free(fr);
	}
	if (self.n)
		qsort(self.v, self.n, sizeof(*self.v), cmp_cost);
	if (edges.n)
		qsort(edges.v, edges.n, sizeof(*edges.v), cmp_cost);

	fprintf(f, "# callgrind format\nversion: 1\ncreator: kiln\n");
	const char *cmd = profile_get_meta(p, "command");
	fprintf(f, "cmd: %s\npositions: line\nevents:", cmd ? cmd : "");
	for (size_t i = 0; i < nv; i++)
		if ((int)i != calls_v)
			fprintf(f, " %s", event_name(profile_str(p, p->value_types.v[i].type)));
	fputc('\n', f);
	uint8_t *fn_seen = calloc(p->strings.strs.n + 1, 1), *fl_seen = calloc(p->strings.strs.n + 1, 1);
	if (!fn_seen || !fl_seen)
		abort();
	size_t e = 0;
	for (size_t i = 0; i < self.n || e < edges.n;) {
		/* one function at a time: its lines, then its calls */
		uint32_t fn =
		    i < self.n && (e >= edges.n || self.v[i].fn <= edges.v[e].fn) ? self.v[i].fn : edges.v[e].fn;
		uint32_t file = i < self.n && self.v[i].fn == fn ? self.v[i].file : edges.v[e].file;
		fputc('\n', f);
		name_out(f, "fl", file, p, fl_seen);
		name_out(f, "fn", fn, p, fn_seen);
		for (; i < self.n && self.v[i].fn == fn; i++) {
			fprintf(f, "%u", self.v[i].line);
			costs_out(f, self.v[i].v, nv, calls_v);
		}
		for (; e < edges.n && edges.v[e].fn == fn; e++) {
			name_out(f, "cfi", edges.v[e].callee_file, p, fl_seen);
			name_out(f, "cfn", edges.v[e].callee, p, fn_seen);
			/* a sampled profile has no counts of calls: one each */
			fprintf(f, "calls=%" PRId64 " 0\n%u", calls_v >= 0 ? edges.v[e].calls : 1, edges.v[e].line);
			costs_out(f, edges.v[e].v, nv, calls_v);
		}
	}
	fprintf(f, "\ntotals:");
	costs_out(f, totals, nv, calls_v);
	free(fn_seen);
	free(fl_seen);
	vec_free(&self);
	vec_free(&edges);
	vec_free(&seen_edges);
	hashmap_release(&self_ix);
	hashmap_release(&edge_ix);
	return ferror(f) ? -EIO : 0;
}
