/* stat_json.c - `kiln stat --json`: every figure of every command, each
 * run's values, and with --compare the change of every event against the
 * first command. The schema is in kiln-stat(1); every key is always
 * present, a figure that was not measured is null. */
#include <math.h>
#include <stdio.h>

#include "render/stat.h"

/* JSON has no NaN or infinity: those become null. */
static void num(struct strbuf *out, double v)
{
	if (!isfinite(v))
		strbuf_addstr(out, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		strbuf_addf(out, "%.0f", v);
	else
		strbuf_addf(out, "%.9g", v);
}

static void key_num(struct strbuf *out, const char *key, double v)
{
	strbuf_addf(out, "\"%s\": ", key);
	num(out, v);
}

/* {"mean":..,"stddev":..,"rel_stddev_pct":..,"rel_stderr_pct":..,"min":..,"max":..,"runs":[..]} scaled by k */
static void summary(struct strbuf *out, const double *v, size_t n, double k)
{
	struct stat_summary s;
	stat_summarize(v, n, &s);
	strbuf_addch(out, '{');
	key_num(out, "mean", n ? s.mean * k : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "stddev", n ? s.stddev * k : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "rel_stddev_pct", n ? s.rsd_pct : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "rel_stderr_pct", n ? s.rse_pct : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "min", n ? s.min * k : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "max", n ? s.max * k : NAN);
	strbuf_addstr(out, ", \"runs\": [");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addstr(out, ", ");
		num(out, v[i] * k);
	}
	strbuf_addstr(out, "]}");
}

static void counter(struct strbuf *out, const struct stat_result *r, size_t ci, size_t e, const struct stat_base *b)
{
	const struct stat_event *ev = &r->events[e];
	const struct stat_cell *cell = &r->cmds[ci].cells[e];
	double k = ev->is_clock ? 1e-6 : 1.0;
	strbuf_addstr(out, "{\"event\": ");
	strbuf_add_json_string(out, ev->name);
	strbuf_addstr(out, ", \"kind\": ");
	strbuf_add_json_string(out, ev->kind);
	strbuf_addf(out, ", \"unit\": \"%s\", \"supported\": %s, \"counted\": %s, ", ev->is_clock ? "msec" : "",
	            cell->supported ? "true" : "false", cell->runs.n ? "true" : "false");
	struct stat_summary s;
	stat_cell_summary(cell, &s);
	key_num(out, "value", cell->runs.n ? s.mean * k : NAN);
	strbuf_addstr(out, ", ");
	key_num(out, "running_pct", cell->runs.n ? 100.0 * stat_cell_share(cell) : NAN);
	struct stat_metric m;
	if (cell->runs.n && stat_derive(ev->name, s.mean, b, &m)) {
		strbuf_addstr(out, ", \"metric\": {");
		key_num(out, "value", m.value);
		strbuf_addstr(out, ", \"unit\": ");
		strbuf_add_json_string(out, m.unit);
		strbuf_addstr(out, "}");
	} else {
		strbuf_addstr(out, ", \"metric\": null");
	}
	strbuf_addstr(out, ", \"stats\": ");
	summary(out, cell->runs.v, cell->runs.n, k);
	strbuf_addch(out, '}');
}

static void change(struct strbuf *out, const struct stat_summary *a, const struct stat_summary *b, bool is_time,
                   const struct stat_result *r)
{
	struct stat_change ch;
	if (stat_compare(a, b, r->confidence, r->min_change_pct, &ch)) {
		strbuf_addstr(out, "null");
		return;
	}
	char words[128];
	stat_verdict(&ch, is_time, words, sizeof(words));
	strbuf_addch(out, '{');
	key_num(out, "change_pct", ch.rel_pct);
	strbuf_addstr(out, ", ");
	key_num(out, "ci_half_pct", ch.half_pct);
	strbuf_addstr(out, ", ");
	key_num(out, "ci_low_pct", ch.lo_pct);
	strbuf_addstr(out, ", ");
	key_num(out, "ci_high_pct", ch.hi_pct);
	strbuf_addstr(out, ", ");
	key_num(out, "t", ch.t);
	strbuf_addstr(out, ", ");
	key_num(out, "df", ch.df);
	strbuf_addstr(out, ", ");
	key_num(out, "p_value", ch.p_value);
	strbuf_addf(out, ", \"significant\": %s, \"verdict\": ", ch.direction != STAT_SAME ? "true" : "false");
	strbuf_add_json_string(out, words);
	strbuf_addch(out, '}');
}

static void command(struct strbuf *out, const struct stat_result *r, size_t ci)
{
	const struct stat_command *c = &r->cmds[ci];
	struct stat_base b;
	stat_result_base(r, ci, &b);
	strbuf_addstr(out, "    {\"command\": ");
	strbuf_add_json_string(out, c->label);
	strbuf_addf(out, ", \"runs\": %zu, ", c->runs_done);
	if (r->attached)
		strbuf_addstr(out, "\"exit_code\": null,\n");
	else
		strbuf_addf(out, "\"exit_code\": %d,\n", c->exit_code);
	strbuf_addstr(out, "     \"counters\": [\n");
	for (size_t e = 0; e < r->n_events; e++) {
		strbuf_addstr(out, "      ");
		counter(out, r, ci, e, &b);
		strbuf_addstr(out, e + 1 < r->n_events ? ",\n" : "\n");
	}
	strbuf_addstr(out, "     ],\n     \"wall_sec\": ");
	summary(out, c->wall_ns.v, c->wall_ns.n, 1e-9);
	strbuf_addstr(out, ",\n     \"user_sec\": ");
	summary(out, c->user_s.v, c->user_s.n, 1);
	strbuf_addstr(out, ",\n     \"sys_sec\": ");
	summary(out, c->sys_s.v, c->sys_s.n, 1);
	strbuf_addstr(out, ",\n     \"max_rss_kib\": ");
	summary(out, c->maxrss_kib.v, c->maxrss_kib.n, 1);
	strbuf_addstr(out, ",\n     \"threads\": [");
	for (size_t i = 0; i < c->threads.n; i++) {
		const struct stat_thread *t = &c->threads.v[i];
		strbuf_addf(out, "%s{\"tid\": %d, \"counters\": {", i ? ", " : "", (int)t->tid);
		for (size_t e = 0; e < r->n_events; e++) {
			strbuf_addstr(out, e ? ", " : "");
			strbuf_add_json_string(out, r->events[e].name);
			strbuf_addstr(out, ": ");
			num(out, t->values[e] < 0 ? NAN : t->values[e] * (r->events[e].is_clock ? 1e-6 : 1.0));
		}
		strbuf_addstr(out, "}}");
	}
	strbuf_addstr(out, "]}");
}

static void json_render(struct strbuf *out, const struct stat_result *r)
{
	strbuf_addstr(out, "{\n  \"tool\": \"kiln stat\",\n");
	strbuf_addf(out, "  \"runs\": %zu,\n  \"interrupted\": %s,\n", r->runs, r->interrupted ? "true" : "false");
	if (r->attached)
		strbuf_addf(out, "  \"pid\": %d,\n", (int)r->pid);
	strbuf_addstr(out, "  \"commands\": [\n");
	for (size_t i = 0; i < r->n_cmds; i++) {
		command(out, r, i);
		strbuf_addstr(out, i + 1 < r->n_cmds ? ",\n" : "\n");
	}
	strbuf_addstr(out, "  ],\n  \"comparison\": ");
	if (!r->compare || r->n_cmds < 2) {
		strbuf_addstr(out, "null\n}\n");
		return;
	}
	strbuf_addstr(out, "{\n    \"baseline\": 0,\n    \"metric\": ");
	strbuf_add_json_string(out, stat_metric_name(r));
	strbuf_addstr(out, ",\n    ");
	key_num(out, "confidence", r->confidence);
	strbuf_addstr(out, ",\n    ");
	key_num(out, "min_change_pct", r->min_change_pct);
	strbuf_addstr(out, ",\n    \"against\": [\n");
	struct stat_summary a, b;
	for (size_t i = 1; i < r->n_cmds; i++) {
		strbuf_addf(out, "      {\"command\": %zu, \"verdict\": ", i);
		stat_metric_summary(r, 0, &a);
		stat_metric_summary(r, i, &b);
		change(out, &a, &b, stat_metric_is_time(r), r);
		strbuf_addstr(out, ",\n       \"wall_sec\": ");
		stat_summarize(r->cmds[0].wall_ns.v, r->cmds[0].wall_ns.n, &a);
		stat_summarize(r->cmds[i].wall_ns.v, r->cmds[i].wall_ns.n, &b);
		change(out, &a, &b, true, r);
		strbuf_addstr(out, ",\n       \"counters\": {");
		for (size_t e = 0; e < r->n_events; e++) {
			strbuf_addstr(out, e ? ",\n         " : "\n         ");
			strbuf_add_json_string(out, r->events[e].name);
			strbuf_addstr(out, ": ");
			if (!r->cmds[0].cells[e].runs.n || !r->cmds[i].cells[e].runs.n) {
				strbuf_addstr(out, "null");
				continue;
			}
			stat_cell_summary(&r->cmds[0].cells[e], &a);
			stat_cell_summary(&r->cmds[i].cells[e], &b);
			change(out, &a, &b, r->events[e].is_clock, r);
		}
		strbuf_addstr(out, "}}");
		strbuf_addstr(out, i + 1 < r->n_cmds ? ",\n" : "\n");
	}
	strbuf_addstr(out, "    ]\n  }\n}\n");
}

const struct stat_render_ops stat_json_ops = {"json", json_render};
