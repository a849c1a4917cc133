/* report_json.c - `kiln report --json`: the machine-readable report. The
 * schema is a contract with scripts and tests (docs/man/kiln-report.1):
 * every key is always present, numbers are plain JSON numbers and every
 * string is valid UTF-8 JSON whatever bytes the profile holds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render/report.h"
#include "util/vec.h"
#include "util/xalloc.h"

static void json_pct(struct strbuf *sb, double pct)
{
	strbuf_addf(sb, "%.1f", pct);
}

static void json_header(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	strbuf_addstr(out, "{\n \"file\": ");
	strbuf_add_json_string(out, c->o->file);
	strbuf_addf(out, ",\n \"complete\": %s,\n \"meta\": {", c->o->complete ? "true" : "false");
	for (size_t i = 0; i < p->meta.n; i++) {
		strbuf_addstr(out, i ? ", " : "");
		strbuf_add_json_string(out, profile_str(p, p->meta.v[i].key));
		strbuf_addstr(out, ": ");
		strbuf_add_json_string(out, profile_str(p, p->meta.v[i].value));
	}
	strbuf_addstr(out, "},\n \"value\": {\"type\": ");
	strbuf_add_json_string(out, h->value_type);
	strbuf_addstr(out, ", \"unit\": ");
	strbuf_add_json_string(out, h->value_unit);
	strbuf_addf(out, "},\n \"samples\": %" PRIu64 ",\n \"total\": %" PRId64 ",\n", h->samples, h->total);
	strbuf_addf(out, " \"lost\": %" PRIu64 ", \"truncated\": %" PRIu64, profile_get_meta_u64(p, "lost_samples", 0),
	            profile_get_meta_u64(p, "truncated_stacks", 0));
	/* the other ways a stack stops early, apart from depth */
	strbuf_addf(out,
	            ", \"stack_not_copied\": %" PRIu64 ", \"cut_by_exec\": %" PRIu64 ", \"unwind_errors\": %" PRIu64,
	            profile_get_meta_u64(p, "stack_not_copied", 0), profile_get_meta_u64(p, "exec_cut_stacks", 0),
	            profile_get_meta_u64(p, "unwind_errors", 0));
	/* time series (heap size, ...): a summary; the points stay in the file */
	strbuf_addstr(out, ",\n \"series\": [");
	for (size_t i = 0; i < p->series.n; i++) {
		const struct profile_series *s = &p->series.v[i];
		int64_t max = 0, last = 0;
		uint64_t max_time = 0;
		for (size_t j = 0; j < s->points.n; j++) {
			if (!j || s->points.v[j].value > max) {
				max = s->points.v[j].value;
				max_time = s->points.v[j].time;
			}
			last = s->points.v[j].value;
		}
		strbuf_addstr(out, i ? ", {\"name\": " : "{\"name\": ");
		strbuf_add_json_string(out, profile_str(p, s->name));
		strbuf_addstr(out, ", \"unit\": ");
		strbuf_add_json_string(out, profile_str(p, s->unit));
		strbuf_addf(out,
		            ", \"points\": %zu, \"max\": %" PRId64 ", \"max_time_ns\": %" PRIu64 ", \"last\": %" PRId64
		            "}",
		            s->points.n, max, max_time, last);
	}
	strbuf_addch(out, ']');
}

static void json_functions(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	size_t n = h->funcs.n;
	if (c->o->limit && c->o->limit < n)
		n = c->o->limit;
	strbuf_addstr(out, ",\n \"functions\": [");
	for (size_t i = 0; i < n; i++) {
		const struct hotspot_func *f = &h->funcs.v[i];
		strbuf_addstr(out, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
		strbuf_add_json_string(out, profile_str(p, f->name));
		strbuf_addstr(out, ", \"module\": ");
		strbuf_add_json_string(out, profile_str(p, f->module));
		strbuf_addstr(out, ", \"file\": ");
		strbuf_add_json_string(out, profile_str(p, f->file));
		if (f->alias) {
			strbuf_addstr(out, ", \"alias\": ");
			strbuf_add_json_string(out, profile_str(p, f->alias));
		}
		strbuf_addf(out,
		            ", \"line\": %u, \"self\": %" PRId64 ", \"total\": %" PRId64 ", \"self_pct\": ", f->line,
		            f->self, f->total);
		json_pct(out, hotspots_pct(h, f->self));
		strbuf_addstr(out, ", \"total_pct\": ");
		json_pct(out, hotspots_pct(h, f->total));
		strbuf_addch(out, '}');
	}
	strbuf_addstr(out, n ? "\n ]" : "]");
}

static void json_threads(const struct report_ctx *c)
{
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	strbuf_addstr(out, ",\n \"threads\": [");
	for (size_t i = 0; i < h->threads.n; i++) {
		const struct hotspot_thread *t = &h->threads.v[i];
		strbuf_addf(out, "%s{\"tid\": %u, \"pid\": %u, \"name\": ", i ? ",\n  " : "\n  ", t->tid, t->pid);
		strbuf_add_json_string(out, profile_str(c->p, t->name));
		strbuf_addf(out, ", \"samples\": %" PRIu64 ", \"value\": %" PRId64 ", \"pct\": ", t->samples, t->value);
		json_pct(out, hotspots_pct(h, t->value));
		strbuf_addch(out, '}');
	}
	strbuf_addstr(out, h->threads.n ? "\n ]" : "]");
}

/* One frame as JSON: the stacks repeat a few distinct frames many times,
 * so each is rendered once and copied after. */
static void json_frame(struct strbuf *out, const struct profile *p, const struct profile_frame *f)
{
	strbuf_addstr(out, "{\"name\": ");
	strbuf_add_json_string(out, profile_str(p, f->function));
	strbuf_addstr(out, ", \"module\": ");
	strbuf_add_json_string(out, profile_str(p, f->module));
	strbuf_addstr(out, ", \"file\": ");
	strbuf_add_json_string(out, profile_str(p, f->file));
	if (f->alias) {
		strbuf_addstr(out, ", \"alias\": ");
		strbuf_add_json_string(out, profile_str(p, f->alias));
	}
	strbuf_addf(out, ", \"line\": %u, \"inlined\": %s}", f->line, f->inlined ? "true" : "false");
}

static void json_stacks(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	struct strbuf text = STRBUF_INIT;
	size_t *at = xmalloc((h->frames.n + 1) * sizeof(*at));
	for (size_t i = 0; i < h->frames.n; i++) {
		at[i] = text.len;
		json_frame(&text, p, &h->frames.v[i]);
	}
	at[h->frames.n] = text.len;
	VEC(const struct profile_frame *) frames = {0};
	struct hotspot_stack_list stacks = hotspots_stacks(h);
	strbuf_addstr(out, ",\n \"stacks\": [");
	for (size_t i = 0; i < stacks.n; i++) {
		const struct hotspot_stack *s = &stacks.v[i];
		strbuf_addstr(out, i ? ",\n  {\"frames\": [" : "\n  {\"frames\": [");
		vec_reserve(&frames, s->nframes);
		hotspots_stack_frames(h, s, frames.v);
		for (uint32_t k = 0; k < s->nframes; k++) {
			size_t f = (size_t)(frames.v[k] - h->frames.v);
			if (k)
				strbuf_add(out, ", ", 2);
			strbuf_add(out, text.buf + at[f], at[f + 1] - at[f]);
		}
		strbuf_addf(out, "], \"samples\": %" PRIu64 ", \"value\": %" PRId64 ", \"threads\": [", s->samples,
		            s->value);
		for (uint32_t k = 0; k < s->ntids; k++)
			strbuf_addf(out, "%s%u", k ? ", " : "", stacks.tids[s->first_tid + k]);
		strbuf_addstr(out, "]}");
	}
	strbuf_addstr(out, stacks.n ? "\n ]" : "]");
	vec_free(&frames);
	free(at);
	strbuf_release(&text);
}

static void json_tree_node(const struct report_ctx *c, uint32_t id)
{
	const struct hotspots *h = c->h;
	const struct hotspot_node *n = &h->tree.v[id];
	struct strbuf *out = c->out;
	strbuf_addstr(out, "{\"name\": ");
	strbuf_add_json_string(out, id ? profile_str(c->p, n->name) : "all");
	if (id) {
		strbuf_addstr(out, ", \"module\": ");
		strbuf_add_json_string(out, profile_str(c->p, n->module));
	}
	strbuf_addf(out, ", \"total\": %" PRId64 ", \"self\": %" PRId64 ", \"children\": [", n->total, n->self);
	bool first = true;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint32_t kid = h->tree_children.v[n->first_child + i];
		const struct hotspot_node *k = &h->tree.v[kid];
		if (!(k->total > 0 && hotspots_pct(h, k->total) >= c->o->min_percent))
			continue;
		strbuf_addstr(out, first ? "" : ", ");
		first = false;
		json_tree_node(c, kid);
	}
	strbuf_addstr(out, "]}");
}

static void json_tree(const struct report_ctx *c)
{
	strbuf_addstr(c->out, ",\n \"tree\": ");
	json_tree_node(c, 0);
}

static void json_footer(const struct report_ctx *c)
{
	strbuf_addstr(c->out, "\n}\n");
}

const struct report_ops report_json_ops = {
    .name = "json",
    .header = json_header,
    .functions = json_functions,
    .tree = json_tree,
    .threads = json_threads,
    .stacks = json_stacks,
    .footer = json_footer,
};
