/* lock.c - `kiln lock`: which lock costs the threads their time.
 *
 * Wires an engine (kernel: the futex syscall tracepoints through the
 * recorder, DWARF-unwound; agent: the preloaded agent's lock mode) to the
 * lock analysis, then writes a profile weighted by wait time, a table and
 * optionally JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/lock.h"
#include "capture/events.h"
#include "capture/lock_futex.h"
#include "capture/recorder.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/lock_engine.h"
#include "cmd/output.h"
#include "profile/kiln_file.h"
#include "render/lock.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"

static const char usage_text[] = "usage: kiln lock [OPTIONS] -- CMD [ARGS...]\n"
                                 "       kiln lock [OPTIONS] -p PID [--duration SECONDS]\n"
                                 "\n"
                                 "Shows which locks the threads of a command waited for: per lock how often,\n"
                                 "total, mean, p99 and max wait, the share of the threads' time, and the call\n"
                                 "site that waited. Condition variable, join and channel waits are listed\n"
                                 "apart: they wait for a signal, not for a lock.\n"
                                 "\n"
                                 "  -o, --output FILE      write the profile (values waits, wait_ns,\n"
                                 "                         signal_wait_ns) to FILE (default lock.kiln)\n"
                                 "  -f, --force            replace an output that is not a kiln profile\n"
                                 "      --engine ENGINE    kernel (futex syscall tracepoints: root or\n"
                                 "                         CAP_PERFMON), agent (preloaded: no privileges,\n"
                                 "                         adds hold times) or auto (default: kernel when\n"
                                 "                         permitted, else agent)\n"
                                 "      --json FILE        also write the report as JSON (- for stdout)\n"
                                 "  -n, --limit N          rows per table (default 20; 0 shows all)\n"
                                 "  -p, --pid PID          watch a running process (kernel engine)\n"
                                 "      --duration SECONDS stop after SECONDS (a command gets SIGINT)\n"
                                 "  -q, --quiet            print nothing but errors and the table\n"
                                 "  -h, --help             show this help\n"
                                 "\n"
                                 "Exit status is the command's; 2 for a usage error, 1 when kiln failed,\n"
                                 "127/126 when CMD cannot be run. Then: kiln flame FILE --value wait_ns.\n"
                                 "See kiln-lock(1).\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

enum { OPT_ENGINE = 0x100, OPT_JSON, OPT_DURATION };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"force", no_argument, NULL, 'f'},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"json", required_argument, NULL, OPT_JSON},
    {"limit", required_argument, NULL, 'n'},
    {"pid", required_argument, NULL, 'p'},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

static int parse_args(int argc, char **argv, struct lock_args *a)
{
	int c;
	uint64_t v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:o:fn:p:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case OPT_ENGINE:
			if (!strcmp(optarg, "kernel"))
				a->engine = LOCK_ENGINE_KERNEL;
			else if (!strcmp(optarg, "agent"))
				a->engine = LOCK_ENGINE_AGENT;
			else if (!strcmp(optarg, "auto"))
				a->engine = LOCK_ENGINE_AUTO;
			else {
				kiln_error("--engine takes kernel, agent or auto; got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			a->json = optarg;
			break;
		case 'n':
			if (cmd_parse_u64(optarg, &v) || v > 1000000) {
				kiln_error("--limit takes a number of rows; got '%s'", optarg);
				return 2;
			}
			a->limit = (size_t)v;
			break;
		case 'p':
			if (cmd_parse_u64(optarg, &v) || !v || v > INT32_MAX) {
				kiln_error("--pid takes a process id; got '%s'", optarg);
				return 2;
			}
			a->pid = (pid_t)v;
			break;
		case OPT_DURATION:
			if (cmd_parse_double(optarg, &a->duration) || a->duration <= 0) {
				kiln_error("--duration takes a number of seconds above 0; got '%s'", optarg);
				return 2;
			}
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			cmd_print_usage(usage_text, 0);
			return 0;
		default:
			return cmd_bad_option("lock", c, argv);
		}
	}
	a->argv = argv + optind;
	if (a->pid && *a->argv) {
		kiln_error("give either -p PID or a command, not both; see 'kiln lock --help'");
		return 2;
	}
	if (!a->pid && !*a->argv) {
		kiln_error("no command to watch; usage: kiln lock [OPTIONS] -- CMD [ARGS...] or -p PID");
		return 2;
	}
	if (a->pid && a->engine == LOCK_ENGINE_AGENT) {
		kiln_error("the agent engine cannot attach to a running process (it is preloaded when kiln starts "
		           "the program); use --engine kernel with -p, or run 'kiln lock -- CMD'");
		return 2;
	}
	return -1;
}

/* ---- naming a lock word by its static ---- */

static bool data_name(void *ctx, uint32_t pid, uint64_t addr, char *buf, size_t size)
{
	return symbols_data_symbol(ctx, pid, addr, buf, size) == 1;
}

/* ---- the session ---- */

void lock_session_command(const struct lock_args *a, struct strbuf *out)
{
	if (a->pid) {
		strbuf_addf(out, "pid %d", (int)a->pid);
		return;
	}
	for (char **s = a->argv; *s; s++)
		strbuf_addf(out, "%s%s", s == a->argv ? "" : " ", *s);
}

/* The profile, the report and the outputs, once an engine filled in. */
static int finish(struct lock_session *s)
{
	const struct lock_args *a = s->a;
	struct profile *p = s->p;
	int status = -1;
	struct lock_report rep;
	struct strbuf cmdline = STRBUF_INIT, text = STRBUF_INIT;

	struct symbols_stats ss = {0};
	symbols_resolve_profile(p, &ss);
	profile_name_unsymbolized(p);
	lock_input_pair(&s->in);
	lock_report_build(&rep, &s->in, p, s->end, data_name, p);
	lock_report_samples(&rep, &s->in, p, 0, 1, 2);

	lock_session_command(a, &cmdline);
	cmd_set_run_meta(p, strbuf_str(&cmdline), s->wall_start);
	profile_set_meta(p, "event", "lock waits");
	profile_set_meta(p, "engine", s->engine_name);
	profile_set_meta(p, "engine_blind", s->blind);
	profile_set_meta_u64(p, "duration_ns", s->end - s->start);
	profile_set_meta_u64(p, "lock_waits", rep.waits);
	profile_set_meta_u64(p, "lost_samples", s->lost);
	profile_set_meta_u64(p, "unpaired_futex_calls", s->in.unpaired);
	if (s->t.launched)
		profile_set_meta_u64(p, "exit_status", (uint64_t)target_exit_code(&s->t));

	struct output out = {0};
	struct kiln_writer *w = NULL;
	int rc = output_open_profile(&out, a->output, a->force);
	if (!rc)
		rc = kiln_writer_open(&w, output_name(&out));
	if (!rc)
		rc = kiln_writer_finish(w, p);
	if (!rc)
		rc = output_place(&out);
	kiln_writer_free(w);
	if (rc) {
		if (rc == -EEXIST)
			kiln_error(
			    "'%s' exists and is not a kiln profile; not replacing it (use -f to replace it, or -o "
			    "another name)",
			    a->output);
		else
			kiln_error("cannot write '%s': %s", a->output, strerror(-rc));
		status = 1;
	}
	output_release(&out);

	struct lock_render_info info = {
	    .engine = s->engine_name,
	    .sees = s->sees,
	    .blind = s->blind,
	    .command = strbuf_str(&cmdline),
	    .duration_ns = s->end - s->start,
	    .threads = p->threads.n,
	    .limit = a->limit,
	    .unpaired = s->in.unpaired,
	    .lost = s->lost,
	};
	render_lock_text(&text, &rep, &info);
	fputs(strbuf_str(&text), stdout);
	fflush(stdout);
	if (a->json) {
		struct strbuf js = STRBUF_INIT;
		struct output jo = {0};
		render_lock_json(&js, &rep, &info);
		rc = output_open_text(&jo, a->json);
		if (!rc) {
			fputs(strbuf_str(&js), jo.f);
			rc = output_commit(&jo);
		}
		if (rc) {
			kiln_error("cannot write '%s': %s", a->json, strerror(-rc));
			status = 1;
		}
		output_release(&jo);
		strbuf_release(&js);
	}
	if (status < 0 && !a->quiet) {
		fprintf(stderr, "kiln: wrote '%s' (%" PRIu64 " waits); see it with: kiln flame %s --value wait_ns\n",
		        a->output, rep.waits, a->output);
		if (s->lost)
			kiln_warn("%" PRIu64 " futex events were lost (the ring was full); waits are under-counted",
			          s->lost);
	}
	lock_report_release(&rep);
	strbuf_release(&cmdline);
	strbuf_release(&text);
	return status;
}

/* Runs the target (or watches the pid) until it exits, Ctrl-C or
 * --duration, polling the engine. */
void lock_session_wait(struct lock_session *s, size_t (*poll_fn)(struct lock_session *s, int timeout_ms))
{
	const struct lock_args *a = s->a;
	struct target *t = &s->t;
	uint64_t stop_sent = 0;
	int stage = 0;
	s->start = cmd_now_ns();
	while (!target_poll_exit(t)) {
		poll_fn(s, 100);
		uint64_t now = cmd_now_ns();
		bool timeup = a->duration > 0 && now - s->start >= (uint64_t)(a->duration * 1e9);
		bool stop = interrupted || timeup;
		if (stop && !t->launched)
			break;
		if (stop && stage == 0) {
			target_signal(t, SIGINT);
			stage = 1;
			stop_sent = now;
		} else if (stage == 1 && now - stop_sent > 3000000000ull) {
			target_signal(t, SIGKILL);
			stage = 2;
		}
	}
	s->end = cmd_now_ns();
}

int cmd_lock(int argc, char **argv)
{
	struct lock_args a = {.output = "lock.kiln", .limit = 20, .engine = LOCK_ENGINE_AUTO};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	cmd_catch_stop_signals(on_signal);

	struct lock_session s = {.a = &a};
	target_init(&s.t);
	lock_input_init(&s.in);
	s.p = profile_new();
	profile_add_value_type(s.p, "waits", "count");
	profile_add_value_type(s.p, "wait_ns", "nanoseconds");
	profile_add_value_type(s.p, "signal_wait_ns", "nanoseconds");
	s.wall_start = cmd_wall_ns();

	enum lock_engine engine = a.engine;
	if (engine == LOCK_ENGINE_AUTO) {
		int err = lock_kernel_probe();
		engine = err && !a.pid ? LOCK_ENGINE_AGENT : LOCK_ENGINE_KERNEL;
		if (!a.quiet)
			fprintf(stderr, "kiln: lock engine: %s%s\n", engine == LOCK_ENGINE_KERNEL ? "kernel" : "agent",
			        engine == LOCK_ENGINE_KERNEL ? " (futex tracepoints are permitted here)"
			                                     : " (the futex tracepoints are not permitted here)");
	}
	status = engine == LOCK_ENGINE_KERNEL ? lock_kernel_run(&s) : lock_agent_run(&s);
	if (status < 0)
		status = finish(&s);
	if (status < 0)
		status = s.t.launched ? target_exit_code(&s.t) : 0;
	target_release(&s.t);
	lock_input_release(&s.in);
	profile_free(s.p);
	return status;
}
