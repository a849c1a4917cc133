/* report.c - `kiln report`: read a .kiln profile and print where the time
 * went: the hottest functions, the call tree or the split by thread, as
 * text for a person or JSON for a program. Parses options and wires the
 * reader, symbols, hotspots and a renderer together.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "analysis/alloc_site.h"
#include "analysis/heap.h"
#include "analysis/memcheck_profile.h"
#include "analysis/hotspots.h"
#include "cmd/cmd.h"
#include "cmd/offcpu_view.h"
#include "profile/profile.h"
#include "profile/profile_filter.h"
#include "render/heap.h"
#include "render/memcheck.h"
#include "render/report.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DEFAULT_FILE        "profile.kiln"
#define DEFAULT_LIMIT       25
#define DEFAULT_MIN_PERCENT 0.5

static const char report_usage[] = "usage: kiln report [options] [FILE]\n"
                                   "\n"
                                   "Shows where a profile's time went: the hottest functions (default), the\n"
                                   "call tree, or the split by thread. FILE defaults to profile.kiln; a\n"
                                   "perf.data file (perf record's) is read too. On a\n"
                                   "heap profile (kiln heap) it shows the heap summary kiln heap printed;\n"
                                   "--value, --tree or --threads show the tables instead.\n"
                                   "\n"
                                   "  -i, --input FILE          read FILE (the same as naming it last)\n"
                                   "  -t, --tree                call tree from the roots with total percentages,\n"
                                   "                            like 'perf report --children -g caller'\n"
                                   "  -T, --threads             samples and share per thread, with thread names\n"
                                   "  -P, --processes           one report per command (cc1, as, ...), each\n"
                                   "                            headed by its pids and share of all samples\n"
                                   "      --pid PIDS            only samples of these processes (comma list)\n"
                                   "      --tid TIDS            only samples of these threads (comma list)\n"
                                   "      --comm NAMES          only samples of these commands or thread names\n"
                                   "  -s, --sort KEY            order functions by self, total or name (default self)\n"
                                   "  -n, --limit N             show N functions (default 25; 0 shows all)\n"
                                   "      --value TYPE          which value to add up, e.g. cpu or samples\n"
                                   "                            (default: the second type, cpu, when present)\n"
                                   "  -m, --min-percent P       hide call tree nodes below P% (default 0.5)\n"
                                   "      --json                machine-readable output (schema in kiln-report(1))\n"
                                   "      --pools               worker pools of an off-CPU or --wall profile:\n"
                                   "                            busy, parked, blocked in tasks, and a verdict\n"
                                   "      --park-frame REGEX    with --pools: a function in which workers wait\n"
                                   "                            for work (besides the known runtimes'); repeatable\n"
                                   "      --no-inline           fold inlined functions into the function they\n"
                                   "                            were inlined into, like 'perf report --no-inline'\n"
                                   "heap summary:\n"
                                   "  -n, --limit N             call sites per list (default 5)\n"
                                   "      --full-stacks         whole stacks, allocator and runtime included\n"
                                   "                            (tables of a heap profile: allocator frames too)\n"
                                   "      --alloc-fn REGEX      functions (whole name) that are allocator\n"
                                   "                            wrappers, not sites; repeatable\n"
                                   "  -h, --help                show this help\n"
                                   "\n"
                                   "Columns: Self% is the share of samples whose innermost frame is the\n"
                                   "function, Total% the share whose stack contains it (recursion counted\n"
                                   "once), Samples the number of samples with it innermost.\n"
                                   "Colours follow the terminal; set NO_COLOR to turn them off.\n"
                                   "See kiln-report(1).\n";

struct report_args {
	const char *file;
	const char *value;
	bool json, tree, threads, processes, no_inline, full_stacks, limit_set, pools;
	struct offcpu_view_args view; /* --pools, --park-frame */
	struct profile_filter filter; /* --pid, --tid, --comm */
	struct alloc_rule *rule;      /* --alloc-fn; NULL: the default table */
	enum hotspot_sort sort;
	size_t limit;
	double min_percent;
};

static int parse_args(int argc, char **argv, struct report_args *a)
{
	enum {
		OPT_VALUE = 256,
		OPT_JSON,
		OPT_NO_INLINE,
		OPT_FULL_STACKS,
		OPT_ALLOC_FN,
		OPT_PID,
		OPT_TID,
		OPT_COMM,
		OPT_POOLS,
		OPT_PARK
	};
	static const struct option opts[] = {
	    {"input", required_argument, NULL, 'i'},
	    {"tree", no_argument, NULL, 't'},
	    {"threads", no_argument, NULL, 'T'},
	    {"processes", no_argument, NULL, 'P'},
	    {"pid", required_argument, NULL, OPT_PID},
	    {"tid", required_argument, NULL, OPT_TID},
	    {"comm", required_argument, NULL, OPT_COMM},
	    {"sort", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'n'},
	    {"value", required_argument, NULL, OPT_VALUE},
	    {"min-percent", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"no-inline", no_argument, NULL, OPT_NO_INLINE},
	    {"full-stacks", no_argument, NULL, OPT_FULL_STACKS},
	    {"alloc-fn", required_argument, NULL, OPT_ALLOC_FN},
	    {"pools", no_argument, NULL, OPT_POOLS},
	    {"park-frame", required_argument, NULL, OPT_PARK},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	optind = 1;
	opterr = 0; /* our own messages, in kiln's words */
	while ((c = getopt_long(argc, argv, ":i:tTPs:n:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			a->file = optarg;
			break;
		case 't':
			a->tree = true;
			break;
		case 'T':
			a->threads = true;
			break;
		case 'P':
			a->processes = true;
			break;
		case OPT_PID:
		case OPT_TID:
		case OPT_COMM:
			if (cmd_filter_option(&a->filter, c == OPT_PID ? "pid" : c == OPT_TID ? "tid" : "comm", optarg))
				return 2;
			break;
		case 's':
			if (!strcmp(optarg, "self")) {
				a->sort = HOTSPOT_SORT_SELF;
			} else if (!strcmp(optarg, "total")) {
				a->sort = HOTSPOT_SORT_TOTAL;
			} else if (!strcmp(optarg, "name")) {
				a->sort = HOTSPOT_SORT_NAME;
			} else {
				kiln_error("--sort takes self, total or name; got '%s'", optarg);
				return 2;
			}
			break;
		case 'n': {
			uint64_t limit;
			if (cmd_parse_u64(optarg, &limit)) {
				kiln_error("--limit takes a number of rows (0 for all); got '%s'", optarg);
				return 2;
			}
			a->limit = (size_t)limit;
			a->limit_set = true;
			break;
		}
		case OPT_VALUE:
			a->value = optarg;
			break;
		case 'm': {
			char *end;
			errno = 0;
			a->min_percent = strtod(optarg, &end);
			if (errno || end == optarg || (*end && strcmp(end, "%")) || !(a->min_percent >= 0) ||
			    a->min_percent > 100) {
				kiln_error("--min-percent takes a percentage from 0 to 100, like 0.5; got '%s'",
				           optarg);
				return 2;
			}
			break;
		}
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_NO_INLINE:
			a->no_inline = true;
			break;
		case OPT_FULL_STACKS:
			a->full_stacks = true;
			break;
		case OPT_ALLOC_FN:
			if (cmd_alloc_fn(&a->rule, optarg))
				return 2;
			break;
		case OPT_POOLS:
			a->pools = true;
			break;
		case OPT_PARK:
			if (offcpu_view_park_option(&a->view, optarg))
				return 2;
			break;
		case 'h':
			cmd_print_usage(report_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("report", c, argv);
		}
	}
	if (optind < argc) {
		if (a->file || optind + 1 < argc) {
			kiln_error("report reads one profile; got more than one file (see 'kiln report --help')");
			return 2;
		}
		a->file = argv[optind];
	}
	if (a->view.npark && !a->pools) {
		kiln_error("--park-frame names where pool workers wait, for --pools; add --pools (see 'kiln report "
		           "--help')");
		return 2;
	}
	if (!a->file)
		a->file = DEFAULT_FILE;
	return -1;
}

/* Columns to fit text into: the terminal's when stdout is one, else 0
 * (no eliding: a pipe or a file gets whole names for grep). */
static int output_width(void)
{
	if (!isatty(STDOUT_FILENO))
		return 0;
	const char *cols = getenv("COLUMNS");
	if (cols && *cols) {
		char *end;
		long v = strtol(cols, &end, 10);
		if (!*end && v >= 40 && v <= 1000)
			return (int)v;
	}
	struct winsize ws;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* The heap summary of a heap profile, as kiln heap printed it. */
static int heap_summary(const struct report_args *a, struct profile *p, struct strbuf *out)
{
	struct heap_render_opts ro = {0};
	/* the same default as kiln heap's --top; 0 (all) is the most a list holds */
	ro.top = !a->limit_set ? 5 : a->limit && a->limit < 64 ? (uint32_t)a->limit : 64;
	ro.command = profile_get_meta(p, "command");
	ro.full_stacks = a->full_stacks;
	return cmd_heap_view(out, p, a->rule, &ro, a->json);
}

/* The report of a memcheck profile, as kiln memcheck printed it (every
 * error, the loss records of the classes it showed, the summary). */
static int memcheck_summary(const struct report_args *a, struct profile *p, struct strbuf *out)
{
	struct mc_report *r = NULL;
	if (mc_report_from_profile(p, &r)) {
		kiln_error("'%s': its memcheck entries are malformed; the tables are still there: kiln report "
		           "--value errors %s",
		           a->file, a->file);
		return 1;
	}
	struct mc_render_opts ro = {
	    .show_leaks = r->show_leaks,
	    .error_leaks = r->error_leaks,
	    .exitcode = r->exitcode,
	};
	if (a->json)
		mc_render_json(out, r, &ro);
	else if (mc_render_has_findings(r, &ro))
		mc_render_text(out, r, &ro);
	else
		strbuf_addstr(out, "kiln memcheck: no errors and no leaks to show\n");
	mc_report_free(r);
	return 0;
}

/* Fills o and picks the renderer for a's sections. */
static const struct report_ops *report_setup(const struct report_args *a, bool complete, struct report_options *o)
{
	*o = (struct report_options){
	    .file = a->file,
	    .complete = complete,
	    .sort = a->sort,
	    .limit = a->limit,
	    .min_percent = a->min_percent,
	};
	if (a->json) {
		o->sections = REPORT_FUNCTIONS | REPORT_THREADS | REPORT_STACKS | (a->tree ? REPORT_TREE : 0);
		return &report_json_ops;
	}
	o->sections = (a->tree ? REPORT_TREE : 0) | (a->threads ? REPORT_THREADS : 0);
	if (!o->sections)
		o->sections = REPORT_FUNCTIONS;
	o->width = output_width();
	o->color = cmd_stdout_color();
	return &report_text_ops;
}

/* --processes: one report per command, most samples first, each on the
 * samples of that command only (p's samples are restored at the end). As
 * JSON: {"file", "processes": [{"command", "pids", "samples", "percent",
 * "report": the report of that command}]}. */
static int report_processes(const struct report_args *a, struct profile *p, bool complete, int64_t whole,
                            struct strbuf *out)
{
	struct profile_commands cmds;
	profile_commands_build(p, &cmds);
	size_t n = p->samples.n;
	struct profile_sample *all = xmalloc((n ? n : 1) * sizeof(*all));
	if (n)
		memcpy(all, p->samples.v, n * sizeof(*all));
	struct report_options o;
	const struct report_ops *ops = report_setup(a, complete, &o);
	int rc = 0;
	if (a->json) {
		strbuf_addstr(out, "{\n\"file\": ");
		strbuf_add_json_string(out, a->file);
		strbuf_addstr(out, ",\n\"processes\": [");
	}
	for (size_t i = 0; i < cmds.v.n; i++) {
		const struct profile_command *pc = &cmds.v.v[i];
		memcpy(p->samples.v, all, n * sizeof(*all));
		p->samples.n = n;
		profile_keep_command(p, pc->name);
		struct hotspots h;
		int vi;
		if (cmd_hotspots_of(p, a->file, a->value, &h, &vi)) {
			rc = -1;
			break;
		}
		const char *name = pc->name ? profile_str(p, pc->name) : "(unknown command)";
		double pct = whole ? 100.0 * (double)h.total / (double)whole : 0.0;
		if (a->json) {
			strbuf_addstr(out, i ? ",\n{\"command\": " : "\n{\"command\": ");
			strbuf_add_json_string(out, name);
			strbuf_addstr(out, ", \"pids\": [");
			for (size_t k = 0; k < pc->pids.n; k++)
				strbuf_addf(out, "%s%" PRIu32, k ? ", " : "", pc->pids.v[k]);
			strbuf_addf(out, "], \"samples\": %" PRIu64 ", \"percent\": %.1f,\n\"report\": ", pc->samples,
			            pct);
		} else {
			strbuf_addf(out, "%s== %s: %.1f%% of all %s, %" PRIu64 " sample%s, pid%s ", i ? "\n" : "", name,
			            pct, h.value_type, pc->samples, pc->samples == 1 ? "" : "s",
			            pc->pids.n == 1 ? "" : "s");
			for (size_t k = 0; k < pc->pids.n; k++)
				strbuf_addf(out, "%s%" PRIu32, k ? ", " : "", pc->pids.v[k]);
			strbuf_addstr(out, " ==\n");
		}
		report_render(out, ops, p, &h, &o);
		if (a->json)
			strbuf_addstr(out, "}");
		hotspots_release(&h);
	}
	if (a->json)
		strbuf_addstr(out, "\n]\n}\n");
	else if (!cmds.v.n)
		strbuf_addstr(out, "no samples\n");
	memcpy(p->samples.v, all, n * sizeof(*all));
	p->samples.n = n;
	free(all);
	profile_commands_release(&cmds);
	return rc;
}

static int report_run(const struct report_args *a)
{
	bool complete;
	struct profile *p = cmd_load_profile(a->file, "showing", &complete);
	if (!p)
		return 1;
	int rc = 1;
	struct hotspots h;
	bool have_h = false;
	struct strbuf out = STRBUF_INIT;
	if (a->no_inline)
		profile_fold_inlined(p);
	cmd_filter_profile(p, &a->filter, a->file);
	if (a->pools) {
		struct offcpu_view_args v = a->view;
		v.json = a->json;
		v.limit = a->limit_set ? a->limit : 10;
		int status = offcpu_view(&v, p, a->file, &out);
		if (status) {
			rc = status;
			goto out_free;
		}
		goto out_write;
	}
	if (!a->value && !a->tree && !a->threads && !a->processes && heap_profile_is(p)) {
		heap_summary(a, p, &out);
		goto out_write;
	}
	if (!a->value && !a->tree && !a->threads && !a->processes && mc_profile_is(p)) {
		if (memcheck_summary(a, p, &out))
			goto out_free;
		goto out_write;
	}
	/* the tables of a heap profile: Self% on the allocation sites, not on
	 * alloc::alloc (one rule with the summary) */
	if (!a->full_stacks && heap_profile_is(p))
		alloc_rule_trim_profile(a->rule, p);
	int vi = 0;
	if (cmd_hotspots_of(p, a->file, a->value, &h, &vi)) {
		rc = vi == -ENOENT ? 2 : 1; /* no such --value: a usage error */
		goto out_free;
	}
	have_h = true;
	if (a->processes) {
		if (report_processes(a, p, complete, h.total, &out))
			goto out_free;
		goto out_write;
	}
	struct report_options o;
	const struct report_ops *ops = report_setup(a, complete, &o);
	report_render(&out, ops, p, &h, &o);
out_write:
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
		kiln_error("cannot write the report: %s", strerror(errno));
		goto out_free;
	}
	rc = 0;
out_free:
	strbuf_release(&out);
	if (have_h)
		hotspots_release(&h);
	profile_free(p);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = {.limit = DEFAULT_LIMIT, .min_percent = DEFAULT_MIN_PERCENT};
	profile_filter_init(&a.filter);
	int rc = parse_args(argc, argv, &a);
	if (rc < 0)
		rc = report_run(&a);
	alloc_rule_free(a.rule);
	profile_filter_release(&a.filter);
	return rc;
}
