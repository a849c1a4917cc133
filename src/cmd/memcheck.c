/* memcheck.c - `kiln memcheck`: runs a command with the agent's memcheck
 * mode (a guard-page allocator, src/agent/agent_memcheck.c) and reports
 * its heap errors like a sanitizer, with symbolized stacks, on stderr.
 * The command's own output and exit status are left alone when it has no
 * error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/mc_suppress.h"
#include "analysis/memcheck_profile.h"
#include "analysis/memcheck_report.h"
#include "capture/agent_channel.h"
#include "capture/memcheck_errors.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/memcheck_feed.h"
#include "cmd/output.h"
#include "profile/kiln_file.h"
#include "render/memcheck.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MC_EXIT_DEFAULT 99            /* the agent's default too (agent_memcheck.c) */
#define MC_LINGER_NS    2000000000ull /* after the command exits: its children's last words */

static const char memcheck_usage[] = "usage: kiln memcheck [options] -- CMD [ARGS...]\n"
                                     "\n"
                                     "Runs CMD with a guard-page allocator and reports heap errors: overflows\n"
                                     "past a block's end, uses after free, double and invalid frees, realloc\n"
                                     "of freed memory, writes into a block's slack (found at free), and\n"
                                     "leaks at exit. No recompile: the agent is preloaded.\n"
                                     "\n"
                                     "  --keep-going          go on after an error where it is safe (not after\n"
                                     "                        a write fault); default: stop at the first error\n"
                                     "  --error-exitcode N    the exit status when errors were found (default 99;\n"
                                     "                        0: CMD's own)\n"
                                     "  --quarantine BYTES    freed memory kept inaccessible to catch uses after\n"
                                     "                        free, K/M/G suffixes (default 256M)\n"
                                     "  --sample N            guard about one allocation in N, the others served\n"
                                     "                        by the real allocator unchecked (cheap enough to\n"
                                     "                        leave on); default: all\n"
                                     "  --underflow           blocks start right after their guard page, so\n"
                                     "                        accesses before a block fault (overflows past its\n"
                                     "                        end are then found at free)\n"
                                     "  --max-guarded N       live guarded blocks at most; beyond, blocks are not\n"
                                     "                        checked (default 65536, less where each costs\n"
                                     "                        mappings: see vm.max_map_count)\n"
                                     "  --show-leak-kinds K   loss records shown: definite, indirect, possible,\n"
                                     "                        reachable, comma-separated, all or none\n"
                                     "                        (default definite,possible)\n"
                                     "  --errors-for-leak-kinds K  leaks of these kinds count as errors for the\n"
                                     "                        exit status (default none)\n"
                                     "  --suppressions FILE   errors and leaks not to report (kiln-memcheck(1));\n"
                                     "                        may be given more than once\n"
                                     "  --gen-suppressions    print a suppression after each error and leak\n"
                                     "  --json FILE           the errors, leaks and summary as JSON ('-': stdout)\n"
                                     "  -o, --output FILE     write them to the profile FILE, for kiln report\n"
                                     "                        (default memcheck.kiln; a profile already there\n"
                                     "                        moves to FILE.old)\n"
                                     "  -f, --force           replace FILE even if it is not a kiln profile\n"
                                     "  -h, --help            this help\n";

struct memcheck_args {
	bool keep_going;
	bool gen_suppressions, force;
	int exitcode;
	const char *output;
	uint64_t quarantine;
	uint64_t sample, max_guarded;
	bool underflow;
	unsigned show_leaks, error_leaks; /* 1 << enum kh_leak_class */
	struct mc_suppressions *sup;
	const char *json;
	char **argv;
};

enum {
	OPT_KEEP_GOING = 256,
	OPT_EXITCODE,
	OPT_QUARANTINE,
	OPT_SHOW_LEAKS,
	OPT_ERROR_LEAKS,
	OPT_SUPPRESSIONS,
	OPT_GEN_SUPPRESSIONS,
	OPT_JSON,
	OPT_SAMPLE,
	OPT_UNDERFLOW,
	OPT_MAX_GUARDED,
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1; /* the command got it too: wait for it */
}

/* The whole file, NUL-terminated. Returns 0 or -errno. */
static int file_slurp(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, got);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	*len = sb.len;
	*text = strbuf_detach(&sb);
	return rc;
}

/* Reads one suppression file into a->sup; says what is wrong and where. */
static int suppressions_read(struct memcheck_args *a, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc = file_slurp(path, &text, &len);
	if (rc) {
		kiln_error("cannot read suppressions '%s': %s", path, strerror(-rc));
		return rc;
	}
	unsigned line = 0;
	const char *why = "";
	rc = mc_suppressions_parse(&a->sup, text, len, &line, &why);
	if (rc)
		kiln_error("'%s' line %u: %s; see kiln-memcheck(1), SUPPRESSIONS", path, line, why);
	free(text);
	return rc;
}

static int memcheck_parse(int argc, char **argv, struct memcheck_args *a)
{
	static const struct option opts[] = {
	    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
	    {"error-exitcode", required_argument, NULL, OPT_EXITCODE},
	    {"quarantine", required_argument, NULL, OPT_QUARANTINE},
	    {"show-leak-kinds", required_argument, NULL, OPT_SHOW_LEAKS},
	    {"errors-for-leak-kinds", required_argument, NULL, OPT_ERROR_LEAKS},
	    {"suppressions", required_argument, NULL, OPT_SUPPRESSIONS},
	    {"gen-suppressions", no_argument, NULL, OPT_GEN_SUPPRESSIONS},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"sample", required_argument, NULL, OPT_SAMPLE},
	    {"underflow", no_argument, NULL, OPT_UNDERFLOW},
	    {"max-guarded", required_argument, NULL, OPT_MAX_GUARDED},
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	a->exitcode = MC_EXIT_DEFAULT;
	a->output = "memcheck.kiln";
	a->show_leaks = (1u << KH_LEAK_DEFINITE) | (1u << KH_LEAK_POSSIBLE);
	a->quarantine = 256ull << 20;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:ho:f", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case OPT_KEEP_GOING:
			a->keep_going = true;
			break;
		case OPT_EXITCODE:
			if (cmd_parse_u64(optarg, &v) || v > 255) {
				kiln_error(
				    "--error-exitcode takes a status from 0 to 255, like --error-exitcode 1; got '%s'",
				    optarg);
				return 2;
			}
			a->exitcode = (int)v;
			break;
		case OPT_QUARANTINE:
			if (cmd_parse_bytes(optarg, &v)) {
				kiln_error("--quarantine takes a size in bytes, like --quarantine 64M; got '%s'",
				           optarg);
				return 2;
			}
			a->quarantine = v;
			break;
		case OPT_SHOW_LEAKS:
		case OPT_ERROR_LEAKS:
			if (mc_leak_kinds_parse(optarg, c == OPT_SHOW_LEAKS ? &a->show_leaks : &a->error_leaks)) {
				kiln_error(
				    "--%s takes definite, indirect, possible, reachable (comma-separated), all or "
				    "none; got '%s'",
				    c == OPT_SHOW_LEAKS ? "show-leak-kinds" : "errors-for-leak-kinds", optarg);
				return 2;
			}
			break;
		case OPT_SUPPRESSIONS:
			if (suppressions_read(a, optarg))
				return 2;
			break;
		case OPT_GEN_SUPPRESSIONS:
			a->gen_suppressions = true;
			break;
		case OPT_JSON:
			a->json = optarg;
			break;
		case OPT_SAMPLE:
			if (cmd_parse_u64(optarg, &v) || v < 1 || v > (1u << 30)) {
				kiln_error("--sample takes a count from 1 to 1073741824, like --sample 1000; got '%s'",
				           optarg);
				return 2;
			}
			a->sample = v;
			break;
		case OPT_UNDERFLOW:
			a->underflow = true;
			break;
		case OPT_MAX_GUARDED:
			if (cmd_parse_u64(optarg, &v) || v < 1) {
				kiln_error("--max-guarded takes a count of blocks, like --max-guarded 100000; got '%s'",
				           optarg);
				return 2;
			}
			a->max_guarded = v;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case 'h':
			cmd_print_usage(memcheck_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("memcheck", c, argv);
		}
	}
	a->argv = argv + optind;
	if (!a->argv[0]) {
		kiln_error("nothing to run: give a command, as in 'kiln memcheck -- ./my-program'");
		return 2;
	}
	return -1;
}

/* Reads the rings until the command exits, then what its processes
 * wrote last (not waiting long for those that still run). */
static void memcheck_collect(struct target *t, struct agent_channel *ch, struct memcheck_errors *m)
{
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	while (!target_poll_exit(t)) {
		if (!agent_channel_poll(ch, ops)) {
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	}
	uint64_t exited = cmd_now_ns();
	for (;;) {
		uint64_t n = agent_channel_poll(ch, ops);
		if (agent_channel_done(ch))
			break;
		size_t running;
		size_t pending = agent_channel_pending(ch, &running, NULL, 0);
		if (cmd_now_ns() - exited > MC_LINGER_NS || (pending == running && interrupted))
			break;
		if (!n) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

static void memcheck_env(const struct memcheck_args *a)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRIu64, a->quarantine);
	setenv(KH_ENV_MC_QUARANTINE, num, 1);
	setenv(KH_ENV_MC_KEEP_GOING, a->keep_going ? "1" : "0", 1);
	/* the agent stops the process with this status; 0 would look like
	 * success to kiln's caller: the agent then uses the default, and kiln
	 * passes the command's status on */
	snprintf(num, sizeof(num), "%d", a->exitcode ? a->exitcode : MC_EXIT_DEFAULT);
	setenv(KH_ENV_MC_EXITCODE, num, 1);
	snprintf(num, sizeof(num), "%" PRIu64, a->sample);
	setenv(KH_ENV_MC_SAMPLE, num, 1);
	setenv(KH_ENV_MC_UNDERFLOW, a->underflow ? "1" : "0", 1);
	snprintf(num, sizeof(num), "%" PRIu64, a->max_guarded);
	setenv(KH_ENV_MC_MAX_GUARDED, num, 1);
}

/* mc_resolve_fn over the symbolizer. */
static int resolve(void *ctx, const char *path, uint64_t offset, struct mc_sframe *out, int max)
{
	struct symbol_frame sf[8];
	int got = symbolizer_lookup_file(ctx, path, offset, sf, max < 8 ? max : 8);
	for (int i = 0; i < got; i++) {
		out[i].function = sf[i].function;
		out[i].file = sf[i].file;
		out[i].line = sf[i].line;
	}
	return got;
}

static int json_write(const char *path, const struct mc_report *r, const struct mc_render_opts *ro)
{
	struct strbuf js = STRBUF_INIT;
	mc_render_json(&js, r, ro);
	int rc = output_write_text(path, &js);
	if (rc)
		kiln_error("cannot write '%s': %s", path, strerror(-rc));
	strbuf_release(&js);
	return rc;
}

/* The report as a profile, put in place of the file the user named. */
static int profile_write(struct output *o, struct kiln_writer *w, const struct mc_report *r, char **argv,
                         uint64_t start_time)
{
	struct profile *p = profile_new();
	struct strbuf cmd = STRBUF_INIT;
	for (char **v = argv; *v; v++)
		strbuf_addf(&cmd, "%s%s", v == argv ? "" : " ", *v);
	cmd_set_run_meta(p, strbuf_str(&cmd), start_time);
	profile_set_meta_u64(p, "duration_ns", cmd_wall_ns() - start_time);
	mc_report_to_profile(r, p);
	int rc = kiln_writer_finish(w, p);
	if (!rc)
		rc = output_place(o);
	if (rc)
		kiln_error("cannot write '%s': %s", o->path, strerror(-rc));
	strbuf_release(&cmd);
	profile_free(p);
	return rc;
}

static int memcheck_run(const struct memcheck_args *a)
{
	int status = 1;
	struct target t;
	target_init(&t);
	struct agent_channel *ch = NULL;
	struct memcheck_errors *m = NULL;
	struct symbolizer *sym = NULL;
	struct mc_report *report = NULL;
	struct kiln_writer *w = NULL;
	struct output o = {0};
	struct strbuf out = STRBUF_INIT;
	uint64_t start_time = cmd_wall_ns();
	char *agent = cmd_agent_find();
	if (!agent) {
		kiln_error("cannot find 'libkiln-agent.so' next to kiln or in ../lib/kiln/; reinstall kiln or set "
		           "KILN_AGENT");
		goto out;
	}
	int rc = output_open_profile(&o, a->output, a->force);
	if (rc == -EEXIST) {
		kiln_error("'%s' exists and is not a kiln profile; not replacing it (use -f to replace it, or -o "
		           "another name)",
		           a->output);
		goto out;
	}
	if (!rc)
		rc = kiln_writer_open(&w, output_name(&o));
	if (rc) {
		kiln_error("cannot write '%s': %s", a->output, strerror(-rc));
		goto out;
	}
	rc = agent_channel_new(&ch);
	if (rc) {
		kiln_error("cannot create the agent's channel in /dev/shm or /tmp: %s", strerror(-rc));
		goto out;
	}
	cmd_agent_env(agent, agent_channel_dir(ch), "memcheck", 0);
	memcheck_env(a);
	rc = target_launch(&t, a->argv);
	if (rc) {
		kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
		goto out;
	}
	rc = target_start(&t);
	if (rc) {
		status = cmd_exec_error(a->argv[0], rc, NULL);
		goto out;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	m = memcheck_errors_new();
	memcheck_collect(&t, ch, m);
	status = target_exit_code(&t);
	if (!agent_channel_rings(ch)) {
		kiln_warn("the agent did not start in '%s' (a static or setuid binary, or LD_PRELOAD removed): "
		          "nothing was checked",
		          a->argv[0]);
		goto out;
	}
	sym = symbolizer_new();
	report = mc_report_new();
	struct mc_counts counts = memcheck_feed(report, m);
	mc_report_finish(report, a->sup, &counts, resolve, sym);
	report->show_leaks = a->show_leaks;
	report->error_leaks = a->error_leaks;
	report->exitcode = a->exitcode ? a->exitcode : MC_EXIT_DEFAULT;
	if (profile_write(&o, w, report, a->argv, start_time))
		status = status ? status : 1;
	struct mc_render_opts ro = {
	    .show_leaks = a->show_leaks,
	    .error_leaks = a->error_leaks,
	    .gen_suppressions = a->gen_suppressions,
	    .exitcode = a->exitcode ? a->exitcode : MC_EXIT_DEFAULT,
	};
	if (a->json && json_write(a->json, report, &ro))
		status = status ? status : 1;
	if (!mc_render_has_findings(report, &ro)) {
		/* no error, but not everything was checked: say so, once */
		if (mc_render_unchecked(&out, report)) {
			fflush(stdout);
			fputs(strbuf_str(&out), stderr);
		}
		goto out;
	}
	mc_render_text(&out, report, &ro);
	fflush(stdout);
	fputs(strbuf_str(&out), stderr);
	if (a->exitcode && (mc_report_errors(report) || mc_report_leak_blocks(report, a->error_leaks)))
		status = a->exitcode;
out:
	strbuf_release(&out);
	kiln_writer_free(w);
	output_release(&o);
	mc_report_free(report);
	symbolizer_free(sym);
	memcheck_errors_free(m);
	target_release(&t);
	agent_channel_free(ch);
	free(agent);
	return status;
}

int cmd_memcheck(int argc, char **argv)
{
	struct memcheck_args a = {0};
	int rc = memcheck_parse(argc, argv, &a);
	if (rc < 0)
		rc = memcheck_run(&a);
	mc_suppressions_free(a.sup);
	return rc;
}
