/* offcpu_text.c - off-CPU reasons, top blocking stacks and pool health as
 * text and JSON. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/offcpu_reason.h"
#include "render/offcpu.h"
#include "render/units.h"
#include "util/hashmap.h"
#include "util/vec.h"

struct stack_total {
	uint32_t stack;
	uint64_t ns, count;
};

static int cmp_total(const void *a, const void *b)
{
	const struct stack_total *x = a, *y = b;
	return x->ns > y->ns ? -1 : x->ns < y->ns;
}

void render_offcpu_text(struct strbuf *out, const struct profile *p, size_t limit)
{
	struct offcpu_values ov;
	offcpu_values_find(p, &ov);
	if (ov.offcpu < 0) {
		strbuf_addstr(out, "no off-CPU values in this profile\n");
		return;
	}
	uint64_t by_reason[OFFCPU_NREASONS] = {0}, n_reason[OFFCPU_NREASONS] = {0}, total = 0;
	VEC(struct stack_total) st = {0};
	struct hashmap at;
	hashmap_init(&at);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		if (ov.runnable >= 0 && s->values[ov.runnable] > 0) {
			by_reason[OFFCPU_REASON_RUNNABLE] += (uint64_t)s->values[ov.runnable];
			n_reason[OFFCPU_REASON_RUNNABLE]++;
		}
		if (s->values[ov.offcpu] <= 0)
			continue;
		uint64_t ns = (uint64_t)s->values[ov.offcpu], k;
		total += ns;
		if (!hashmap_get(&at, s->stack, &k)) {
			k = st.n;
			vec_push(&st, ((struct stack_total){s->stack, 0, 0}));
			hashmap_put(&at, s->stack, k);
		}
		st.v[k].ns += ns;
		st.v[k].count++;
	}
	/* reasons per distinct stack; then rows merged by label and reason */
	struct hashmap row_at;
	hashmap_init(&row_at);
	size_t rows = 0;
	for (size_t k = 0; k < st.n; k++) {
		enum offcpu_reason r = offcpu_reason_of(p, st.v[k].stack);
		by_reason[r] += st.v[k].ns;
		n_reason[r] += st.v[k].count;
		uint64_t key = hash_mix(pools_stack_key(p, st.v[k].stack), (uint64_t)r), at;
		if (hashmap_get(&row_at, key, &at)) {
			st.v[at].ns += st.v[k].ns;
			st.v[at].count += st.v[k].count;
		} else {
			hashmap_put(&row_at, key, rows);
			st.v[rows++] = st.v[k];
		}
	}
	st.n = rows;
	hashmap_release(&row_at);
	strbuf_addstr(out, "off-CPU time by reason (blocked; runnable is time preempted, waiting for a cpu):\n");
	for (int r = 0; r < OFFCPU_NREASONS; r++) {
		if (!n_reason[r])
			continue;
		strbuf_addf(out, "  %-9s ", offcpu_reason_name((enum offcpu_reason)r));
		size_t at0 = out->len;
		render_duration(out, by_reason[r]);
		strbuf_addf(out, "%*s %8" PRIu64 " intervals\n", (int)(12 - (out->len - at0)), "", n_reason[r]);
	}
	if (st.n > 1)
		qsort(st.v, st.n, sizeof(*st.v), cmp_total);
	strbuf_addstr(out, "\nstacks by blocked time:\n");
	for (size_t k = 0; k < st.n && (!limit || k < limit); k++) {
		char label[512];
		pools_stack_label(p, st.v[k].stack, label, sizeof(label));
		strbuf_addf(out, "  %5.1f%%  ", total ? 100.0 * (double)st.v[k].ns / (double)total : 0.0);
		size_t at0 = out->len;
		render_duration(out, st.v[k].ns);
		strbuf_addf(out, "%*s %6" PRIu64 "x  %-8s %s\n", (int)(10 - (out->len - at0)), "", st.v[k].count,
		            offcpu_reason_name(offcpu_reason_of(p, st.v[k].stack)), label);
	}
	hashmap_release(&at);
	vec_free(&st);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void render_pool_verdict(struct strbuf *out, const struct profile *p, const struct pool *pl)
{
	if (!pl->blocking_workers)
		return;
	uint64_t blocked = 0, span = 0;
	for (size_t w = 0; w < pl->workers.n; w++) {
		const struct pool_worker *pw = &pl->workers.v[w];
		if (pw->blocking) {
			blocked += pw->blocked;
			span += pw->span;
		}
	}
	strbuf_addf(out, "%u of %zu workers spent %.0f%% of their time blocked in tasks", pl->blocking_workers,
	            pl->workers.n, share(blocked, span));
	if (pl->stacks.n) {
		char label[512];
		pools_stack_label(p, pl->stacks.v[0].stack, label, sizeof(label));
		strbuf_addf(out, "; top: %s (", label);
		render_duration(out, pl->stacks.v[0].ns);
		strbuf_addch(out, ')');
	}
}

void render_pools_text(struct strbuf *out, const struct profile *p, const struct pools *ps, size_t limit)
{
	if (!ps->v.n) {
		strbuf_addstr(out, "no worker pools (two or more threads sharing a name up to a number)\n");
		return;
	}
	for (size_t i = 0; i < ps->v.n; i++) {
		const struct pool *pl = &ps->v.v[i];
		strbuf_addf(out,
		            "%spool '%s' (%zu workers): busy %.0f%%, parked %.0f%%, blocked in tasks %.0f%%, "
		            "runnable %.0f%%\n",
		            i ? "\n" : "", pl->name, pl->workers.n, share(pl->busy, pl->span),
		            share(pl->parked, pl->span), share(pl->blocked, pl->span), share(pl->runnable, pl->span));
		if (pl->park_site)
			strbuf_addf(out, "  parked: waits for work in %s (the wait site most workers share)\n",
			            profile_str(p, pl->park_site));
		strbuf_addstr(out, "  worker                    busy  parked  blocked  runnable\n");
		for (size_t w = 0; w < pl->workers.n; w++) {
			const struct pool_worker *pw = &pl->workers.v[w];
			strbuf_addf(out, "  %-16s %7" PRIu32 " %5.0f%% %6.0f%% %7.0f%% %8.0f%%%s\n",
			            profile_str(p, pw->name), pw->tid, share(pw->busy, pw->span),
			            share(pw->parked, pw->span), share(pw->blocked, pw->span),
			            share(pw->runnable, pw->span), pw->blocking ? "  blocked in tasks" : "");
		}
		if (pl->stacks.n) {
			strbuf_addstr(out, "  stacks that blocked workers inside tasks:\n");
			for (size_t k = 0; k < pl->stacks.n && (!limit || k < limit); k++) {
				char label[512];
				pools_stack_label(p, pl->stacks.v[k].stack, label, sizeof(label));
				strbuf_addstr(out, "    ");
				render_duration(out, pl->stacks.v[k].ns);
				strbuf_addf(out, " in %" PRIu32 " blocks (%s)  %s\n", pl->stacks.v[k].count,
				            offcpu_reason_name(offcpu_reason_of(p, pl->stacks.v[k].stack)), label);
			}
		}
		if (pl->blocking_workers) {
			strbuf_addstr(out, "  verdict: ");
			render_pool_verdict(out, p, pl);
			strbuf_addch(out, '\n');
		}
	}
}

void render_pools_json(struct strbuf *out, const struct profile *p, const struct pools *ps, size_t limit)
{
	strbuf_addstr(out, "{\"pools\":[");
	for (size_t i = 0; i < ps->v.n; i++) {
		const struct pool *pl = &ps->v.v[i];
		strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
		strbuf_add_json_string(out, pl->name);
		strbuf_addf(out,
		            ",\"span_ns\":%" PRIu64 ",\"busy_ns\":%" PRIu64 ",\"parked_ns\":%" PRIu64
		            ",\"blocked_ns\":%" PRIu64 ",\"runnable_ns\":%" PRIu64 ",\"blocking_workers\":%" PRIu32
		            ",\"park_site\":",
		            pl->span, pl->busy, pl->parked, pl->blocked, pl->runnable, pl->blocking_workers);
		strbuf_add_json_string(out, pl->park_site ? profile_str(p, pl->park_site) : "");
		strbuf_addstr(out, ",\"verdict\":");
		struct strbuf v = STRBUF_INIT;
		render_pool_verdict(&v, p, pl);
		strbuf_add_json_string(out, strbuf_str(&v));
		strbuf_release(&v);
		strbuf_addstr(out, ",\"workers\":[");
		for (size_t w = 0; w < pl->workers.n; w++) {
			const struct pool_worker *pw = &pl->workers.v[w];
			strbuf_addstr(out, w ? ",{\"name\":" : "{\"name\":");
			strbuf_add_json_string(out, profile_str(p, pw->name));
			strbuf_addf(out,
			            ",\"tid\":%" PRIu32 ",\"span_ns\":%" PRIu64 ",\"busy_ns\":%" PRIu64
			            ",\"parked_ns\":%" PRIu64 ",\"blocked_ns\":%" PRIu64 ",\"runnable_ns\":%" PRIu64
			            "}",
			            pw->tid, pw->span, pw->busy, pw->parked, pw->blocked, pw->runnable);
		}
		strbuf_addstr(out, "],\"stacks\":[");
		for (size_t k = 0; k < pl->stacks.n && (!limit || k < limit); k++) {
			char label[512];
			pools_stack_label(p, pl->stacks.v[k].stack, label, sizeof(label));
			strbuf_addstr(out, k ? ",{\"label\":" : "{\"label\":");
			strbuf_add_json_string(out, label);
			strbuf_addf(out, ",\"ns\":%" PRIu64 ",\"count\":%" PRIu32 ",\"reason\":\"%s\"}",
			            pl->stacks.v[k].ns, pl->stacks.v[k].count,
			            offcpu_reason_name(offcpu_reason_of(p, pl->stacks.v[k].stack)));
		}
		strbuf_addstr(out, "]}");
	}
	strbuf_addstr(out, "]}\n");
}
