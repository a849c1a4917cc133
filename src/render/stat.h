/* stat.h - the renderers of `kiln stat`: one ops struct per output format
 * (text as perf stat lays it out, json, csv), all fed the same stat_result.
 *
 * A stat_result holds every run's count of every event for every command
 * (one command, or several with --compare); renderers summarise it with
 * analysis/stat_compare.h, append to a strbuf the caller owns and never
 * print or exit.
 */
#ifndef KILN_RENDER_STAT_H
#define KILN_RENDER_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "analysis/stat_compare.h"
#include "util/strbuf.h"
#include "util/vec.h"

/* The verdict is about wall time rather than an event. */
#define STAT_METRIC_WALL (-1)

/* One event (a row). */
struct stat_event {
	const char *name; /* as perf spells it; owned by the caller */
	const char *kind; /* "software", "hardware", "cache", "tracepoint" */
	bool is_clock;    /* counts nanoseconds: shown in msec */
};

/* One event of one command over its runs. */
struct stat_cell {
	VEC(double) runs; /* the scaled count of every run it was counted in */
	double share_sum; /* sum over those runs of running / enabled time */
	bool supported;   /* false: the machine cannot count it ("<not supported>") */
};

/* One thread's counts (-p with --per-thread): values[event], or -1 when not counted. */
struct stat_thread {
	pid_t tid;
	double *values;
};

struct stat_command {
	const char *label;       /* the command as the user typed it */
	struct stat_cell *cells; /* one per event */
	VEC(double) wall_ns;
	VEC(double) user_s;
	VEC(double) sys_s;
	VEC(double) maxrss_kib;
	VEC(struct stat_thread) threads; /* --per-thread only */
	int exit_code;                   /* of the last run that failed, else 0 */
	size_t runs_done;
};

struct stat_result {
	const struct stat_event *events;
	size_t n_events;
	struct stat_command *cmds;
	size_t n_cmds;
	size_t runs;      /* runs asked for per command */
	bool interrupted; /* Ctrl-C: the figures cover what was counted */
	bool attached;    /* -p: no rusage, no exit status */
	pid_t pid;
	bool compare;      /* --compare: several commands side by side */
	int metric;        /* event index the verdict is about, or STAT_METRIC_WALL */
	double confidence; /* e.g. 0.95 */
	double min_change_pct;
};

struct stat_render_ops {
	const char *name; /* "text", "json", "csv" */
	/* Appends the whole report for r to out. */
	void (*render)(struct strbuf *out, const struct stat_result *r);
};

extern const struct stat_render_ops stat_text_ops;
extern const struct stat_render_ops stat_json_ops;
extern const struct stat_render_ops stat_csv_ops;

/* The renderer named `name`, or NULL. */
static inline const struct stat_render_ops *stat_ops_find(const char *name)
{
	static const struct stat_render_ops *const all[] = {&stat_text_ops, &stat_json_ops, &stat_csv_ops};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(name, all[i]->name))
			return all[i];
	return NULL;
}

/* The summary of a cell's runs. */
static inline void stat_cell_summary(const struct stat_cell *c, struct stat_summary *s)
{
	stat_summarize(c->runs.v, c->runs.n, s);
}

/* The mean share of time a cell's event was running (1 = never multiplexed). */
static inline double stat_cell_share(const struct stat_cell *c)
{
	return c->runs.n ? c->share_sum / (double)c->runs.n : 1.0;
}

/* The summary of the figure the verdict is about, for command i. */
static inline void stat_metric_summary(const struct stat_result *r, size_t i, struct stat_summary *s)
{
	const struct stat_command *c = &r->cmds[i];
	if (r->metric == STAT_METRIC_WALL)
		stat_summarize(c->wall_ns.v, c->wall_ns.n, s);
	else
		stat_cell_summary(&c->cells[r->metric], s);
}

/* The name of the figure the verdict is about. */
static inline const char *stat_metric_name(const struct stat_result *r)
{
	return r->metric == STAT_METRIC_WALL ? "wall time" : r->events[r->metric].name;
}

/* Whether the verdict's figure is a time (slower/faster) or a count (higher/lower). */
static inline bool stat_metric_is_time(const struct stat_result *r)
{
	return r->metric == STAT_METRIC_WALL || r->events[r->metric].is_clock;
}

/* Fills the bases of perf's derived ratios from command i's means. */
void stat_result_base(const struct stat_result *r, size_t i, struct stat_base *b);

#endif
