/* count_compare.c - per-function instruction changes (count_compare.h). */
#include "analysis/count_compare.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static double pct(int64_t base, int64_t now)
{
	if (base == 0)
		return now == 0 ? 0.0 : INFINITY;
	return ((double)now - (double)base) * 100.0 / (double)base;
}

static bool has_module(const struct hotspots *h, const char *module)
{
	for (size_t i = 0; i < h->funcs.n; i++)
		if (!strcmp(profile_str(h->profile, h->funcs.v[i].module), module))
			return true;
	return false;
}

/* The same function in h: same name in the same module, or in any module
 * when h has no module of that name (a program built twice under two
 * names); so two strcmp of ld.so and libc stay two. */
static const struct hotspot_func *find(const struct hotspots *h, const char *name, const char *module)
{
	const struct hotspot_func *f = hotspots_find_function(h, name, module);
	if (!f && !has_module(h, module))
		f = hotspots_find_function(h, name, NULL);
	return f;
}

static int cmp_change(const void *a, const void *b)
{
	const struct count_change *x = a, *y = b;
	int64_t dx = llabs(x->now - x->base), dy = llabs(y->now - y->base);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(x->name, y->name);
}

int count_compare_build(struct count_compare *c, const struct hotspots *base, const struct hotspots *now)
{
	memset(c, 0, sizeof(*c));
	c->base_total = base->total;
	c->now_total = now->total;
	c->total_pct = pct(base->total, now->total);
	const struct profile *bp = base->profile, *np = now->profile;
	for (size_t i = 0; i < base->funcs.n; i++) {
		const struct hotspot_func *f = &base->funcs.v[i];
		const char *name = profile_str(bp, f->name), *module = profile_str(bp, f->module);
		const struct hotspot_func *g = find(now, name, module);
		struct count_change r = {name, module, f->self, g ? g->self : 0, 0};
		r.pct = pct(r.base, r.now);
		vec_push(&c->rows, r);
	}
	for (size_t i = 0; i < now->funcs.n; i++) {
		const struct hotspot_func *g = &now->funcs.v[i];
		const char *name = profile_str(np, g->name), *module = profile_str(np, g->module);
		if (find(base, name, module))
			continue;
		struct count_change r = {name, module, 0, g->self, 0};
		r.pct = pct(0, r.now);
		vec_push(&c->rows, r);
	}
	if (c->rows.n)
		qsort(c->rows.v, c->rows.n, sizeof(*c->rows.v), cmp_change);
	return 0;
}

void count_compare_release(struct count_compare *c)
{
	vec_free(&c->rows);
	memset(c, 0, sizeof(*c));
}

const struct count_change *count_compare_find(const struct count_compare *c, const char *name)
{
	for (size_t i = 0; i < c->rows.n; i++)
		if (!strcmp(c->rows.v[i].name, name))
			return &c->rows.v[i];
	return NULL;
}
