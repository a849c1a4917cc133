/* memcheck_report.c - builds what `kiln memcheck` shows from the decoded
 * records: symbolized stacks, leaks grouped into loss records,
 * suppressions applied (memcheck_report.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/mc_suppress.h"
#include "analysis/memcheck_report.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define MC_INLINE_MAX 8

const char *mc_kind_id(uint32_t kind)
{
	switch (kind) {
	case MC_OVERFLOW:
		return "heap-overflow";
	case MC_USE_AFTER_FREE:
		return "use-after-free";
	case MC_DOUBLE_FREE:
		return "double-free";
	case MC_INVALID_FREE:
		return "invalid-free";
	case MC_REALLOC_FREED:
		return "realloc-freed";
	case MC_SLACK_DAMAGE:
		return "slack-damage";
	case MC_MISMATCHED_FREE:
		return "mismatched-free";
	default:
		return NULL;
	}
}

const char *mc_leak_class_id(uint8_t cls)
{
	switch (cls) {
	case HEAP_LEAK_DEFINITE:
		return "definite";
	case HEAP_LEAK_INDIRECT:
		return "indirect";
	case HEAP_LEAK_POSSIBLE:
		return "possible";
	case HEAP_LEAK_REACHABLE:
		return "reachable";
	default:
		return NULL;
	}
}

int mc_leak_kinds_parse(const char *s, unsigned *mask)
{
	unsigned m = 0;
	if (!strcmp(s, "all")) {
		*mask = (1u << HEAP_LEAK_DEFINITE) | (1u << HEAP_LEAK_INDIRECT) | (1u << HEAP_LEAK_POSSIBLE) |
		        (1u << HEAP_LEAK_REACHABLE);
		return 0;
	}
	if (!strcmp(s, "none")) {
		*mask = 0;
		return 0;
	}
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		bool found = false;
		for (uint8_t c = HEAP_LEAK_REACHABLE; c <= HEAP_LEAK_DEFINITE; c++) {
			const char *id = mc_leak_class_id(c);
			if (strlen(id) == len && !strncmp(id, s, len)) {
				m |= 1u << c;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		s += len + (comma ? 1 : 0);
		if (comma && !*s)
			return -EINVAL;
	}
	if (!m)
		return -EINVAL;
	*mask = m;
	return 0;
}

/* A copy the report owns; NULL for NULL or "" (unknown either way). */
static const char *keep(struct mc_report *r, const char *s)
{
	if (!s || !*s)
		return NULL;
	if (r->n_strings == r->cap_strings) {
		r->cap_strings = r->cap_strings ? r->cap_strings * 2 : 64;
		r->strings = xreallocarray(r->strings, r->cap_strings, sizeof(*r->strings));
	}
	return r->strings[r->n_strings++] = xstrdup(s);
}

/* What was added, until mc_report_finish(). */
struct mc_pending_leak {
	uint8_t cls;
	uint32_t pid, n;
	uint64_t size;
	struct mc_place *f;
};

struct mc_pending_error {
	uint32_t n_access, n_alloc;
	struct mc_place *f;
};

struct mc_pending {
	VEC(struct mc_pending_leak) leaks;
	VEC(struct mc_pending_error) errors;
	VEC(struct mc_report_error) info;
};

/* The frames of one stack, inlined frames expanded, strings kept. */
static void stack_make(struct mc_report *r, struct mc_stack *out, const struct mc_place *f, size_t n,
                       mc_resolve_fn resolve, void *ctx)
{
	VEC(struct mc_sframe) v = {0};
	for (size_t i = 0; i < n; i++) {
		struct mc_sframe sf[MC_INLINE_MAX];
		memset(sf, 0, sizeof(sf));
		int got = f[i].module && resolve ? resolve(ctx, f[i].module, f[i].offset, sf, MC_INLINE_MAX) : 0;
		if (got <= 0)
			got = 1;
		const char *module = keep(r, f[i].module);
		for (int j = 0; j < got; j++) {
			struct mc_sframe *o = vec_grow(&v);
			o->addr = f[i].addr;
			o->function = keep(r, sf[j].function);
			o->file = keep(r, sf[j].file);
			o->line = sf[j].file ? sf[j].line : 0;
			o->module = module;
			o->offset = f[i].module ? f[i].offset : 0;
			o->inlined = j + 1 < got;
		}
	}
	out->f = v.v;
	out->n = (uint32_t)v.n;
}

struct mc_report *mc_report_new(void)
{
	struct mc_report *r = xcalloc(1, sizeof(*r));
	r->pending = xcalloc(1, sizeof(*r->pending));
	return r;
}

static struct mc_place *places_copy(const struct mc_place *f, size_t n)
{
	struct mc_place *c = xcalloc(n ? n : 1, sizeof(*c));
	if (n)
		memcpy(c, f, n * sizeof(*c));
	return c;
}

void mc_report_add_error(struct mc_report *r, const struct mc_error_info *e, uint32_t pid,
                         const struct mc_place *frames, uint32_t n_access, uint32_t n_alloc)
{
	struct mc_report_error *o = vec_grow(&r->pending->info);
	o->rec = *e;
	o->pid = pid;
	struct mc_pending_error *p = vec_grow(&r->pending->errors);
	p->n_access = n_access;
	p->n_alloc = n_alloc;
	p->f = places_copy(frames, (size_t)n_access + n_alloc + e->n_free);
}

void mc_report_add_leak(struct mc_report *r, uint8_t cls, uint64_t size, uint32_t pid, const struct mc_place *frames,
                        uint32_t n)
{
	if (cls == HEAP_LEAK_UNKNOWN || cls > HEAP_LEAK_DEFINITE)
		return;
	struct mc_pending_leak *l = vec_grow(&r->pending->leaks);
	l->cls = cls;
	l->pid = pid;
	l->size = size;
	l->n = n;
	l->f = places_copy(frames, n);
}

/* Loss records: one per class and allocation stack (its places in the
 * files, so a stack is one whatever process ran it). */
static uint64_t leak_hash(const struct mc_pending_leak *l)
{
	uint64_t h = 1469598103934665603ull ^ l->cls;
	for (uint32_t k = 0; k < l->n; k++) {
		const struct mc_place *f = &l->f[k];
		uint64_t v = f->module ? f->offset : f->addr;
		for (const char *p = f->module; p && *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ v) * 1099511628211ull;
	}
	return h;
}

static bool leak_same(const struct mc_pending_leak *a, const struct mc_pending_leak *b)
{
	if (a->cls != b->cls || a->n != b->n)
		return false;
	for (uint32_t k = 0; k < a->n; k++) {
		const struct mc_place *x = &a->f[k], *y = &b->f[k];
		if (!x->module != !y->module)
			return false;
		if (x->module ? (x->offset != y->offset || strcmp(x->module, y->module)) : x->addr != y->addr)
			return false;
	}
	return true;
}

static int loss_order(const void *a, const void *b)
{
	const struct mc_loss *x = a, *y = b;
	if (x->cls != y->cls) /* reachable first, definite last: valgrind prints the worst last */
		return x->cls < y->cls ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? -1 : 1;
	return x->blocks < y->blocks ? -1 : x->blocks > y->blocks;
}

static void losses_build(struct mc_report *r, const struct mc_suppressions *sup, mc_resolve_fn resolve, void *ctx)
{
	const struct mc_pending_leak *leaks = r->pending->leaks.v;
	size_t n = r->pending->leaks.n;
	if (n)
		r->leaks_checked = true;
	/* open addressing over loss indices; the first leak names the record */
	size_t cap = 64;
	while (cap < n * 2)
		cap *= 2;
	size_t *slot = xcalloc(cap, sizeof(*slot)); /* 1 + loss index */
	VEC(struct mc_loss) v = {0};
	for (size_t i = 0; i < n; i++) {
		const struct mc_pending_leak *l = &leaks[i];
		size_t at = leak_hash(l) & (cap - 1);
		while (slot[at] && !leak_same(&leaks[v.v[slot[at] - 1].first], l))
			at = (at + 1) & (cap - 1);
		if (!slot[at]) {
			struct mc_loss *o = vec_grow(&v);
			o->cls = l->cls;
			o->pid = l->pid;
			o->first = (uint32_t)i;
			slot[at] = v.n;
		}
		struct mc_loss *o = &v.v[slot[at] - 1];
		o->bytes += l->size;
		o->blocks++;
	}
	free(slot);
	for (size_t i = 0; i < v.n; i++) {
		struct mc_loss *o = &v.v[i];
		const struct mc_pending_leak *l = &leaks[o->first];
		stack_make(r, &o->alloc, l->f, l->n, resolve, ctx);
		o->suppressed = mc_suppressions_match(sup, 0, o->cls, &o->alloc);
		mc_report_count_loss(r, o);
	}
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), loss_order);
	r->losses = v.v;
	r->n_losses = v.n;
}

static void pending_free(struct mc_pending *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->leaks.n; i++)
		free(p->leaks.v[i].f);
	vec_free(&p->leaks);
	for (size_t i = 0; i < p->errors.n; i++)
		free(p->errors.v[i].f);
	vec_free(&p->errors);
	vec_free(&p->info);
	free(p);
}

void mc_report_finish(struct mc_report *r, const struct mc_suppressions *sup, const struct mc_counts *counts,
                      mc_resolve_fn resolve, void *ctx)
{
	struct mc_pending *p = r->pending;
	if (!p)
		return;
	r->errors = p->info.v;
	r->n_errors = p->info.n;
	p->info.v = NULL;
	p->info.n = 0;
	for (size_t i = 0; i < r->n_errors; i++) {
		struct mc_report_error *o = &r->errors[i];
		const struct mc_pending_error *e = &p->errors.v[i];
		stack_make(r, &o->access, e->f, e->n_access, resolve, ctx);
		stack_make(r, &o->alloc, e->f + e->n_access, e->n_alloc, resolve, ctx);
		stack_make(r, &o->free, e->f + e->n_access + e->n_alloc, o->rec.n_free, resolve, ctx);
		o->suppressed = mc_suppressions_match(sup, o->rec.kind, 0, &o->access);
		if (o->suppressed)
			r->suppressed_errors++;
	}
	losses_build(r, sup, resolve, ctx);
	if (counts)
		r->stats = *counts;
	r->leaks_checked = r->leaks_checked || r->stats.scanned; /* nothing left is a verdict too */
	pending_free(p);
	r->pending = NULL;
}

void mc_report_free(struct mc_report *r)
{
	if (!r)
		return;
	pending_free(r->pending);
	for (size_t i = 0; i < r->n_errors; i++) {
		free(r->errors[i].access.f);
		free(r->errors[i].alloc.f);
		free(r->errors[i].free.f);
	}
	free(r->errors);
	for (size_t i = 0; i < r->n_losses; i++)
		free(r->losses[i].alloc.f);
	free(r->losses);
	for (size_t i = 0; i < r->n_strings; i++)
		free(r->strings[i]);
	free(r->strings);
	free(r);
}

void mc_report_count_loss(struct mc_report *r, const struct mc_loss *l)
{
	struct mc_leak_total *t = &r->leaks[l->cls];
	if (l->suppressed) {
		t->suppressed_bytes += l->bytes;
		t->suppressed_blocks += l->blocks;
	} else {
		t->bytes += l->bytes;
		t->blocks += l->blocks;
	}
}

size_t mc_report_errors(const struct mc_report *r)
{
	return r->n_errors - r->suppressed_errors;
}

uint64_t mc_report_leak_blocks(const struct mc_report *r, unsigned mask)
{
	uint64_t n = 0;
	for (uint8_t c = HEAP_LEAK_REACHABLE; c <= HEAP_LEAK_DEFINITE; c++)
		if (mask & (1u << c))
			n += r->leaks[c].blocks;
	return n;
}
