/* stat_csv.c - `kiln stat --csv`: one line per command and event (plus
 * wall, user and sys time and peak RSS) under a header line, for
 * spreadsheets and CI. With --compare, the change against the first
 * command fills the last columns. */
#include <math.h>
#include <stdio.h>

#include "render/stat.h"

static const char header[] = "command,event,value,unit,rel_stderr_pct,running_pct,metric_value,metric_unit,runs,"
                             "change_pct,ci_half_pct,significant\n";

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void field(struct strbuf *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, *s);
	}
	strbuf_addch(out, '"');
}

static void change_cols(struct strbuf *out, const struct stat_result *r, const struct stat_summary *a,
                        const struct stat_summary *b)
{
	struct stat_change ch;
	if (!a || stat_compare(a, b, r->confidence, r->min_change_pct, &ch)) {
		strbuf_addstr(out, ",,\n");
		return;
	}
	strbuf_addf(out, "%.3f,%.3f,%s\n", ch.rel_pct, ch.half_pct, ch.direction != STAT_SAME ? "yes" : "no");
}

/* One figure's line: value in unit, scaled by k from the stored runs. */
static void line(struct strbuf *out, const struct stat_result *r, size_t ci, const char *event, const char *unit,
                 const double *v, size_t n, double k, const double *base_v, size_t base_n)
{
	struct stat_summary s, a;
	stat_summarize(v, n, &s);
	field(out, r->cmds[ci].label);
	strbuf_addch(out, ',');
	field(out, event);
	strbuf_addf(out, ",%.9g,%s,%.2f,100.00,,,%zu,", s.mean * k, unit, s.rse_pct, n);
	if (ci == 0 || !r->compare) {
		strbuf_addstr(out, ",,\n");
		return;
	}
	stat_summarize(base_v, base_n, &a);
	change_cols(out, r, &a, &s);
}

static void csv_render(struct strbuf *out, const struct stat_result *r)
{
	strbuf_addstr(out, header);
	for (size_t ci = 0; ci < r->n_cmds; ci++) {
		const struct stat_command *c = &r->cmds[ci];
		struct stat_base b;
		stat_result_base(r, ci, &b);
		for (size_t e = 0; e < r->n_events; e++) {
			const struct stat_event *ev = &r->events[e];
			const struct stat_cell *cell = &c->cells[e];
			field(out, c->label);
			strbuf_addch(out, ',');
			field(out, ev->name);
			if (!cell->supported || !cell->runs.n) {
				strbuf_addf(out, ",%s,%s,,,,,0,,,\n",
				            cell->supported ? "<not counted>" : "<not supported>",
				            ev->is_clock ? "msec" : "");
				continue;
			}
			struct stat_summary s, a;
			stat_cell_summary(cell, &s);
			double k = ev->is_clock ? 1e-6 : 1.0;
			strbuf_addf(out, ",%.9g,%s,%.2f,%.2f,", s.mean * k, ev->is_clock ? "msec" : "", s.rse_pct,
			            100.0 * stat_cell_share(cell));
			struct stat_metric m;
			if (stat_derive(ev->name, s.mean, &b, &m))
				strbuf_addf(out, "%.6g,%s", m.value, m.unit);
			else
				strbuf_addch(out, ',');
			strbuf_addf(out, ",%zu,", cell->runs.n);
			const struct stat_cell *base = &r->cmds[0].cells[e];
			if (ci == 0 || !r->compare || !base->runs.n) {
				strbuf_addstr(out, ",,\n");
				continue;
			}
			stat_cell_summary(base, &a);
			change_cols(out, r, &a, &s);
		}
		const struct stat_command *c0 = &r->cmds[0];
		line(out, r, ci, "wall-time", "sec", c->wall_ns.v, c->wall_ns.n, 1e-9, c0->wall_ns.v, c0->wall_ns.n);
		if (r->attached)
			continue;
		line(out, r, ci, "user-time", "sec", c->user_s.v, c->user_s.n, 1, c0->user_s.v, c0->user_s.n);
		line(out, r, ci, "sys-time", "sec", c->sys_s.v, c->sys_s.n, 1, c0->sys_s.v, c0->sys_s.n);
		line(out, r, ci, "max-rss", "KiB", c->maxrss_kib.v, c->maxrss_kib.n, 1, c0->maxrss_kib.v,
		     c0->maxrss_kib.n);
	}
}

const struct stat_render_ops stat_csv_ops = {"csv", csv_render};
