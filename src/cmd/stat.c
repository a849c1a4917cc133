/* stat.c - `kiln stat`: count events of a command (or a running process)
 * as perf stat does, over repeated runs with their spread, or compare
 * several shell commands run interleaved. Parses options and wires
 * capture/counters, analysis/stat_compare and render/stat together. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capture/counters.h"
#include "capture/events.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "render/stat.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static const char stat_usage[] = "usage: kiln stat [options] -- CMD [ARGS...]\n"
                                 "       kiln stat [options] -p PID [--duration SECONDS]\n"
                                 "       kiln stat [options] --compare 'CMD A' 'CMD B' ...\n"
                                 "       kiln stat --list\n"
                                 "\n"
                                 "Counts events of a command and every thread and child it starts, as\n"
                                 "perf stat does: task-clock, context switches, page faults, and where the\n"
                                 "PMU exists cycles, instructions and branches; also wall, user and sys\n"
                                 "time and peak RSS. The command's output passes through; the counts go to\n"
                                 "stderr (or -o FILE).\n"
                                 "\n"
                                 "  -e, --event LIST          events to count, comma separated: perf's names\n"
                                 "                            (task-clock, cycles, cache-misses, sw:NAME, hw:NAME)\n"
                                 "                            or tracepoints 'sys:name'; see --list\n"
                                 "  -d, --detailed            add L1-dcache and LLC loads and misses\n"
                                 "  -r, --repeat N            run N times; figures are means +- the relative\n"
                                 "                            standard error of the mean, as perf stat prints\n"
                                 "      --warmup K            K runs first that are not counted\n"
                                 "      --compare             the arguments are shell commands (run with\n"
                                 "                            /bin/sh -c), run interleaved and compared\n"
                                 "                            against the first\n"
                                 "      --metric NAME         the figure the --compare verdict is about: an\n"
                                 "                            event, or 'wall' (default task-clock, else wall)\n"
                                 "      --confidence PCT      confidence level of the verdict (default 95)\n"
                                 "      --min-change PCT      smaller changes are never called significant\n"
                                 "                            (default 2; 0 = the t-test alone decides)\n"
                                 "  -p, --pid PID             count a running process (all its threads)\n"
                                 "      --duration SECONDS    stop after SECONDS (a command gets SIGINT)\n"
                                 "      --per-thread          with -p: the counts of each thread too\n"
                                 "      --no-inherit          do not count threads and children started later\n"
                                 "      --json                JSON output (schema in kiln-stat(1))\n"
                                 "      --csv                 CSV output, one line per command and event\n"
                                 "  -o, --output FILE         write the counts to FILE instead of stderr\n"
                                 "      --list                list the events this machine can count\n"
                                 "  -h, --help                show this help\n"
                                 "\n"
                                 "Exit status is the command's (128+N when it died from signal N); with -r,\n"
                                 "that of the last run that failed. See kiln-stat(1).\n";

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t timed_out;

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		timed_out = 1;
	else
		interrupted = sig;
}

struct stat_args {
	VEC(const char *) event_lists;
	bool detailed, compare, inherit, per_thread, list;
	uint64_t repeat, warmup;
	const char *metric;
	double confidence, min_change, duration;
	pid_t pid;
	const char *format, *output;
	char **argv;
	int argc;
};

static int parse_args(int argc, char **argv, struct stat_args *a)
{
	enum {
		OPT_WARMUP = 256,
		OPT_COMPARE,
		OPT_METRIC,
		OPT_CONFIDENCE,
		OPT_MIN_CHANGE,
		OPT_DURATION,
		OPT_PER_THREAD,
		OPT_NO_INHERIT,
		OPT_JSON,
		OPT_CSV,
		OPT_LIST,
	};
	static const struct option opts[] = {
	    {"event", required_argument, NULL, 'e'},
	    {"detailed", no_argument, NULL, 'd'},
	    {"repeat", required_argument, NULL, 'r'},
	    {"warmup", required_argument, NULL, OPT_WARMUP},
	    {"compare", no_argument, NULL, OPT_COMPARE},
	    {"metric", required_argument, NULL, OPT_METRIC},
	    {"confidence", required_argument, NULL, OPT_CONFIDENCE},
	    {"min-change", required_argument, NULL, OPT_MIN_CHANGE},
	    {"pid", required_argument, NULL, 'p'},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"per-thread", no_argument, NULL, OPT_PER_THREAD},
	    {"no-inherit", no_argument, NULL, OPT_NO_INHERIT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"csv", no_argument, NULL, OPT_CSV},
	    {"output", required_argument, NULL, 'o'},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	uint64_t v;
	double d;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:e:dr:p:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			vec_push(&a->event_lists, optarg);
			break;
		case 'd':
			a->detailed = true;
			break;
		case 'r':
			if (cmd_parse_u64(optarg, &a->repeat) || a->repeat == 0 || a->repeat > 1000000) {
				kiln_error("-r takes a number of runs, like -r 10; got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_WARMUP:
			if (cmd_parse_u64(optarg, &a->warmup) || a->warmup > 1000000) {
				kiln_error("--warmup takes a number of runs, like --warmup 2; got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_COMPARE:
			a->compare = true;
			break;
		case OPT_METRIC:
			a->metric = optarg;
			break;
		case OPT_CONFIDENCE:
			if (cmd_parse_double(optarg, &d) || d <= 0 || d >= 100) {
				kiln_error("--confidence takes a percentage between 0 and 100, like 95; got '%s'",
				           optarg);
				return 2;
			}
			a->confidence = d / 100.0;
			break;
		case OPT_MIN_CHANGE:
			if (cmd_parse_double(optarg, &a->min_change) || a->min_change < 0) {
				kiln_error("--min-change takes a percentage, like 2; got '%s'", optarg);
				return 2;
			}
			break;
		case 'p':
			if (cmd_parse_u64(optarg, &v) || v == 0 || v > INT_MAX) {
				kiln_error("-p takes a process id; got '%s'", optarg);
				return 2;
			}
			a->pid = (pid_t)v;
			break;
		case OPT_DURATION:
			if (cmd_parse_double(optarg, &a->duration) || a->duration <= 0) {
				kiln_error("--duration takes seconds, like --duration 5; got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_PER_THREAD:
			a->per_thread = true;
			break;
		case OPT_NO_INHERIT:
			a->inherit = false;
			break;
		case OPT_JSON:
			a->format = "json";
			break;
		case OPT_CSV:
			a->format = "csv";
			break;
		case 'o':
			a->output = optarg;
			break;
		case OPT_LIST:
			a->list = true;
			break;
		case 'h':
			cmd_print_usage(stat_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("stat", c, argv);
		}
	}
	a->argv = argv + optind;
	a->argc = argc - optind;
	if (a->list)
		return -1;
	if (a->pid && a->argc) {
		kiln_error("give either a command after '--' or -p PID, not both");
		return 2;
	}
	if (!a->pid && !a->argc) {
		kiln_error("nothing to count: give a command, as in 'kiln stat -- ./my-program', or -p PID");
		return 2;
	}
	if (a->pid && (a->repeat > 1 || a->warmup || a->compare)) {
		kiln_error("-r, --warmup and --compare run commands; they do not go with -p PID");
		return 2;
	}
	if (a->per_thread && !a->pid) {
		kiln_error("--per-thread needs -p PID (a launched command's threads are counted together)");
		return 2;
	}
	if (a->compare && a->argc < 2) {
		kiln_error("--compare needs two or more commands, as in --compare './old input' './new input'");
		return 2;
	}
	if (a->metric && !a->compare) {
		kiln_error("--metric chooses the figure of the --compare verdict; add --compare");
		return 2;
	}
	return -1;
}

/* --list: every named event and whether this machine counts it. */
static void list_one(void *ctx, const struct event_desc *e)
{
	(void)ctx;
	int rc = event_probe(e);
	printf("  %-28s %s%s\n", e->name, event_kind(e), rc ? "\t<not supported>" : "");
}

static int list_events(void)
{
	printf("events (perf's names; 'sw:NAME' and 'hw:NAME' also work):\n");
	event_list(list_one, NULL);
	printf("  %-28s %s\n", "SUBSYSTEM:EVENT", "tracepoint");
	printf("\ntracepoints are listed under /sys/kernel/tracing/events\n");
	return 0;
}

struct supported_ctx {
	struct strbuf *sb;
};

static void add_supported(void *ctx, const struct event_desc *e)
{
	struct supported_ctx *c = ctx;
	if (event_probe(e))
		return;
	if (c->sb->len)
		strbuf_addstr(c->sb, ", ");
	strbuf_addstr(c->sb, e->name);
}

/* Adds one event by name; a clear one-line error when it is unknown. */
static int add_event(struct counter_set *set, const char *name, bool group)
{
	struct event_desc ev;
	int rc = event_parse(name, &ev);
	if (rc == -EACCES) {
		kiln_error("cannot read the id of tracepoint '%s' in tracefs; run as root or mount tracefs "
		           "(mount -t tracefs nodev /sys/kernel/tracing)",
		           name);
		return rc;
	}
	struct stat st;
	if (rc && strchr(name, ':') && strncmp(name, "sw:", 3) && strncmp(name, "hw:", 3) &&
	    stat("/sys/kernel/tracing/events", &st) && stat("/sys/kernel/debug/tracing/events", &st)) {
		kiln_error("cannot look up tracepoint '%s': tracefs is not mounted; run: mount -t tracefs nodev "
		           "/sys/kernel/tracing",
		           name);
		return rc;
	}
	if (rc) {
		struct strbuf sb = STRBUF_INIT;
		struct supported_ctx ctx = {&sb};
		event_list(add_supported, &ctx);
		kiln_error(
		    "unknown event '%s'; this machine counts %s and tracepoints 'sys:name' (see 'kiln stat --list')",
		    name, strbuf_str(&sb));
		strbuf_release(&sb);
		return rc;
	}
	for (size_t i = 0; i < set->c.n; i++)
		if (!strcmp(set->c.v[i].ev.name, ev.name))
			return 0; /* counted once */
	counters_add(set, &ev, group);
	return 0;
}

static int build_events(const struct stat_args *a, struct counter_set *set)
{
	/* perf stat's default list; the hardware pairs are grouped so their
	 * ratios are counted over the same time. */
	static const struct {
		const char *name;
		bool group;
	} defaults[] =
	    {
	        {"task-clock", false},   {"context-switches", false}, {"cpu-migrations", false}, {"page-faults", false},
	        {"minor-faults", false}, {"major-faults", false},     {"cycles", false},         {"instructions", true},
	        {"branches", false},     {"branch-misses", true},
	    },
	  detailed[] = {
	      {"L1-dcache-loads", false},
	      {"L1-dcache-load-misses", true},
	      {"LLC-loads", false},
	      {"LLC-load-misses", true},
	  };
	if (!a->event_lists.n)
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			if (add_event(set, defaults[i].name, defaults[i].group))
				return 2;
	for (size_t i = 0; i < a->event_lists.n; i++) {
		char *list = xstrdup(a->event_lists.v[i]);
		char *save = NULL;
		int rc = 0;
		for (char *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
			rc = add_event(set, tok, false);
		free(list);
		if (rc) /* an unknown event is a usage error; unreadable tracefs is not */
			return rc == -EACCES ? 1 : 2;
	}
	if (a->detailed)
		for (size_t i = 0; i < sizeof(detailed) / sizeof(detailed[0]); i++)
			if (add_event(set, detailed[i].name, detailed[i].group))
				return 2;
	return 0;
}

/* Stores one run's counts into cmd's cells. */
static void store_counts(const struct counter_set *set, struct stat_command *cmd)
{
	for (size_t i = 0; i < set->c.n; i++) {
		const struct counter *c = &set->c.v[i];
		struct stat_cell *cell = &cmd->cells[i];
		if (c->err || !c->fds.n)
			continue;
		cell->supported = true;
		double share;
		double v = counter_scale(c->value, c->enabled, c->running, &share);
		if (v < 0)
			continue; /* enabled but never scheduled: not counted */
		vec_push(&cell->runs, v);
		cell->share_sum += share;
	}
}

/* Counters fall back to user space when refused; tracepoints cannot. */
static bool counters_need_kernel(const struct counter_set *set)
{
	for (size_t i = 0; i < set->c.n; i++)
		if (set->c.v[i].ev.is_tracepoint)
			return true;
	return false;
}

/* Runs argv once with counters on it. Returns 0 with *exit_code set, or
 * an exit status for kiln when the command could not be run. */
static int run_once(char *const argv[], const char *label, struct counter_set *set, bool inherit,
                    struct stat_command *cmd, bool keep, int *exit_code)
{
	struct target t;
	int rc = target_launch(&t, argv);
	if (rc) {
		kiln_error("cannot start '%s': %s", label, strerror(-rc));
		return 1;
	}
	rc = counters_open(set, &t.pid, 1, inherit, true);
	if (rc) {
		target_release(&t);
		if (rc == -EACCES || rc == -EPERM)
			cmd_perm_error("count", 0, counters_need_kernel(set));
		else
			kiln_error("cannot count any event of '%s': %s", label, strerror(-rc));
		return 1;
	}
	uint64_t t0 = cmd_now_ns();
	rc = target_start(&t);
	if (rc) {
		counters_close(set);
		target_release(&t);
		return cmd_exec_error(argv[0], rc, NULL);
	}
	struct counter_rusage ru;
	bool forwarded = false;
	for (;;) {
		rc = counters_wait(t.pid, &t.status, &ru);
		if (rc != -EINTR)
			break;
		/* Ctrl-C or --duration: stop the command, then report what it did. */
		if ((interrupted || timed_out) && !forwarded) {
			kill(t.pid, SIGINT);
			forwarded = true;
		}
	}
	uint64_t t1 = cmd_now_ns();
	t.exited = true;
	if (rc == 0) {
		*exit_code = target_exit_code(&t);
	} else {
		*exit_code = 1;
		memset(&ru, 0, sizeof(ru));
	}
	int rrc = counters_read(set);
	if (!rrc && keep)
		store_counts(set, cmd);
	counters_close(set);
	target_release(&t);
	if (rrc) {
		kiln_error("cannot read the counters of '%s': %s", label, strerror(-rrc));
		return 1;
	}
	if (!keep)
		return 0;
	vec_push(&cmd->wall_ns, (double)(t1 - t0));
	vec_push(&cmd->user_s, ru.user_s);
	vec_push(&cmd->sys_s, ru.sys_s);
	vec_push(&cmd->maxrss_kib, (double)ru.maxrss_kib);
	cmd->runs_done++;
	return 0;
}

/* -p PID: counts every thread until it exits, Ctrl-C or --duration. */
static int attach_count(const struct stat_args *a, struct counter_set *set, struct stat_command *cmd)
{
	pid_t *tids = NULL;
	int n = counters_list_threads(a->pid, &tids);
	if (n < 0) {
		kiln_error("no process %d: %s", (int)a->pid, strerror(-n));
		return 1;
	}
	int rc = counters_open(set, tids, (size_t)n, a->inherit, false);
	free(tids);
	if (rc) {
		if (rc == -EACCES || rc == -EPERM)
			cmd_perm_error("count", a->pid, counters_need_kernel(set));
		else
			kiln_error("cannot count any event of process %d: %s", (int)a->pid, strerror(-rc));
		return 1;
	}
	uint64_t t0 = cmd_now_ns();
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)a->pid);
	while (!interrupted && !timed_out) {
		struct stat st;
		if (stat(path, &st) < 0)
			break;
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	counters_disable(set);
	uint64_t t1 = cmd_now_ns();
	rc = counters_read(set);
	if (rc) {
		counters_close(set);
		kiln_error("cannot read the counters of process %d: %s", (int)a->pid, strerror(-rc));
		return 1;
	}
	store_counts(set, cmd);
	vec_push(&cmd->wall_ns, (double)(t1 - t0));
	cmd->runs_done = 1;
	if (a->per_thread) {
		/* The tids of the first counter that opened; every counter has one fd per thread. */
		for (size_t i = 0; i < set->c.n; i++) {
			const struct counter *c = &set->c.v[i];
			for (size_t j = 0; j < c->fds.n; j++) {
				const struct counter_fd *cf = &c->fds.v[j];
				struct stat_thread *t = NULL;
				for (size_t k = 0; k < cmd->threads.n; k++)
					if (cmd->threads.v[k].tid == cf->tid)
						t = &cmd->threads.v[k];
				if (!t) {
					t = vec_grow(&cmd->threads);
					t->tid = cf->tid;
					t->values = xmalloc(set->c.n * sizeof(double));
					for (size_t e = 0; e < set->c.n; e++)
						t->values[e] = -1;
				}
				t->values[i] = counter_scale(cf->value, cf->enabled, cf->running, NULL);
			}
		}
	}
	counters_close(set);
	return 0;
}

static void command_free(struct stat_command *c, size_t n_events)
{
	for (size_t e = 0; e < n_events; e++)
		vec_free(&c->cells[e].runs);
	free(c->cells);
	vec_free(&c->wall_ns);
	vec_free(&c->user_s);
	vec_free(&c->sys_s);
	vec_free(&c->maxrss_kib);
	for (size_t i = 0; i < c->threads.n; i++)
		free(c->threads.v[i].values);
	vec_free(&c->threads);
}

static int choose_metric(const struct stat_args *a, const struct counter_set *set, int *metric)
{
	const char *want = a->metric ? a->metric : "task-clock";
	if (!strcmp(want, "wall") || !strcmp(want, "wall-time")) {
		*metric = STAT_METRIC_WALL;
		return 0;
	}
	struct event_desc ev;
	const char *canon = event_parse(want, &ev) ? want : ev.name;
	for (size_t i = 0; i < set->c.n; i++)
		if (!strcmp(set->c.v[i].ev.name, canon)) {
			*metric = (int)i;
			return 0;
		}
	if (!a->metric) {
		*metric = STAT_METRIC_WALL;
		return 0;
	}
	kiln_error("--metric '%s' is not one of the counted events; add it with -e, or use --metric wall", want);
	return 2;
}

int cmd_stat(int argc, char **argv)
{
	struct stat_args a = {0};
	a.inherit = true;
	a.repeat = 1;
	a.confidence = 0.95;
	a.min_change = 2.0;
	a.format = "text";
	int ret = parse_args(argc, argv, &a);
	if (ret >= 0)
		goto out_args;
	if (a.list) {
		ret = list_events();
		goto out_args;
	}
	struct counter_set set;
	counters_init(&set);
	ret = build_events(&a, &set);
	if (ret)
		goto out_set;
	int metric = STAT_METRIC_WALL;
	if (a.compare && (ret = choose_metric(&a, &set, &metric)))
		goto out_set;
	const struct stat_render_ops *ops = stat_ops_find(a.format);
	/* -o FILE: a temporary file until the counts are in, so a command
	 * that cannot run leaves an earlier FILE as it was */
	FILE *out = stderr;
	struct output of = {.fd = -1};
	if (a.output) {
		int orc = output_open_text(&of, a.output);
		if (orc) {
			kiln_error("cannot write '%s': %s", a.output, strerror(-orc));
			ret = 1;
			goto out_set;
		}
		out = of.f;
	}

	size_t n_events = set.c.n;
	struct stat_event *events = xcalloc(n_events, sizeof(*events));
	for (size_t i = 0; i < n_events; i++) {
		events[i].name = set.c.v[i].ev.name;
		events[i].kind = event_kind(&set.c.v[i].ev);
		events[i].is_clock = set.c.v[i].ev.is_clock;
	}
	size_t n_cmds = a.compare ? (size_t)a.argc : 1;
	struct stat_command *cmds = xcalloc(n_cmds, sizeof(*cmds));
	char ***cmd_argv = xcalloc(n_cmds, sizeof(*cmd_argv));
	struct strbuf label = STRBUF_INIT;
	for (size_t i = 0; i < n_cmds; i++) {
		cmds[i].cells = xcalloc(n_events, sizeof(*cmds[i].cells));
		if (a.compare) {
			cmd_argv[i] = xcalloc(4, sizeof(char *));
			cmd_argv[i][0] = (char *)"/bin/sh";
			cmd_argv[i][1] = (char *)"-c";
			cmd_argv[i][2] = a.argv[i];
			cmds[i].label = a.argv[i];
		} else if (!a.pid) {
			cmd_argv[i] = a.argv;
			for (int k = 0; k < a.argc; k++) {
				if (k)
					strbuf_addch(&label, ' ');
				strbuf_addstr(&label, a.argv[k]);
			}
			cmds[i].label = strbuf_str(&label);
		} else {
			cmds[i].label = "";
		}
	}

	/* kiln outlives the command to print its counts: Ctrl-C interrupts the
	 * wait (no SA_RESTART) and is passed on to the command. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (a.duration > 0) {
		struct itimerval it = {{0, 0},
		                       {(time_t)a.duration, (suseconds_t)((a.duration - floor(a.duration)) * 1e6)}};
		setitimer(ITIMER_REAL, &it, NULL);
	}

	int status = 0;
	ret = 0;
	if (a.pid) {
		ret = attach_count(&a, &set, &cmds[0]);
	} else {
		uint64_t total = a.warmup + a.repeat;
		for (uint64_t r = 0; r < total && !ret && !interrupted && !timed_out; r++) {
			for (size_t k = 0; k < n_cmds && !ret && !interrupted && !timed_out; k++) {
				/* ABBA order: neither command always runs right after the other */
				size_t i = (r % 2) ? n_cmds - 1 - k : k;
				int code = 0;
				ret = run_once(cmd_argv[i], cmds[i].label, &set, a.inherit, &cmds[i], r >= a.warmup,
				               &code);
				if (code) {
					cmds[i].exit_code = code;
					status = code;
				}
			}
		}
	}
	bool counted = false;
	for (size_t i = 0; i < n_cmds; i++)
		counted = counted || cmds[i].runs_done;
	if (!ret && counted) {
		struct stat_result res = {
		    .events = events,
		    .n_events = n_events,
		    .cmds = cmds,
		    .n_cmds = n_cmds,
		    .runs = (size_t)a.repeat,
		    .interrupted = interrupted || (timed_out && !a.pid),
		    .attached = a.pid != 0,
		    .pid = a.pid,
		    .compare = a.compare,
		    .metric = metric,
		    .confidence = a.confidence,
		    .min_change_pct = a.min_change,
		};
		struct strbuf sb = STRBUF_INIT;
		ops->render(&sb, &res);
		fputs(strbuf_str(&sb), out);
		fflush(out);
		strbuf_release(&sb);
		ret = status;
		int orc = a.output ? output_commit(&of) : 0;
		if (orc) {
			kiln_error("cannot write '%s': %s", a.output, strerror(-orc));
			ret = 1;
		}
		if (a.compare && status)
			kiln_warn("a command exited with status %d; its runs are counted all the same", status);
	} else if (!ret && interrupted) {
		ret = 128 + SIGINT;
	}

	for (size_t i = 0; i < n_cmds; i++) {
		command_free(&cmds[i], n_events);
		if (a.compare)
			free(cmd_argv[i]);
	}
	free(cmd_argv);
	free(cmds);
	free(events);
	strbuf_release(&label);
	output_release(&of);
out_set:
	counters_release(&set);
out_args:
	vec_free(&a.event_lists);
	return ret;
}
