/* stat_text.c - `kiln stat`'s text output, laid out as perf stat's: the
 * figure right-aligned with its unit, the event, the derived ratio after
 * '#', the spread over runs and the running share of multiplexed events;
 * with --compare, the commands side by side with the change and verdict. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "render/stat.h"

void stat_result_base(const struct stat_result *r, size_t i, struct stat_base *b)
{
	const struct stat_command *c = &r->cmds[i];
	struct stat_summary s;
	memset(b, 0, sizeof(*b));
	stat_summarize(c->wall_ns.v, c->wall_ns.n, &s);
	b->wall_ns = s.mean;
	static const struct {
		const char *name;
		size_t off;
	} bases[] = {
	    {"task-clock", offsetof(struct stat_base, task_clock_ns)},
	    {"cycles", offsetof(struct stat_base, cycles)},
	    {"instructions", offsetof(struct stat_base, instructions)},
	    {"branches", offsetof(struct stat_base, branches)},
	    {"cache-references", offsetof(struct stat_base, cache_references)},
	    {"L1-dcache-loads", offsetof(struct stat_base, l1d_loads)},
	    {"LLC-loads", offsetof(struct stat_base, llc_loads)},
	    {"dTLB-loads", offsetof(struct stat_base, dtlb_loads)},
	    {"branch-loads", offsetof(struct stat_base, branch_loads)},
	};
	for (size_t e = 0; e < r->n_events; e++) {
		for (size_t k = 0; k < sizeof(bases) / sizeof(bases[0]); k++) {
			if (strcmp(r->events[e].name, bases[k].name) || !c->cells[e].runs.n)
				continue;
			stat_cell_summary(&c->cells[e], &s);
			*(double *)((char *)b + bases[k].off) = s.mean;
		}
	}
	/* cpu-clock stands in for task-clock when only it was counted */
	if (b->task_clock_ns <= 0)
		for (size_t e = 0; e < r->n_events; e++)
			if (!strcmp(r->events[e].name, "cpu-clock") && c->cells[e].runs.n) {
				stat_cell_summary(&c->cells[e], &s);
				b->task_clock_ns = s.mean;
			}
}

/* The figure of a mean count: msec for clocks, else a whole number, as perf prints it. */
static void fmt_value(char *buf, size_t len, const struct stat_event *e, double v)
{
	if (e->is_clock)
		snprintf(buf, len, "%.2f", v / 1e6);
	else
		snprintf(buf, len, "%.0f", v);
}

static void add_metric(struct strbuf *out, const struct stat_metric *m)
{
	double v = m->value;
	const char *prefix = "";
	if (m->rate) {
		if (v >= 1e9) {
			v /= 1e9;
			prefix = "G";
		} else if (v >= 1e6) {
			v /= 1e6;
			prefix = "M";
		} else if (v >= 1e3) {
			v /= 1e3;
			prefix = "K";
		}
	}
	char unit[64];
	snprintf(unit, sizeof(unit), "%s%s", prefix, m->unit);
	if (!strncmp(m->unit, "of ", 3))
		strbuf_addf(out, "# %7.2f%% %-23s", v, unit);
	else
		strbuf_addf(out, "# %8.3f %-23s", v, unit);
}

static void render_single(struct strbuf *out, const struct stat_result *r)
{
	const struct stat_command *c = &r->cmds[0];
	struct stat_base base;
	stat_result_base(r, 0, &base);
	bool repeated = c->runs_done > 1;
	if (r->attached)
		strbuf_addf(out, "\n Performance counter stats for process id '%d'", (int)r->pid);
	else
		strbuf_addf(out, "\n Performance counter stats for '%s'", c->label);
	if (repeated)
		strbuf_addf(out, " (%zu runs)", c->runs_done);
	strbuf_addstr(out, ":\n\n");
	for (size_t e = 0; e < r->n_events; e++) {
		const struct stat_event *ev = &r->events[e];
		const struct stat_cell *cell = &c->cells[e];
		char val[64];
		if (!cell->supported) {
			strbuf_addf(out, "%18s      %s\n", "<not supported>", ev->name);
			continue;
		}
		if (!cell->runs.n) {
			strbuf_addf(out, "%18s      %s\n", "<not counted>", ev->name);
			continue;
		}
		struct stat_summary s;
		stat_cell_summary(cell, &s);
		fmt_value(val, sizeof(val), ev, s.mean);
		strbuf_addf(out, "%18s %-4s %-33s", val, ev->is_clock ? "msec" : "", ev->name);
		struct stat_metric m;
		if (stat_derive(ev->name, s.mean, &base, &m))
			add_metric(out, &m);
		else
			strbuf_addf(out, "%-34s", "");
		if (repeated && s.mean != 0)
			strbuf_addf(out, "  ( +-%6.2f%% )", s.rse_pct);
		double share = stat_cell_share(cell);
		if (share < 0.9999)
			strbuf_addf(out, "  (%.2f%%)", 100.0 * share);
		/* no trailing blanks */
		while (out->len && out->buf[out->len - 1] == ' ')
			out->buf[--out->len] = '\0';
		strbuf_addch(out, '\n');
	}
	struct stat_summary w, u, sy, rss;
	stat_summarize(c->wall_ns.v, c->wall_ns.n, &w);
	stat_summarize(c->user_s.v, c->user_s.n, &u);
	stat_summarize(c->sys_s.v, c->sys_s.n, &sy);
	stat_summarize(c->maxrss_kib.v, c->maxrss_kib.n, &rss);
	if (repeated)
		strbuf_addf(out, "\n %17.7f +- %.7f seconds time elapsed  ( +-%6.2f%% )\n", w.mean / 1e9,
		            w.stderr_ / 1e9, w.rse_pct);
	else
		strbuf_addf(out, "\n %17.9f seconds time elapsed\n", w.mean / 1e9);
	if (!r->attached && c->user_s.n) {
		strbuf_addf(out, "\n %17.9f seconds user\n", u.mean);
		strbuf_addf(out, " %17.9f seconds sys\n", sy.mean);
		strbuf_addf(out, " %17.2f MiB peak RSS\n", rss.max / 1024.0);
	}
	for (size_t i = 0; i < c->threads.n; i++) {
		if (i == 0)
			strbuf_addstr(out, "\n Per thread:\n");
		const struct stat_thread *t = &c->threads.v[i];
		for (size_t e = 0; e < r->n_events; e++) {
			if (t->values[e] < 0)
				continue;
			char val[64];
			fmt_value(val, sizeof(val), &r->events[e], t->values[e]);
			strbuf_addf(out, "  %8d %18s %-4s %s\n", (int)t->tid, val, r->events[e].is_clock ? "msec" : "",
			            r->events[e].name);
		}
	}
	if (r->interrupted)
		strbuf_addstr(out, "\n (interrupted: the figures cover what was counted before Ctrl-C)\n");
	strbuf_addch(out, '\n');
}

/* One command's cell in the side-by-side table: "mean ±rse%". */
static void add_side(struct strbuf *out, const struct stat_event *ev, const struct stat_cell *cell)
{
	char val[64];
	if (!cell->supported) {
		strbuf_addf(out, "  %22s", "<not supported>");
		return;
	}
	if (!cell->runs.n) {
		strbuf_addf(out, "  %22s", "<not counted>");
		return;
	}
	struct stat_summary s;
	stat_cell_summary(cell, &s);
	fmt_value(val, sizeof(val), ev, s.mean);
	strbuf_addf(out, "  %14s ±%5.1f%%", val, s.rse_pct);
}

static void add_change(struct strbuf *out, const struct stat_summary *a, const struct stat_summary *b,
                       const struct stat_result *r)
{
	struct stat_change ch;
	if (stat_compare(a, b, r->confidence, r->min_change_pct, &ch)) {
		strbuf_addf(out, "  %18s", "n/a");
		return;
	}
	strbuf_addf(out, "  %+8.1f%% ± %5.1f%% %s", ch.rel_pct, ch.half_pct, ch.direction != STAT_SAME ? "*" : " ");
}

static void render_compare(struct strbuf *out, const struct stat_result *r)
{
	size_t runs = 0;
	for (size_t i = 0; i < r->n_cmds; i++)
		if (!runs || r->cmds[i].runs_done < runs)
			runs = r->cmds[i].runs_done;
	strbuf_addf(out, "\n Performance counter stats of %zu commands, %zu runs each, interleaved:\n\n", r->n_cmds,
	            runs);
	for (size_t i = 0; i < r->n_cmds; i++)
		strbuf_addf(out, "   %c: '%s'\n", (int)('A' + (i % 26)), r->cmds[i].label);
	strbuf_addf(out, "\n %-24s", "");
	for (size_t i = 0; i < r->n_cmds; i++)
		strbuf_addf(out, "  %22c", (int)('A' + (i % 26)));
	for (size_t i = 1; i < r->n_cmds; i++)
		strbuf_addf(out, "  %8c vs A (%.0f%% CI)", (int)('A' + (i % 26)), r->confidence * 100);
	strbuf_addch(out, '\n');
	for (size_t e = 0; e < r->n_events; e++) {
		const struct stat_event *ev = &r->events[e];
		char name[64];
		snprintf(name, sizeof(name), "%s%s", ev->name, ev->is_clock ? " (msec)" : "");
		strbuf_addf(out, " %24s", name);
		bool all = true;
		for (size_t i = 0; i < r->n_cmds; i++) {
			add_side(out, ev, &r->cmds[i].cells[e]);
			all = all && r->cmds[i].cells[e].runs.n;
		}
		if (all) {
			struct stat_summary a, b;
			stat_cell_summary(&r->cmds[0].cells[e], &a);
			for (size_t i = 1; i < r->n_cmds; i++) {
				stat_cell_summary(&r->cmds[i].cells[e], &b);
				add_change(out, &a, &b, r);
			}
		}
		while (out->len && out->buf[out->len - 1] == ' ')
			out->buf[--out->len] = '\0';
		strbuf_addch(out, '\n');
	}
	struct stat_summary a, b;
	strbuf_addf(out, " %24s", "wall time (sec)");
	for (size_t i = 0; i < r->n_cmds; i++) {
		stat_summarize(r->cmds[i].wall_ns.v, r->cmds[i].wall_ns.n, &b);
		strbuf_addf(out, "  %14.6f ±%5.1f%%", b.mean / 1e9, b.rse_pct);
	}
	stat_summarize(r->cmds[0].wall_ns.v, r->cmds[0].wall_ns.n, &a);
	for (size_t i = 1; i < r->n_cmds; i++) {
		stat_summarize(r->cmds[i].wall_ns.v, r->cmds[i].wall_ns.n, &b);
		add_change(out, &a, &b, r);
	}
	while (out->len && out->buf[out->len - 1] == ' ')
		out->buf[--out->len] = '\0';
	strbuf_addch(out, '\n');
	strbuf_addf(out, "\n (* significant: the %.0f%% interval excludes 0 and the change is at least %.1f%%)\n\n",
	            r->confidence * 100, r->min_change_pct);
	stat_metric_summary(r, 0, &a);
	for (size_t i = 1; i < r->n_cmds; i++) {
		struct stat_change ch;
		char words[128];
		stat_metric_summary(r, i, &b);
		if (stat_compare(&a, &b, r->confidence, r->min_change_pct, &ch))
			snprintf(words, sizeof(words), "cannot tell (needs at least 2 runs of each, -r 2)");
		else
			stat_verdict(&ch, stat_metric_is_time(r), words, sizeof(words));
		strbuf_addf(out, " %c vs A, %s: %s\n", (int)('A' + (i % 26)), stat_metric_name(r), words);
	}
	if (r->interrupted)
		strbuf_addstr(out, "\n (interrupted: the figures cover what was counted before Ctrl-C)\n");
	strbuf_addch(out, '\n');
}

static void text_render(struct strbuf *out, const struct stat_result *r)
{
	if (r->compare)
		render_compare(out, r);
	else
		render_single(out, r);
}

const struct stat_render_ops stat_text_ops = {"text", text_render};
