/* flame.c - `kiln flame`: draw a profile (a .kiln file, folded stacks or
 * perf script output) as an interactive flame graph SVG or as folded
 * stacks; or record a command first and then draw it (one shot, like
 * cargo flamegraph); or compare two profiles (--diff). Parses options and
 * wires the reader, analysis/flame_tree and render/flame together. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analysis/alloc_site.h"
#include "analysis/heap.h"
#include "analysis/flame_tree.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "cmd/record.h"
#include "profile/profile.h"
#include "profile/profile_filter.h"
#include "profile/stack_input.h"
#include "render/flame.h"
#include "util/strbuf.h"

#define DEFAULT_RECORDING "flamegraph.kiln"

static const char flame_usage[] =
    "usage: kiln flame [options] [FILE]\n"
    "       kiln flame [options] [record options] -- CMD [ARGS...]\n"
    "       kiln flame [options] --diff BASE NEW\n"
    "\n"
    "Draws a profile as an interactive flame graph SVG (hover for details, click\n"
    "to zoom, Ctrl-F to search). FILE is a .kiln profile (default profile.kiln),\n"
    "a perf.data file, folded stacks ('a;b;c 12' lines) or 'perf script' output;\n"
    "'-' reads stdin.\n"
    "With a command after '--' (or -p PID), records it into flamegraph.kiln first.\n"
    "\n"
    "  -o, --output FILE         write to FILE (default flamegraph.svg; a name\n"
    "                            ending in .folded writes folded stacks; - is stdout)\n"
    "      --folded              write folded stacks (to stdout unless -o)\n"
    "      --diff                two inputs, BASE and NEW: NEW's graph coloured by\n"
    "                            the change of each frame's share, in percentage points\n"
    "                            (red grew, blue shrank, grey: a change within sampling noise)\n"
    "      --negate              with --diff: draw BASE's shape, so frames gone from\n"
    "                            NEW show (red still grew, blue shrank)\n"
    "      --reverse             leaves at the root: callers of hot functions merged\n"
    "      --icicle              root at the top, growing down\n"
    "      --flamechart          per thread, samples in time order (x is time)\n"
    "      --title TEXT          --subtitle TEXT   --notes TEXT\n"
    "      --width PX            image width (default 1200)\n"
    "      --min-width PX        merge frames narrower than PX (default 0.1)\n"
    "      --value TYPE          which value to draw: samples (default), cpu, ...\n"
    "      --threads             one tower per thread (thread names at the root)\n"
    "      --thread NAME         only threads named NAME (or with tid NAME)\n"
    "      --comm NAMES          only samples of these commands or thread names\n"
    "                            (comma list: --comm cc1,as)\n"
    "      --pids PIDS           only samples of these processes (comma list; -p\n"
    "                            and --pid record a running process)\n"
    "      --tid TIDS            only samples of these threads (comma list)\n"
    "      --focus REGEX         only stacks with a function matching REGEX\n"
    "      --exclude REGEX       drop stacks with a function matching REGEX\n"
    "      --palette NAME        lang (by origin: Rust, Rust std, C/C++, kernel;\n"
    "                            default), hot, mem or io\n"
    "      --max-line-bytes N    longest line of text input (default 16M)\n"
    "      --max-input-bytes N   most bytes of input, a pprof once uncompressed (default: no limit)\n"
    "      --full-stacks         heap profiles: keep the allocator's frames above\n"
    "                            each allocation site (default: the site is the leaf)\n"
    "      --alloc-fn REGEX      heap profiles: functions (whole name) that are\n"
    "                            allocator wrappers, not sites; repeatable\n"
    "  -q, --quiet               print nothing but errors\n"
    "  -h, --help                show this help\n"
    "\n"
    "Record options (with -- CMD or -p PID), as for kiln record:\n"
    "  -F HZ, -c N, -e EVENT, -g, --call-graph MODE, --no-inherit, --no-kernel,\n"
    "  --engine perf|agent, -p PID, --duration SECONDS, --debug-dir DIR, -q, -f (replace a\n"
    "  --record-output that is not a kiln profile), and --record-output FILE\n"
    "  (default " DEFAULT_RECORDING "; a profile already there moves to FILE.old).\n"
    "\n"
    "Exit status: 0, the command's status when one was recorded, 1 when kiln\n"
    "failed, 2 for a usage error (bad option, value, regex or event).\n"
    "See kiln-flame(1).\n";

struct flame_args {
	const char *output;
	const char *record_output;
	bool folded, diff, icicle, record, quiet, full_stacks;
	struct alloc_rule *rule;      /* --alloc-fn; NULL: the default table */
	struct profile_filter filter; /* --pids, --tid, --comm */
	struct flame_options fo;
	struct flame_svg_options so;
	struct stack_input_limits limits;
	struct strbuf subtitle; /* --subtitle, marked when an input was cut short */
	bool negate;            /* --negate: BASE's shape */
	struct strbuf info;     /* what the last input built is: command, samples, duration */
	double samples;         /* samples its tree's total stands for; 0 when its values are counts */
	const char *value;
	const char *focus, *exclude;
	struct record_args rec; /* record options (record_options), for -- CMD or -p PID */
	int rec_given;          /* how many record options were given, -q aside */
	char **inputs;
	int ninputs;
	char **command;
};

static int parse_args(int argc, char **argv, struct flame_args *a)
{
	enum {
		OPT_FOLDED = 256,
		OPT_DIFF,
		OPT_NEGATE,
		OPT_REVERSE,
		OPT_ICICLE,
		OPT_CHART,
		OPT_TITLE,
		OPT_SUBTITLE,
		OPT_NOTES,
		OPT_WIDTH,
		OPT_MIN_WIDTH,
		OPT_VALUE,
		OPT_THREADS,
		OPT_THREAD,
		OPT_FOCUS,
		OPT_EXCLUDE,
		OPT_PALETTE,
		OPT_FULL_STACKS,
		OPT_ALLOC_FN,
		OPT_REC_OUTPUT,
		OPT_MAX_LINE,
		OPT_MAX_INPUT,
		OPT_PIDS,
		OPT_TID,
		OPT_COMM,
	};
	static const struct option own[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"folded", no_argument, NULL, OPT_FOLDED},
	    {"full-stacks", no_argument, NULL, OPT_FULL_STACKS},
	    {"alloc-fn", required_argument, NULL, OPT_ALLOC_FN},
	    {"diff", no_argument, NULL, OPT_DIFF},
	    {"negate", no_argument, NULL, OPT_NEGATE},
	    {"reverse", no_argument, NULL, OPT_REVERSE},
	    {"icicle", no_argument, NULL, OPT_ICICLE},
	    {"flamechart", no_argument, NULL, OPT_CHART},
	    {"title", required_argument, NULL, OPT_TITLE},
	    {"subtitle", required_argument, NULL, OPT_SUBTITLE},
	    {"notes", required_argument, NULL, OPT_NOTES},
	    {"width", required_argument, NULL, OPT_WIDTH},
	    {"min-width", required_argument, NULL, OPT_MIN_WIDTH},
	    {"value", required_argument, NULL, OPT_VALUE},
	    {"threads", no_argument, NULL, OPT_THREADS},
	    {"thread", required_argument, NULL, OPT_THREAD},
	    {"focus", required_argument, NULL, OPT_FOCUS},
	    {"exclude", required_argument, NULL, OPT_EXCLUDE},
	    {"palette", required_argument, NULL, OPT_PALETTE},
	    {"record-output", required_argument, NULL, OPT_REC_OUTPUT},
	    {"max-line-bytes", required_argument, NULL, OPT_MAX_LINE},
	    {"max-input-bytes", required_argument, NULL, OPT_MAX_INPUT},
	    {"pids", required_argument, NULL, OPT_PIDS},
	    {"tid", required_argument, NULL, OPT_TID},
	    {"comm", required_argument, NULL, OPT_COMM},
	    {"help", no_argument, NULL, 'h'},
	};
	/* kiln record's options follow flame's own, from record's table */
	enum { NOWN = sizeof(own) / sizeof(own[0]) };
	struct option opts[NOWN + RECORD_OPTIONS_COUNT + 1];
	memcpy(opts, own, sizeof(own));
	memcpy(opts + NOWN, record_options, sizeof(record_options));
	int c, rc, dashdash = argc;
	double d;
	/* everything after "--" is the command to record; options and inputs
	 * before it may come in any order */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	optind = 1;
	while ((c = getopt_long(dashdash, argv, ":o:h" RECORD_SHORT_OPTIONS, opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case OPT_FOLDED:
			a->folded = true;
			break;
		case OPT_DIFF:
			a->diff = true;
			break;
		case OPT_NEGATE:
			a->negate = true;
			break;
		case OPT_REVERSE:
			a->fo.reverse = true;
			break;
		case OPT_ICICLE:
			a->so.icicle = true;
			break;
		case OPT_CHART:
			a->fo.chart = true;
			break;
		case OPT_TITLE:
			a->so.title = optarg;
			break;
		case OPT_SUBTITLE:
			a->so.subtitle = optarg;
			break;
		case OPT_NOTES:
			a->so.notes = optarg;
			break;
		case OPT_WIDTH:
			if (cmd_parse_double(optarg, &d) || d < 200 || d > 1e6) {
				kiln_error("--width takes pixels from 200 up, like --width 1600; got '%s'", optarg);
				return 2;
			}
			a->so.width = (unsigned)d;
			break;
		case OPT_MIN_WIDTH:
			if (cmd_parse_double(optarg, &d) || d < 0) {
				kiln_error("--min-width takes pixels, like --min-width 0.5; got '%s'", optarg);
				return 2;
			}
			a->so.min_width = d;
			break;
		case OPT_VALUE:
			a->value = optarg;
			break;
		case OPT_FULL_STACKS:
			a->full_stacks = true;
			break;
		case OPT_ALLOC_FN:
			if (cmd_alloc_fn(&a->rule, optarg))
				return 2;
			break;
		case OPT_THREADS:
			a->fo.threads = true;
			break;
		case OPT_THREAD:
			a->fo.thread = optarg;
			break;
		case OPT_FOCUS:
			a->focus = optarg;
			break;
		case OPT_EXCLUDE:
			a->exclude = optarg;
			break;
		case OPT_PALETTE: {
			int pal = flame_palette_parse(optarg);
			if (pal < 0) {
				kiln_error("unknown palette '%s'; use lang, hot, mem or io", optarg);
				return 2;
			}
			a->so.palette = (enum flame_palette)pal;
			break;
		}
		case OPT_REC_OUTPUT:
			a->record_output = optarg;
			break;
		case OPT_MAX_LINE:
			if (cmd_stack_limit_option("--max-line-bytes", optarg, &a->limits.max_line_bytes))
				return 2;
			break;
		case OPT_MAX_INPUT:
			if (cmd_stack_limit_option("--max-input-bytes", optarg, &a->limits.max_input_bytes))
				return 2;
			break;
		case OPT_PIDS:
		case OPT_TID:
		case OPT_COMM:
			if (cmd_filter_option(&a->filter,
			                      c == OPT_PIDS  ? "pid"
			                      : c == OPT_TID ? "tid"
			                                     : "comm",
			                      optarg))
				return 2;
			break;
		case 'h':
			cmd_print_usage(flame_usage, 0);
			return 0;
		case ':':
		case '?':
			return cmd_bad_option(argv[0], c, argv);
		default: /* kiln record's */
			if ((rc = record_option(&a->rec, c, optarg)))
				return rc;
			a->record |= c == 'p';
			a->quiet |= c == 'q';
			a->rec_given += c != 'q';
			break;
		}
	}
	a->inputs = argv + optind;
	a->ninputs = dashdash - optind;
	if (dashdash + 1 < argc) {
		a->record = true;
		a->command = argv + dashdash + 1;
		if (a->ninputs) {
			kiln_error("give either a profile to draw or a command after '--' to record, not both");
			return 2;
		}
	}
	if (a->record && a->diff) {
		kiln_error("--diff compares two profiles; it cannot record a command");
		return 2;
	}
	if (a->negate && !a->diff) {
		kiln_error("--negate draws a differential graph on BASE's shape; use it with --diff BASE NEW");
		return 2;
	}
	if (a->diff && a->ninputs != 2) {
		kiln_error("--diff takes two profiles, BASE and NEW, as in 'kiln flame --diff before.kiln after.kiln'");
		return 2;
	}
	if (!a->diff && !a->record && a->ninputs > 1) {
		kiln_error("give one profile to draw (or --diff BASE NEW to compare two)");
		return 2;
	}
	if (a->rec_given && !a->record) {
		kiln_error("record options need a command to record, as in 'kiln flame -F 499 -- ./my-program'");
		return 2;
	}
	if (a->record) {
		a->rec.argv = a->command;
		a->rec.output = a->record_output ? a->record_output : DEFAULT_RECORDING;
		return record_args_check(&a->rec);
	}
	return -1;
}

static int compile_regex(regex_t *re, const char *pattern, const char *option)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, re, msg, sizeof(msg));
		kiln_error("%s '%s' is not a valid regular expression: %s", option, pattern, msg);
		return -1;
	}
	return 0;
}

static int find_value(const struct profile *p, const char *name, const char *path)
{
	if (!name) /* a --wall or off-CPU recording says which it draws */
		name = profile_get_meta(p, "default_value");
	if (!name)
		return 0;
	for (size_t i = 0; i < p->value_types.n; i++)
		if (!strcmp(profile_str(p, p->value_types.v[i].type), name) ||
		    !strcmp(profile_str(p, p->value_types.v[i].unit), name))
			return (int)i;
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && !*end && v >= 0 && (size_t)v < p->value_types.n)
		return (int)v;
	cmd_no_value_error(p, path, name);
	return -1;
}

static void add_folded_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	flame_folded_add(ctx, stack, len, count);
}

/* Marks the subtitle: the graph shows only part of what ran. */
static void mark_cut(struct flame_args *a, const char *what, size_t samples)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%zu", samples), lead = n % 3 ? n % 3 : 3;
	struct strbuf grouped = STRBUF_INIT;
	for (int i = 0; i < n; i++) {
		if (i && (i - lead) % 3 == 0)
			strbuf_addch(&grouped, ',');
		strbuf_addch(&grouped, num[i]);
	}
	if (a->subtitle.len)
		strbuf_addstr(&a->subtitle, "; ");
	else if (a->so.subtitle)
		strbuf_addf(&a->subtitle, "%s; ", a->so.subtitle);
	strbuf_addf(&a->subtitle, "%s cut short: %s samples before the cut", what, strbuf_str(&grouped));
	strbuf_release(&grouped);
}

/* Adds n with thousands separators. */
static void add_grouped(struct strbuf *sb, uint64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v), lead = n % 3 ? n % 3 : 3;
	for (int i = 0; i < n; i++) {
		if (i && (i - lead) % 3 == 0)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, num[i]);
	}
}

/* Says what an input is in a->info: its command, samples, duration and
 * date, as far as the input knows them (folded stacks know only samples). */
static void describe_input(struct flame_args *a, const char *path, const struct profile *p, const struct flame_tree *t)
{
	struct strbuf *sb = &a->info;
	const char *cmd = p ? profile_get_meta(p, "command") : NULL;
	const char *slash = strrchr(path, '/');
	strbuf_addstr(sb, strcmp(path, "-") ? slash ? slash + 1 : path : "stdin");
	if (cmd && *cmd)
		strbuf_addf(sb, " \xc2\xb7 %s", cmd);
	strbuf_addstr(sb, " \xc2\xb7 ");
	uint64_t n = (uint64_t)(a->samples > 0 ? a->samples + 0.5 : t->nodes.v[0].value > 0 ? t->nodes.v[0].value : 0);
	add_grouped(sb, n);
	strbuf_addstr(sb, n == 1 ? " sample" : " samples");
	uint64_t dur = p ? profile_get_meta_u64(p, "duration_ns", 0) : 0;
	if (dur)
		strbuf_addf(sb, " \xc2\xb7 %.2f s", (double)dur / 1e9);
	uint64_t start = p ? profile_get_meta_u64(p, "start_time", 0) : 0;
	if (start) {
		time_t secs = (time_t)(start / 1000000000u);
		struct tm tm;
		char date[32];
		if (gmtime_r(&secs, &tm) && strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm))
			strbuf_addf(sb, " \xc2\xb7 %s", date);
	}
}

/* The view's name for the title: "reversed", "per thread", ... */
static void view_name(const struct flame_args *a, struct strbuf *sb)
{
	const struct flame_options *o = &a->fo;
	const char *parts[4] = {o->reverse ? "reversed" : NULL, o->threads && !o->chart ? "per thread" : NULL};
	for (int i = 0; i < 2; i++)
		if (parts[i])
			strbuf_addf(sb, "%s%s", sb->len ? ", " : "", parts[i]);
	if (o->thread)
		strbuf_addf(sb, "%sthread %s", sb->len ? ", " : "", o->thread);
	if (a->focus)
		strbuf_addf(sb, "%sfocus %s", sb->len ? ", " : "", a->focus);
	if (a->exclude)
		strbuf_addf(sb, "%swithout %s", sb->len ? ", " : "", a->exclude);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* The size of path when it is a regular file, else 0. */
static uint64_t input_size(const char *path)
{
	struct stat st;
	if (!strcmp(path, "-") || stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

/* Folded stacks of more than this many bytes are read and drawn by two
 * threads when two cpus are free for kiln (see flame_folded_threads()). */
#define FLAME_THREADS_MIN_BYTES ((uint64_t)1 << 20)

/* How many threads build the tree of folded stacks of size bytes (0 for a
 * pipe): KILN_FLAME_THREADS (1 or 2; for tests, which compare the two)
 * when set, else 2 for a file big enough to pay for a thread when kiln
 * may run on two cpus or more. The second thread costs a tenth more cpu
 * time; on a machine whose other cpu is busy it measured no slower in
 * wall time than one thread (bench/README.md). */
static int folded_threads(uint64_t size)
{
	const char *env = getenv("KILN_FLAME_THREADS");
	if (env && *env)
		return atoi(env) >= 2 ? 2 : 1;
	if (size <= FLAME_THREADS_MIN_BYTES)
		return 1;
	cpu_set_t cpus;
	return !sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_COUNT(&cpus) >= 2 ? 2 : 1;
}

/* Builds the tree of one input; returns 0 or an exit status. */
static int build_tree(struct flame_tree *t, const char *path, struct flame_args *a, const char *what)
{
	/* folded stacks drawn with default options skip the profile: parsed
	 * straight into the tree, they cost a fraction of the time and memory */
	const struct flame_options *o = &a->fo;
	bool plain = !o->reverse && !o->threads && !o->chart && !o->thread && !o->focus && !o->exclude && !a->value &&
	             !profile_filter_active(&a->filter);
	struct flame_folded fb;
	struct profile *p = NULL;
	bool complete = true;
	if (plain) {
		flame_folded_init(&fb, t);
		/* what cannot be drawn is packed as it streams by (half the
		 * narrowest drawn frame's share, for rounding); folded output and
		 * --diff read every node */
		bool folded_out = a->folded || (a->output && ends_with(a->output, ".folded"));
		uint64_t size = input_size(path);
		if (!folded_out && !a->diff) {
			flame_folded_narrow(&fb, 0.5 * flame_svg_narrowest(&a->so));
			flame_folded_input_size(&fb, size);
		}
		flame_folded_threads(&fb, folded_threads(size));
	}
	a->limits.time_order = o->chart; /* a chart keeps text input's samples apart */
	int status = cmd_load_stacks(path, &a->limits, plain ? add_folded_line : NULL, &fb, "drawing", &p, &complete);
	if (plain)
		flame_folded_finish(&fb);
	strbuf_reset(&a->info);
	a->samples = 0;
	if (!status && !p) { /* folded stacks, drawn straight into the tree */
		describe_input(a, path, NULL, t);
		return 0;
	}
	if (plain) { /* not folded: start again from a fresh tree */
		flame_tree_release(t);
		flame_tree_init(t);
	}
	if (status)
		return status;
	status = 1;
	if (!complete)
		mark_cut(a, what, p->samples.n);
	cmd_filter_profile(p, &a->filter, path);
	/* one allocation-site rule with the heap summary: the site is the leaf */
	if (!a->full_stacks && heap_profile_is(p))
		alloc_rule_trim_profile(a->rule, p);
	struct flame_options fo = a->fo;
	fo.value = find_value(p, a->value, path);
	if (fo.value < 0) {
		status = 2; /* no such --value: a usage error */
		goto out;
	}
	int rc = flame_tree_build(t, p, &fo);
	if (rc == -EOVERFLOW) {
		kiln_error("cannot draw '%s': its values add up to more than %" PRId64 " (64 bits)", path, INT64_MAX);
		goto out;
	}
	if (rc) {
		kiln_error("'%s' has no values to draw", path);
		goto out;
	}
	if (strcmp(strtab_get(&t->strings, t->value_unit), "count")) {
		/* bytes or nanoseconds: significance needs the samples they stand for */
		double n = 0, sum = 0;
		for (size_t i = 0; i < p->samples.n; i++)
			if (p->samples.v[i].values[fo.value] > 0) {
				n++;
				sum += (double)p->samples.v[i].values[fo.value];
			}
		a->samples = sum > 0 ? (double)t->nodes.v[0].value * n / sum : 0;
	}
	describe_input(a, path, p, t);
	status = 0;
out:
	profile_free(p);
	return status;
}

static int draw(struct flame_args *a)
{
	int status = 1;
	regex_t focus, exclude;
	bool have_focus = false, have_exclude = false;
	struct flame_tree t, base;
	flame_tree_init(&t);
	flame_tree_init(&base);
	struct output out = {.fd = -1};
	struct strbuf base_info = STRBUF_INIT, new_info = STRBUF_INIT, view = STRBUF_INIT;

	if (a->focus) {
		status = 2; /* a bad regular expression is a usage error */
		if (compile_regex(&focus, a->focus, "--focus"))
			goto out;
		have_focus = true;
		a->fo.focus = &focus;
	}
	if (a->exclude) {
		status = 2;
		if (compile_regex(&exclude, a->exclude, "--exclude"))
			goto out;
		have_exclude = true;
		a->fo.exclude = &exclude;
	}
	status = 1;
	const char *input = a->ninputs ? a->inputs[a->ninputs - 1] : "profile.kiln";
	if (a->diff) {
		struct flame_options fo = a->fo;
		fo.chart = false; /* the base is matched by path, never by time */
		struct flame_args ba = *a;
		ba.fo = fo;
		status = build_tree(&base, a->inputs[0], &ba, "base profile");
		a->subtitle = ba.subtitle;
		strbuf_addstr(&base_info, "BASE: ");
		strbuf_addstr(&base_info, strbuf_str(&ba.info));
		strbuf_release(&ba.info);
		a->so.base_samples = ba.samples;
		if (status)
			goto out;
	}
	if ((status = build_tree(&t, input, a, "profile")))
		goto out;
	status = 1;
	if (a->subtitle.len)
		a->so.subtitle = strbuf_str(&a->subtitle);
	view_name(a, &view);
	if (view.len)
		a->so.view = strbuf_str(&view);
	a->so.samples = a->samples;
	if (a->diff) {
		strbuf_addstr(&new_info, "NEW: ");
		strbuf_addstr(&new_info, strbuf_str(&a->info));
		a->so.base_info = strbuf_str(&base_info);
		a->so.new_info = strbuf_str(&new_info);
		flame_tree_set_base(&t, &base);
		flame_tree_set_base(&base, &t); /* BASE's frames that NEW lacks */
		a->so.gone = &base;
		a->so.negate = a->negate;
	} else {
		a->so.info = strbuf_str(&a->info);
	}
	struct flame_tree *drawn = a->diff && a->negate ? &base : &t;
	if (t.nodes.v[0].value <= 0)
		kiln_warn("nothing to draw: '%s' has no samples%s", input,
		          a->focus || a->exclude || a->fo.thread || profile_filter_active(&a->filter)
		              ? " left after filtering"
		              : "");

	bool folded = a->folded || (a->output && ends_with(a->output, ".folded"));
	const char *path = a->output ? a->output : folded ? "-" : "flamegraph.svg";
	const char *shown = strcmp(path, "-") ? path : "stdout";
	int rc = output_open_text(&out, path);
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	/* the renderers' own -EIO stands for a write error output knows exactly */
	struct flame_svg_stats stats = {0};
	a->so.stats = &stats;
	(void)(folded ? flame_render_folded(out.f, drawn) : flame_render_svg(out.f, drawn, &a->so));
	rc = output_commit(&out);
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	if (strcmp(path, "-") && !a->quiet) {
		/* the frames in the file, and what was too narrow to draw */
		struct strbuf sb = STRBUF_INIT;
		uint64_t frames = folded ? drawn->nodes.n - 1 : stats.frames - 1;
		add_grouped(&sb, frames);
		if (!folded && stats.hidden) {
			strbuf_addstr(&sb, " of ");
			add_grouped(&sb, stats.frames - 1 + stats.hidden);
			strbuf_addstr(&sb, " frames drawn, ");
			add_grouped(&sb, stats.hidden);
			strbuf_addstr(&sb, " too narrow");
			if (stats.merged_boxes) {
				strbuf_addstr(&sb, ": ");
				add_grouped(&sb, stats.merged_boxes);
				strbuf_addstr(&sb, " [N small frames] boxes stand for them");
			}
			strbuf_addstr(&sb, ", --min-width 0 or --focus REGEX draws them");
		} else {
			strbuf_addstr(&sb, frames == 1 ? " frame" : " frames");
		}
		strbuf_addstr(&sb, "; ");
		add_grouped(&sb, drawn->nodes.v[0].value > 0 ? (uint64_t)drawn->nodes.v[0].value : 0);
		fprintf(stderr, "kiln: wrote '%s' (%s %s)\n", path, strbuf_str(&sb),
		        strtab_get(&drawn->strings, drawn->value_type));
		strbuf_release(&sb);
	}
	status = 0;
out:
	if (have_focus)
		regfree(&focus);
	if (have_exclude)
		regfree(&exclude);
	flame_tree_release(&t);
	flame_tree_release(&base);
	output_release(&out);
	strbuf_release(&base_info);
	strbuf_release(&new_info);
	strbuf_release(&view);
	return status;
}

/* One shot: record the command with kiln record's own code, then draw it. */
static int record_then_draw(struct flame_args *a)
{
	struct record_args *ra = &a->rec;
	bool wrote;
	int status = record_run(ra, &wrote);
	if (!wrote) /* a profile there is an earlier run's, not this one */
		return status ? status : 1;
	char *input[] = {(char *)ra->output};
	a->inputs = input;
	a->ninputs = 1;
	int drawn = draw(a);
	a->inputs = NULL;
	a->ninputs = 0;
	/* the command's status wins; a failed drawing fails a successful run */
	return status ? status : drawn;
}

static void flame_args_init(struct flame_args *a)
{
	memset(a, 0, sizeof(*a));
	a->so.min_width = -1;
	record_args_init(&a->rec);
}

static void flame_args_release(struct flame_args *a)
{
	strbuf_release(&a->subtitle);
	strbuf_release(&a->info);
	alloc_rule_free(a->rule);
	profile_filter_release(&a->filter);
}

int cmd_flame_check(int argc, char **argv)
{
	struct flame_args a;
	flame_args_init(&a);
	int status = parse_args(argc, argv, &a);
	flame_args_release(&a);
	return status;
}

int cmd_flame(int argc, char **argv)
{
	struct flame_args a;
	flame_args_init(&a);
	int status = parse_args(argc, argv, &a);
	if (status < 0)
		status = a.record ? record_then_draw(&a) : draw(&a);
	flame_args_release(&a);
	return status;
}
