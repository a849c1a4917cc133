/* record.c - `kiln record`: sample a command or a running process into a
 * .kiln profile. Parses options and wires capture, unwind, symbols and the
 * file writer together; the work lives in those stages. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "capture/agent_channel.h"
#include "capture/agent_sampler.h"
#include "capture/events.h"
#include "capture/reader_sched.h"
#include "capture/recorder.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "cmd/record.h"
#include "profile/kiln_file.h"
#include "profile/profile.h"
#include "render/lost_hint.h"
#include "render/symbols_hint.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"

#define FLUSH_INTERVAL_NS 250000000ull
#define AGENT_LINGER_NS   5000000000ull /* the agent engine: how long children may outlive the command */
#define AGENT_PATIENT_NS  200000000ull  /* ... when the only rings left are of processes that still run */

static const char record_usage[] = "usage: kiln record [options] -- CMD [ARGS...]\n"
                                   "       kiln record [options] -p PID [--duration SECONDS]\n"
                                   "\n"
                                   "Samples a command (and every thread and child it starts) or a running\n"
                                   "process, unwinds each sample and writes a self-contained .kiln profile.\n"
                                   "\n"
                                   "  -o, --output FILE         write the profile to FILE (default profile.kiln;\n"
                                   "                            a profile already there moves to FILE.old)\n"
                                   "  -f, --force               replace FILE even if it is not a kiln profile\n"
                                   "  -F, --freq HZ             samples per second per thread (default 997)\n"
                                   "  -c, --count N             sample every N events instead of a frequency\n"
                                   "  -e, --event EVENT         what to sample: cpu-clock, task-clock, cycles,\n"
                                   "                            page-faults, a tracepoint 'sys:name', ...\n"
                                   "                            (default cycles where a PMU exists, else cpu-clock)\n"
                                   "  -g                        record call graphs in the right mode (dwarf)\n"
                                   "      --call-graph MODE     fp or dwarf[,SIZE]: frame pointers, or DWARF CFI\n"
                                   "                            unwinding of SIZE bytes of stack per sample\n"
                                   "                            (default dwarf,65528: Rust release builds have no\n"
                                   "                            frame pointers)\n"
                                   "      --no-inherit          do not follow threads and children started later\n"
                                   "      --no-kernel           user-space stacks only\n"
                                   "      --debug-dir DIR       look for separate debug files (DIR/.build-id/..)\n"
                                   "                            in DIR too; may be repeated\n"
                                   "      --engine ENGINE       perf (perf_event_open) or agent (CPU-time timers\n"
                                   "                            in a preloaded agent; no kernel frames, no time\n"
                                   "                            spent blocked); default perf, agent where\n"
                                   "                            perf_event_open is refused\n"
                                   "      --wall                also record the time threads spend off the cpu\n"
                                   "                            (blocked or waiting for a cpu), in nanoseconds\n"
                                   "                            like the CPU samples (1e9/HZ each), so views\n"
                                   "                            show where wall-clock time went; values: wall,\n"
                                   "                            cpu, offcpu, runnable (views default to wall)\n"
                                   "      --off-cpu             the same recording; views default to offcpu\n"
                                   "      --min-block NS        drop off-CPU intervals shorter than NS\n"
                                   "                            nanoseconds (default 0: all are counted)\n"
                                   "  -p, --pid PID             record a running process (all its threads)\n"
                                   "      --duration SECONDS    stop after SECONDS (a command gets SIGINT)\n"
                                   "  -q, --quiet               print nothing but errors\n"
                                   "  -h, --help                show this help\n"
                                   "\n"
                                   "Exit status is the command's (128+N when it died from signal N); 2 for a\n"
                                   "usage error, 1 when kiln failed, 127/126 when CMD cannot be run.\n"
                                   "Then: kiln report [FILE]. See kiln-record(1).\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

int record_parse_call_graph(const char *s, enum call_graph_mode *mode, uint32_t *stack_size)
{
	if (!strcmp(s, "fp")) {
		*mode = CALL_GRAPH_FP;
		return 0;
	}
	if (strncmp(s, "dwarf", 5) || (s[5] && s[5] != ','))
		return -1;
	uint64_t size = RECORDER_MAX_STACK_SIZE;
	/* the kernel copies whole 8-byte words and keeps a sample under 64 KiB;
	 * below a few words the copy does not reach the caller's frame */
	if (s[5] &&
	    (cmd_parse_u64(s + 6, &size) || size < RECORD_MIN_STACK_SIZE || size > RECORDER_MAX_STACK_SIZE || size % 8))
		return -1;
	*mode = CALL_GRAPH_DWARF;
	*stack_size = (uint32_t)size;
	return 0;
}

void record_call_graph_error(const char *value)
{
	kiln_error("--call-graph takes fp or dwarf[,SIZE], SIZE a multiple of 8 from %u to %u bytes; got '%s'",
	           RECORD_MIN_STACK_SIZE, RECORDER_MAX_STACK_SIZE, value);
}

/* The long options' codes: above any short option letter and any code of
 * the commands that take record's options with their own. */
enum {
	OPT_CALL_GRAPH = RECORD_OPT_BASE,
	OPT_NO_INHERIT,
	OPT_NO_KERNEL,
	OPT_DURATION,
	OPT_DEBUG_DIR,
	OPT_ENGINE,
	OPT_WALL,
	OPT_OFF_CPU,
	OPT_MIN_BLOCK,
};

const struct option record_options[RECORD_OPTIONS_COUNT + 1] = {
    {"force", no_argument, NULL, 'f'},
    {"freq", required_argument, NULL, 'F'},
    {"count", required_argument, NULL, 'c'},
    {"event", required_argument, NULL, 'e'},
    {"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
    {"no-inherit", no_argument, NULL, OPT_NO_INHERIT},
    {"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
    {"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"pid", required_argument, NULL, 'p'},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"quiet", no_argument, NULL, 'q'},
    {"wall", no_argument, NULL, OPT_WALL},
    {"off-cpu", no_argument, NULL, OPT_OFF_CPU},
    {"min-block", required_argument, NULL, OPT_MIN_BLOCK},
    {0},
};

int record_option(struct record_args *a, int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case 'f':
		a->force = true;
		return 0;
	case 'F':
		if (cmd_parse_u64(arg, &a->freq) || a->freq == 0) {
			kiln_error("-F takes a sampling frequency in Hz, like -F 997; got '%s'", arg);
			return 2;
		}
		return 0;
	case 'c':
		if (cmd_parse_u64(arg, &a->count) || a->count == 0) {
			kiln_error("-c takes an event count, like -c 100000; got '%s'", arg);
			return 2;
		}
		return 0;
	case 'e':
		a->event = arg;
		return 0;
	case 'g':
		a->call_graph = CALL_GRAPH_DWARF;
		return 0;
	case OPT_CALL_GRAPH:
		if (record_parse_call_graph(arg, &a->call_graph, &a->stack_size)) {
			record_call_graph_error(arg);
			return 2;
		}
		a->stack_size_given = strchr(arg, ',') != NULL;
		return 0;
	case OPT_NO_INHERIT:
		a->inherit = false;
		return 0;
	case OPT_NO_KERNEL:
		a->kernel = false;
		return 0;
	case OPT_DEBUG_DIR:
		if (arg[0] != '/' || strchr(arg, ':')) {
			kiln_error("--debug-dir takes an absolute directory without ':'; got '%s'", arg);
			return 2;
		}
		if (a->debug_dirs) {
			/* kept for the whole run, like the argv strings it joins */
			static struct strbuf dirs = STRBUF_INIT;
			if (!dirs.len)
				strbuf_addstr(&dirs, a->debug_dirs);
			strbuf_addf(&dirs, ":%s", arg);
			a->debug_dirs = strbuf_str(&dirs);
		} else {
			a->debug_dirs = arg;
		}
		return 0;
	case 'p':
		if (cmd_parse_u64(arg, &v) || v == 0 || v > INT_MAX) {
			kiln_error("-p takes a process id; got '%s'", arg);
			return 2;
		}
		a->pid = (pid_t)v;
		return 0;
	case OPT_DURATION: {
		char *end;
		a->duration = strtod(arg, &end);
		if (end == arg || *end || a->duration <= 0) {
			kiln_error("--duration takes seconds, like --duration 5; got '%s'", arg);
			return 2;
		}
		return 0;
	}
	case 'q':
		a->quiet = true;
		return 0;
	case OPT_WALL:
	case OPT_OFF_CPU:
		if (a->time != RECORD_TIME_OFFCPU) { /* kiln offcpu records off-CPU time only */
			a->time = RECORD_TIME_WALL;
			a->view_value = c == OPT_WALL ? "wall" : "offcpu";
		}
		return 0;
	case OPT_MIN_BLOCK:
		if (cmd_parse_u64(arg, &a->min_block)) {
			kiln_error("--min-block takes nanoseconds, like --min-block 100000; got '%s'", arg);
			return 2;
		}
		return 0;
	case OPT_ENGINE:
		if (!strcmp(arg, "perf")) {
			a->engine = RECORD_ENGINE_PERF;
		} else if (!strcmp(arg, "agent")) {
			a->engine = RECORD_ENGINE_AGENT;
		} else {
			kiln_error("--engine takes perf or agent; got '%s'", arg);
			return 2;
		}
		return 0;
	}
	return 1;
}

int record_args_check(struct record_args *a)
{
	if (a->pid && a->argv && a->argv[0]) {
		kiln_error("give either a command after '--' or -p PID, not both");
		return 2;
	}
	if (!a->pid && (!a->argv || !a->argv[0])) {
		kiln_error("nothing to record: give a command, as in 'kiln record -- ./my-program', or -p PID");
		return 2;
	}
	if (a->pid && a->engine == RECORD_ENGINE_AGENT) {
		kiln_error("the agent engine cannot attach to a running process (it is preloaded when kiln starts the "
		           "command); run it as 'kiln record --engine agent -- CMD', or use the perf engine");
		return 2;
	}
	if (a->engine == RECORD_ENGINE_AGENT && a->event && strcmp(a->event, "cpu-clock") &&
	    strcmp(a->event, "task-clock")) {
		kiln_error("the agent engine samples CPU time only, not '%s'; drop -e or use --engine perf", a->event);
		return 2;
	}
	if (a->time != RECORD_TIME_CPU && a->engine == RECORD_ENGINE_AGENT) {
		kiln_error("the agent engine cannot see time spent off the cpu; drop --engine agent");
		return 2;
	}
	if (a->time == RECORD_TIME_WALL &&
	    (a->count || (a->event && strcmp(a->event, "cpu-clock") && strcmp(a->event, "task-clock")))) {
		kiln_error("--wall and --off-cpu weigh CPU samples in nanoseconds (1e9/HZ): use -F, not -c or -e");
		return 2;
	}
	long max_rate = event_read_sysctl("/proc/sys/kernel/perf_event_max_sample_rate", 100000);
	if (a->freq > (uint64_t)max_rate) {
		kiln_error("-F %" PRIu64 " is above the kernel's limit of %ld Hz; lower it, or run: sysctl "
		           "kernel.perf_event_max_sample_rate=%" PRIu64,
		           a->freq, max_rate, a->freq);
		return 2;
	}
	return -1;
}

int record_parse_args(int argc, char **argv, struct record_args *a)
{
	/* record's own table with -o and -h, which the one-shot commands
	 * keep for their drawing */
	struct option opts[RECORD_OPTIONS_COUNT + 3] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	};
	memcpy(opts + 2, record_options, sizeof(record_options));
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:o:h" RECORD_SHORT_OPTIONS, opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'h':
			cmd_print_usage(record_usage, 0);
			return 0;
		case ':':
		case '?':
			return cmd_bad_option("record", c, argv);
		default:
			rc = record_option(a, c, optarg);
			if (rc)
				return rc;
			break;
		}
	}
	a->argv = argv + optind;
	return record_args_check(a);
}

/* -e as given, else cycles where the PMU has it, else cpu-clock. */
int record_choose_event(const char *name, struct event_desc *ev)
{
	if (name) {
		int rc = event_parse(name, ev);
		if (rc == -EACCES)
			kiln_error("cannot read the id of tracepoint '%s' in tracefs; run as root or mount tracefs "
			           "(mount -t tracefs nodev /sys/kernel/tracing)",
			           name);
		else if (rc)
			kiln_error("unknown event '%s'; try cpu-clock, task-clock, cycles, page-faults, "
			           "context-switches or a tracepoint like 'sched:sched_switch'",
			           name);
		return rc;
	}
	struct perf_event_attr attr = {0};
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_CPU_CYCLES;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	int fd = event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return event_parse("cycles", ev);
	}
	return event_parse("cpu-clock", ev);
}

void record_explain_open_error(int err, const struct event_desc *ev, pid_t pid)
{
	if (err == -EACCES || err == -EPERM) {
		/* the recorder falls back to user-space stacks by itself, so
		 * only tracepoints and switches (off-CPU) still need the
		 * kernel when refused */
		bool switches = ev->type == PERF_TYPE_SOFTWARE && ev->config == PERF_COUNT_SW_CONTEXT_SWITCHES;
		cmd_perm_error("record", pid, ev->is_tracepoint || switches);
	} else if (err == -ENOENT || err == -EOPNOTSUPP || err == -ENODEV) {
		kiln_error("event '%s' is not supported on this machine (no hardware PMU here, as in many VMs); "
		           "use -e cpu-clock",
		           ev->name);
	} else if (err == -ESRCH) {
		kiln_error("the process exited before it could be recorded");
	} else if (err == -EMFILE) {
		kiln_error("too many open files; raise the limit with 'ulimit -n 65536'");
	} else {
		kiln_error("perf_event_open failed for '%s': %s", ev->name, strerror(-err));
	}
}

/* The user stack bytes each off-CPU switch sample copies in DWARF mode. */
static uint32_t offcpu_stack_size(const struct record_args *a)
{
	return a->stack_size_given ? a->stack_size : RECORD_OFFCPU_STACK_SIZE;
}

static void set_metadata(struct profile *p, const struct record_args *a, const struct event_desc *ev, bool agent)
{
	struct strbuf cmd = STRBUF_INIT;
	if (a->pid) {
		strbuf_addf(&cmd, "pid %d", (int)a->pid);
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)a->pid);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			if (n) {
				for (size_t i = 0; i < n; i++)
					if (!buf[i])
						buf[i] = ' ';
				buf[n] = '\0';
				strbuf_reset(&cmd);
				strbuf_addstr(&cmd, buf);
				while (cmd.len && cmd.buf[cmd.len - 1] == ' ')
					cmd.buf[--cmd.len] = '\0';
			}
		}
	} else {
		for (char **s = a->argv; *s; s++)
			strbuf_addf(&cmd, "%s%s", s == a->argv ? "" : " ", *s);
	}
	cmd_set_run_meta(p, strbuf_str(&cmd), cmd_wall_ns());
	strbuf_release(&cmd);
	profile_set_meta(p, "event", ev->name);
	if (a->count)
		profile_set_meta_u64(p, "period", a->count);
	else
		profile_set_meta_u64(p, "frequency", a->freq);
	if (agent) {
		/* the agent unwinds with DWARF CFI in the target itself */
		profile_set_meta(p, "call_graph", "dwarf, unwound in the target");
	} else {
		profile_set_meta(p, "call_graph", a->call_graph == CALL_GRAPH_DWARF ? "dwarf" : "fp");
		if (a->call_graph == CALL_GRAPH_DWARF)
			profile_set_meta_u64(p, "stack_size",
			                     a->time == RECORD_TIME_OFFCPU ? offcpu_stack_size(a) : a->stack_size);
		if (a->call_graph == CALL_GRAPH_DWARF && a->time != RECORD_TIME_CPU)
			profile_set_meta_u64(p, "offcpu_stack_size", offcpu_stack_size(a));
	}
	if (a->pid)
		profile_set_meta_u64(p, "pid", (uint64_t)a->pid);
}

/* Under sudo, give the file to the user who asked for it. */
static void chown_to_invoker(const char *path)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	if (!uid || !gid || geteuid() != 0)
		return;
	if (chown(path, (uid_t)strtoul(uid, NULL, 10), (gid_t)strtoul(gid, NULL, 10)) < 0) {
		/* not fatal: the profile is still there */
	}
}

static void human_size(uint64_t bytes, char *buf, size_t n)
{
	if (bytes >= 10 * 1024 * 1024)
		snprintf(buf, n, "%.1f MB", bytes / 1048576.0);
	else if (bytes >= 10 * 1024)
		snprintf(buf, n, "%.1f KB", bytes / 1024.0);
	else
		snprintf(buf, n, "%" PRIu64 " bytes", bytes);
}

/* Where samples were lost, for the summary and the report header. */
static void set_loss_meta(struct profile *p, struct recorder *r, const struct recorder_stats *st)
{
	const struct recorder_loss *l;
	size_t n = recorder_losses(r, &l);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		uint64_t from = l[i].from > st->first_time ? l[i].from - st->first_time : 0;
		uint64_t to = l[i].to > st->first_time ? l[i].to - st->first_time : 0;
		strbuf_addf(&sb, "%s%d:%" PRIu64 ":%" PRIu64 ":%" PRIu64, i ? "," : "", l[i].cpu, from, to, l[i].count);
	}
	if (n)
		profile_set_meta(p, "lost_intervals", strbuf_str(&sb));
	strbuf_reset(&sb);
	const struct thread_lost *t;
	size_t unreported;
	n = recorder_lost_threads(r, &t, &unreported);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%" PRIu32 ":%" PRIu64, i ? "," : "", t[i].tid, t[i].lost);
	if (n)
		profile_set_meta(p, "lost_threads", strbuf_str(&sb));
	if (unreported)
		profile_set_meta_u64(p, "lost_threads_unreported", unreported);
	strbuf_release(&sb);
	profile_set_meta(p, "reader_priority", reader_prio_name((enum reader_prio)st->reader_prio));
}

/* Says why the output cannot be written; the exit status, 1. */
static int output_error(const char *path, int rc)
{
	if (rc == -EEXIST)
		kiln_error("'%s' exists and is not a kiln profile; not replacing it (use -f to replace it, or -o "
		           "another name)",
		           path);
	else
		kiln_error("cannot write '%s': %s", path, strerror(-rc));
	return 1;
}

/* The writer failed while the target ran: say what kiln did about it. */
static void write_error_while_running(const struct record_args *a, int rc, bool launched, double secs, bool kept)
{
	struct strbuf sb = STRBUF_INIT;
	if (launched)
		strbuf_addf(&sb, "stopped the command (SIGINT) after %.1f s", secs);
	else
		strbuf_addf(&sb, "stopped recording process %d after %.1f s (it goes on running)", (int)a->pid, secs);
	if (kept)
		kiln_error("cannot write '%s': %s; %s; the profile up to then is in '%s' (it opens as cut short)",
		           a->output, strerror(-rc), strbuf_str(&sb), a->output);
	else
		kiln_error("cannot write '%s': %s; %s; nothing was recorded, so '%s' is as it was", a->output,
		           strerror(-rc), strbuf_str(&sb), a->output);
	strbuf_release(&sb);
}

/* One recording, stage by stage (perf's cmd_record / __cmd_record): each
 * stage returns -1 to go on, or the exit status after saying what went
 * wrong; record_session_release() then keeps or discards the file. */
struct record_session {
	const struct record_args *a;
	struct event_desc ev;
	struct output out;
	struct profile *p;
	struct recorder *r;
	struct recorder *roff; /* --wall: the off-CPU recorder beside r's CPU samples */
	struct event_desc offev;
	struct kiln_writer *w;
	struct target t;
	struct recorder_stats st;
	uint64_t start, end;
	/* whether the file holds a chunk of this run: a file with only a
	 * header is not worth the previous profile */
	bool flushed;
	bool opened; /* output_open_profile() succeeded: out needs a release */
	/* the agent engine: the agent's channel and its records' decoder */
	bool agent;
	int refused; /* -errno perf_event_open gave, when it made kiln use the agent */
	char *agent_path;
	struct agent_channel *ch;
	struct agent_sampler *sampler;
	struct agent_sampler_stats ast;
};

/* Whether perf_event_open works here for a command kiln starts (kiln's
 * own seccomp filter and perf_event_paranoid are the child's): 0, or the
 * -errno it refused with. */
static int perf_probe(void)
{
	static const struct event_desc clock = {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, true, false};
	return event_probe(&clock);
}

/* Chooses the engine: the agent when asked, or when perf_event_open is
 * refused for a command (not for -p, nor for an event only perf has). */
static void choose_engine(struct record_session *s)
{
	const struct record_args *a = s->a;
	if (a->engine == RECORD_ENGINE_AGENT) {
		s->agent = true;
		return;
	}
	if (a->engine == RECORD_ENGINE_PERF || a->pid || a->time != RECORD_TIME_CPU)
		return;
	if (a->event && strcmp(a->event, "cpu-clock") && strcmp(a->event, "task-clock"))
		return;
	int err = perf_probe();
	if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
		s->agent = true;
		s->refused = err;
	}
}

/* The agent engine's channel, found agent and environment for the
 * command. Returns -1 to go on, or the exit status. */
static int agent_prepare(struct record_session *s)
{
	const struct record_args *a = s->a;
	s->agent_path = cmd_agent_find();
	if (!s->agent_path) {
		kiln_error("cannot find libkiln-agent.so next to kiln or in ../lib/kiln (the agent engine needs it); "
		           "set KILN_AGENT=/path/to/libkiln-agent.so");
		return 1;
	}
	int rc = agent_channel_new(&s->ch);
	if (rc) {
		kiln_error("cannot create the agent's channel in /dev/shm or /tmp: %s", strerror(-rc));
		return 1;
	}
	/* -c N with a clock: every N ns of CPU time */
	uint64_t hz = a->count ? (a->count >= 1000000000ull ? 1 : 1000000000ull / a->count) : a->freq;
	cmd_agent_env(s->agent_path, agent_channel_dir(s->ch), "cpu", hz);
	return -1;
}

/* The switch-out event: sched:sched_switch (mounting tracefs when root
 * and it is not mounted), else the context-switches software event,
 * which fires at the same place without tracefs. */
static int choose_offcpu_event(struct event_desc *ev)
{
	if (event_tracefs_mount() == 0 && event_parse("sched:sched_switch", ev) == 0)
		return 0;
	return event_parse("context-switches", ev);
}

/* The wake-up beside sched:sched_switch: from it to the switch-in a thread
 * is runnable, not blocked. Without it (no such tracepoint, its format
 * unreadable) whole intervals stay blocked. */
static void choose_wake_event(struct recorder_options *off)
{
	struct event_desc ev;
	uint32_t offset;
	if (event_parse("sched:sched_wakeup", &ev) == 0 &&
	    event_tracepoint_field("sched:sched_wakeup", "pid", &offset) == 0) {
		off->wake = ev;
		off->wake_tid_offset = offset;
	}
}

/* The value types of an off-CPU or --wall recording and the recorders'
 * slots in them (see recorder_slots), each slot the index its type got. */
static void offcpu_values(struct record_session *s, struct recorder_slots *cpu, struct recorder_slots *off)
{
	struct profile *p = s->p;
	int samples = profile_add_value_type(p, s->a->time == RECORD_TIME_OFFCPU ? "blocks" : "samples", "count");
	int wall = s->a->time == RECORD_TIME_WALL ? profile_add_value_type(p, "wall", "nanoseconds") : -1;
	int on = s->a->time == RECORD_TIME_WALL ? profile_add_value_type(p, "cpu", "nanoseconds") : -1;
	int offcpu = profile_add_value_type(p, "offcpu", "nanoseconds");
	int runnable = profile_add_value_type(p, "runnable", "nanoseconds");
	*cpu = (struct recorder_slots){true, (int8_t)samples, (int8_t)on, -1, (int8_t)wall};
	*off = (struct recorder_slots){true, (int8_t)samples, (int8_t)offcpu, (int8_t)runnable, (int8_t)wall};
}

/* The event, the output's temporary file, the profile and its writer. */
static int record_prepare(struct record_session *s)
{
	const struct record_args *a = s->a;
	choose_engine(s);
	int rc;
	if (s->agent || (a->time == RECORD_TIME_WALL && !a->event))
		rc = event_parse("cpu-clock", &s->ev);
	else if (a->time == RECORD_TIME_OFFCPU)
		rc = choose_offcpu_event(&s->ev);
	else
		rc = record_choose_event(a->event, &s->ev);
	if (rc) /* an unknown event is a usage error; an unreadable tracefs is not */
		return rc == -EACCES ? 1 : 2;
	if (a->time == RECORD_TIME_WALL && choose_offcpu_event(&s->offev))
		return 1;
	if (s->agent) {
		if (s->refused && !a->quiet)
			cmd_perm_fallback_note(s->refused);
		int status = agent_prepare(s);
		if (status >= 0)
			return status;
	}
	rc = output_open_profile(&s->out, a->output, a->force);
	if (rc)
		return output_error(a->output, rc);
	s->opened = true;

	s->p = profile_new();
	struct recorder_options off = {
	    .event = a->time == RECORD_TIME_OFFCPU ? s->ev : s->offev,
	    .period = 1, /* every switch */
	    .call_graph = a->call_graph,
	    .stack_size = offcpu_stack_size(a),
	    .inherit = a->inherit,
	    .kernel = a->kernel,
	    .offcpu = true,
	    .min_block = a->min_block,
	};
	if (off.event.is_tracepoint)
		choose_wake_event(&off);
	struct recorder_slots cpu_slots = {0};
	if (a->time != RECORD_TIME_CPU) {
		offcpu_values(s, &cpu_slots, &off.slots);
	} else {
		/* in enum recorder_value's order */
		profile_add_value_type(s->p, "samples", "count");
		if (s->ev.is_clock)
			profile_add_value_type(s->p, "cpu", "nanoseconds");
		else
			profile_add_value_type(s->p, s->ev.name, "events");
	}
	set_metadata(s->p, a, &s->ev, s->agent);
	if (a->time != RECORD_TIME_CPU) {
		profile_set_meta(s->p, "time", a->time == RECORD_TIME_WALL ? "wall" : "offcpu");
		profile_set_meta(s->p, "offcpu_event", off.event.name);
		profile_set_meta(s->p, "offcpu_wake", off.wake.name ? off.wake.name : "none");
		profile_set_meta_u64(s->p, "min_block_ns", a->min_block);
		if (a->view_value)
			profile_set_meta(s->p, "default_value", a->view_value);
	}
	profile_set_meta(s->p, "engine", s->agent ? "agent" : "perf");
	if (s->agent)
		profile_set_meta(s->p, "engine_blind", "kernel frames, time spent blocked");

	struct recorder_options ro = {
	    .event = s->ev,
	    .freq = a->count ? 0 : a->freq,
	    .period = a->count,
	    .call_graph = a->call_graph,
	    .stack_size = a->stack_size,
	    .inherit = a->inherit,
	    .kernel = a->kernel,
	    .slots = cpu_slots,
	};
	if (a->time == RECORD_TIME_OFFCPU)
		ro = off;
	else if (a->time == RECORD_TIME_WALL)
		s->roff = recorder_new(s->p, &off);
	if (s->agent) {
		/* the agent sends program counters, unwound in the target */
		ro.call_graph = CALL_GRAPH_FP;
		ro.kernel = false;
		ro.inherit = true;
		ro.replay = true;
	}
	s->r = recorder_new(s->p, &ro);
	if (s->agent)
		s->sampler = agent_sampler_new(s->r);
	rc = kiln_writer_open(&s->w, output_name(&s->out));
	if (rc)
		return output_error(a->output, rc);
	return -1;
}

/* Attaches to the process, or starts the command with the events open on
 * it; then the profile takes its name. */
static int record_start(struct record_session *s)
{
	const struct record_args *a = s->a;
	int rc;
	if (a->pid) {
		rc = target_attach(&s->t, a->pid);
		if (rc) {
			kiln_error("no process with pid %d", (int)a->pid);
			return 1;
		}
		/* --wall: the error names the event of the recorder that failed */
		const struct event_desc *ev = &s->ev;
		rc = recorder_open_process(s->r, a->pid);
		if (rc == 0 && s->roff) {
			ev = &s->offev;
			rc = recorder_open_process(s->roff, a->pid);
		}
		if (rc) {
			record_explain_open_error(rc, ev, a->pid);
			if (rc == -EPERM || rc == -EACCES || rc == -ENOSYS)
				kiln_error(
				    "the agent engine cannot attach to a running process (it is preloaded when kiln "
				    "starts the program): run it as 'kiln record -- CMD' to sample it without "
				    "perf_event_open");
			return 1;
		}
		recorder_enable(s->r);
		if (s->roff)
			recorder_enable(s->roff);
	} else {
		rc = target_launch(&s->t, a->argv);
		if (rc) {
			kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
			return 1;
		}
		const struct event_desc *ev = &s->ev;
		rc = s->agent ? 0 : recorder_open_child(s->r, s->t.pid);
		if (rc == 0 && s->roff) {
			ev = &s->offev;
			rc = recorder_open_child(s->roff, s->t.pid);
		}
		if (rc) {
			record_explain_open_error(rc, ev, 0);
			return 1;
		}
		rc = target_start(&s->t);
		if (rc)
			return cmd_exec_error(a->argv[0], rc, NULL);
	}
	/* the command runs: from now on a kill -9 of kiln must leave the
	 * profile at its name */
	rc = output_place(&s->out);
	if (rc) {
		kiln_error("cannot put the profile in place as '%s': %s", a->output, strerror(-rc));
		return 1;
	}
	recorder_get_stats(s->r, &s->st);
	if (!a->quiet && s->st.kernel_fallback && !s->agent)
		kiln_warn("kernel stacks not permitted (perf_event_paranoid=%ld); recording user-space stacks only. "
		          "For kernel stacks run: sysctl kernel.perf_event_paranoid=1",
		          event_read_sysctl("/proc/sys/kernel/perf_event_paranoid", 2));
	return -1;
}

/* One round of reading: the perf rings (waiting up to timeout_ms), or
 * the agent's channel. Returns the records read. */
static size_t record_poll(struct record_session *s, int timeout_ms)
{
	if (!s->agent && s->roff)
		return recorder_poll(s->r, timeout_ms) + recorder_poll(s->roff, 0);
	if (!s->agent)
		return recorder_poll(s->r, timeout_ms);
	uint64_t n = agent_channel_poll(s->ch, agent_sampler_ops(s->sampler));
	if (!n && timeout_ms) {
		/* an 8 MiB ring holds seconds of samples: no need to look often */
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return (size_t)n;
}

/* After the command exited: what its processes wrote last, until every
 * ring ended, or only processes that still run are left (daemons: not
 * waited for more than AGENT_LINGER_NS). */
static void agent_drain(struct record_session *s)
{
	uint64_t exited = cmd_now_ns();
	for (;;) {
		uint64_t n = agent_channel_poll(s->ch, agent_sampler_ops(s->sampler));
		if (agent_channel_done(s->ch))
			break;
		size_t running;
		size_t pending = agent_channel_pending(s->ch, &running, NULL, 0);
		uint64_t waited = cmd_now_ns() - exited;
		if (waited > AGENT_LINGER_NS || (pending == running && waited > AGENT_PATIENT_NS) || interrupted)
			break;
		if (!n) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	agent_sampler_get_stats(s->sampler, &s->ast);
}

/* Reads the rings until the target exits, Ctrl-C, --duration or a full
 * disk, writing what was read every FLUSH_INTERVAL_NS. */
static int record_collect(struct record_session *s)
{
	const struct record_args *a = s->a;
	struct target *t = &s->t;
	uint64_t last_flush, stop_sent = 0, write_failed_at = 0;
	int stop_stage = 0, write_err = 0;
	s->start = last_flush = cmd_now_ns();
	while (!target_poll_exit(t)) {
		record_poll(s, 100);
		uint64_t now = cmd_now_ns();
		bool timeup = a->duration > 0 && now - s->start >= (uint64_t)(a->duration * 1e9);
		bool stop = interrupted || timeup || write_err;
		if (stop && !t->launched)
			break; /* attached: just detach */
		if (stop && stop_stage == 0) {
			/* Ctrl-C reached the whole process group already; a kill
			 * aimed at kiln alone must still stop the target. */
			target_signal(t, SIGINT);
			stop_stage = 1;
			stop_sent = now;
		} else if (stop_stage == 1 && now - stop_sent > 3000000000ull) {
			target_signal(t, SIGTERM);
			stop_stage = 2;
		} else if (stop_stage == 2 && now - stop_sent > 6000000000ull) {
			target_signal(t, SIGKILL);
			stop_stage = 3;
		}
		if (!write_err && now - last_flush >= FLUSH_INTERVAL_NS) {
			/* samples leave memory once written: an hour of
			 * recording holds no more than a second of it */
			int rc = kiln_writer_stream(s->w, s->p);
			if (rc) {
				/* a full disk: stop the command, keep what is on disk */
				write_err = rc;
				write_failed_at = now;
			} else {
				s->flushed = true;
			}
			last_flush = now;
		}
	}
	recorder_disable(s->r);
	if (s->roff)
		recorder_disable(s->roff);
	if (s->agent)
		agent_drain(s);
	else
		while (record_poll(s, 0))
			;
	s->end = cmd_now_ns();
	/* threads still off the cpu were so until now */
	recorder_close_offcpu(s->roff ? s->roff : s->r, s->end);
	if (write_err) {
		write_error_while_running(a, write_err, t->launched, (double)(write_failed_at - s->start) / 1e9,
		                          s->flushed);
		return 1;
	}
	return -1;
}

/* The run's statistics, the samples on disk, then symbols and the end of
 * the file. */
static int record_finish(struct record_session *s)
{
	const struct record_args *a = s->a;
	struct profile *p = s->p;
	struct recorder_stats *st = &s->st;
	recorder_get_stats(s->r, st);
	profile_set_meta_u64(p, "duration_ns", s->end - s->start);
	profile_set_meta_u64(p, "samples", st->samples);
	profile_set_meta_u64(p, "lost_samples", st->lost);
	set_loss_meta(p, s->r, st);
	profile_set_meta_u64(p, "truncated_stacks", st->truncated);
	if (a->call_graph == CALL_GRAPH_DWARF && !s->agent)
		profile_set_meta_u64(p, "stack_reach", st->stack_reach);
	profile_set_meta_u64(p, "stack_not_copied", st->not_copied);
	profile_set_meta_u64(p, "exec_cut_stacks", st->exec_cut);
	profile_set_meta_u64(p, "unwind_errors", st->unwind_errors);
	profile_set_meta(p, "kernel_stacks", st->kernel_stacks ? "yes" : "no");
	if (a->time != RECORD_TIME_CPU) {
		struct recorder_stats off = *st;
		if (s->roff) {
			recorder_get_stats(s->roff, &off);
			profile_set_meta_u64(p, "lost_samples", st->lost + off.lost);
		}
		profile_set_meta_u64(p, "offcpu_intervals", off.offcpu_intervals);
		profile_set_meta_u64(p, "offcpu_short", off.offcpu_short);
		profile_set_meta_u64(p, "offcpu_nostack", off.offcpu_nostack);
		profile_set_meta_u64(p, "offcpu_wakes", off.offcpu_wakes);
		profile_set_meta_u64(p, "offcpu_wake_filters", off.offcpu_wake_filters);
		if (off.offcpu_wake_refused)
			profile_set_meta(p, "offcpu_wake", "refused");
		else if (off.offcpu_wake_range)
			profile_set_meta(p, "offcpu_wake_filter", "range");
		profile_set_meta_u64(p, "offcpu_lost", off.lost);
		profile_set_meta_u64(p, "offcpu_truncated_stacks", off.truncated);
		if (a->call_graph == CALL_GRAPH_DWARF)
			profile_set_meta_u64(p, "offcpu_stack_reach", off.stack_reach);
		profile_set_meta_u64(p, "start_ns", s->start);
		profile_set_meta_u64(p, "end_ns", s->end);
	}
	if (s->agent) {
		profile_set_meta_u64(p, "agent_cut_stacks", s->ast.cut);
		profile_set_meta_u64(p, "agent_signals", s->ast.signals);
	}
	if (s->t.launched)
		profile_set_meta_u64(p, "exit_status", (uint64_t)target_exit_code(&s->t));

	/* Everything captured is on disk before the slower symbolization. */
	int rc = kiln_writer_stream(s->w, p);
	if (rc) {
		kiln_error("cannot write '%s': %s; %s", a->output, strerror(-rc),
		           s->flushed ? "the profile up to then is kept (it opens as cut short)"
		                      : "nothing was recorded, so the file is as it was");
		return 1;
	}
	s->flushed = true;
	bool tty = isatty(2);
	if (tty && !a->quiet)
		fprintf(stderr, "kiln: symbolizing %zu addresses...\r", p->locations.n);
	struct symbols_stats ss = {0};
	rc = symbols_resolve_profile(p, &ss);
	if (tty && !a->quiet)
		fprintf(stderr, "\033[K");
	if (rc)
		kiln_warn("symbolization failed: none of the program's files could be read (%s); addresses are kept "
		          "as module+offset",
		          strerror(-rc));
	profile_name_unsymbolized(p);
	cmd_note_debug_packages(p);
	rc = kiln_writer_finish(s->w, p);
	if (rc) {
		kiln_error("cannot write '%s': %s; the samples are kept but not the symbols (the file opens as cut "
		           "short)",
		           a->output, strerror(-rc));
		return 1;
	}
	return -1;
}

/* Off-CPU stacks cut by their (small, see RECORD_OFFCPU_STACK_SIZE) copy:
 * how many, and the size that keeps them whole. */
static void offcpu_truncated_hint(const struct record_session *s)
{
	struct recorder_stats off = s->st;
	if (s->roff)
		recorder_get_stats(s->roff, &off);
	if (!off.truncated)
		return;
	uint32_t size = offcpu_stack_size(s->a);
	if (size >= RECORDER_MAX_STACK_SIZE)
		kiln_warn("%" PRIu64 " of %" PRIu64 " off-CPU stacks were deeper than the %u-byte stack copy and are "
		          "cut short; they are marked, not hidden",
		          off.truncated, off.samples, size);
	else
		kiln_warn("%" PRIu64 " of %" PRIu64 " off-CPU stacks were deeper than the %u-byte stack copy of a "
		          "switch and are cut short (marked, not hidden); --call-graph dwarf,%u copies up to 64 KiB at "
		          "each switch, at a higher cost to the target",
		          off.truncated, off.samples, size, RECORDER_MAX_STACK_SIZE);
}

/* What was written, and every way the recording fell short. */
static void record_summary(const struct record_session *s)
{
	const struct record_args *a = s->a;
	const struct recorder_stats *st = &s->st;
	const struct profile *p = s->p;
	struct stat sb;
	char size[32] = "?";
	if (stat(a->output, &sb) == 0)
		human_size((uint64_t)sb.st_size, size, sizeof(size));
	fprintf(stderr,
	        "kiln: wrote '%s' (%" PRIu64 " samples, %" PRIu64 " lost, %" PRIu64
	        " truncated stacks, %zu threads, %s)\n",
	        a->output, st->samples, st->lost, st->truncated, p->threads.n, size);
	if (s->out.old)
		fprintf(stderr, "kiln: the previous profile is now '%s'\n", s->out.old);
	if (a->time != RECORD_TIME_CPU) {
		uint64_t n = profile_get_meta_u64(p, "offcpu_intervals", 0);
		uint64_t lost = profile_get_meta_u64(p, "offcpu_lost", 0);
		const char *wake = profile_get_meta(p, "offcpu_wake");
		bool woken = wake && strcmp(wake, "none") && strcmp(wake, "refused");
		fprintf(stderr, "kiln: %" PRIu64 " off-CPU intervals from %s%s%s (%" PRIu64 " lost switches", n,
		        profile_get_meta(p, "offcpu_event"), woken ? " split at " : "", woken ? wake : "", lost);
		if (a->min_block)
			fprintf(stderr, ", %" PRIu64 " shorter than --min-block dropped",
			        profile_get_meta_u64(p, "offcpu_short", 0));
		fprintf(stderr, ", %" PRIu64 " without a stack)\n", profile_get_meta_u64(p, "offcpu_nostack", 0));
		if (!woken)
			fprintf(stderr,
			        "kiln: wake-ups not read (every cpu's sched:sched_wakeup needs tracefs and root, "
			        "CAP_PERFMON or perf_event_paranoid -1): blocked time includes the wait for a cpu "
			        "after each wake-up; run: sysctl kernel.perf_event_paranoid=-1\n");
		else if (woken && profile_get_meta(p, "offcpu_wake_filter"))
			fprintf(stderr,
			        "kiln: more threads than the kernel's wake-up filter holds: wake-ups read of every "
			        "thread id from the target's lowest up\n");
	}
	if (st->lost) {
		struct strbuf lost = STRBUF_INIT;
		render_lost_hint(p, st->samples, &lost);
		kiln_warn("%s", strbuf_str(&lost));
		strbuf_release(&lost);
	}
	if (st->truncated && a->call_graph == CALL_GRAPH_DWARF && a->time != RECORD_TIME_OFFCPU)
		kiln_warn("%" PRIu64 " of %" PRIu64 " stacks were deeper than the %u-byte stack copy and are cut "
		          "short; they are marked, not hidden",
		          st->truncated, st->samples, a->stack_size);
	if (a->time != RECORD_TIME_CPU && a->call_graph == CALL_GRAPH_DWARF)
		offcpu_truncated_hint(s);
	if (st->not_copied)
		kiln_warn("%" PRIu64 " of %" PRIu64
		          " samples had no user stack copied (its page was not present, as while it faults "
		          "in): they keep the sampled function and stop there, under [stack not copied]; "
		          "depth is not the cause",
		          st->not_copied, st->samples);
	if (st->exec_cut)
		kiln_warn("%" PRIu64 " of %" PRIu64
		          " samples were taken inside execve, after the old program's memory was gone; their "
		          "stacks stop under [cut by exec]",
		          st->exec_cut, st->samples);
	if (st->unwind_errors)
		kiln_warn("%" PRIu64 " of %" PRIu64
		          " stacks stop early at code kiln could not unwind (no module, no call frame "
		          "information, or a frame going nowhere); see UNWINDING in kiln-record(1)",
		          st->unwind_errors, st->samples);
	if (profile_get_meta(p, "kernel_symbols"))
		kiln_warn("kernel symbols are hidden (kernel.kptr_restrict=%ld); kernel frames show as addresses. "
		          "Run: sysctl kernel.kptr_restrict=0",
		          event_read_sysctl("/proc/sys/kernel/kptr_restrict", 1));
	const char *missing = profile_get_meta(p, "missing_modules");
	if (missing && *missing)
		kiln_warn("could not read symbols from: %s", missing);
	struct strbuf hint = STRBUF_INIT;
	render_symbols_hint(p, &hint);
	if (hint.len)
		kiln_warn("%s", strbuf_str(&hint));
	strbuf_release(&hint);
	struct strbuf refused = STRBUF_INIT;
	recorder_refused_cfi(s->r, &refused);
	if (refused.len)
		kiln_warn("ignored the call frame information of %s: it names registers %s does not have "
		          "(a corrupt file, or one built for another machine), so stacks stop in that code",
		          strbuf_str(&refused), ARCH_NAME);
	strbuf_release(&refused);
	if (s->agent && s->ast.cut)
		kiln_warn("%" PRIu64 " of %" PRIu64
		          " stacks stop early at code the agent could not unwind (no call frame information, or a "
		          "frame off the thread's known stack)",
		          s->ast.cut, st->samples);
	if (s->agent && !agent_channel_rings(s->ch))
		kiln_warn("the agent did not start in '%s' (a static binary, or LD_PRELOAD removed); nothing was "
		          "recorded",
		          a->argv[0]);
	else if (!st->samples && st->lost)
		kiln_warn("no samples were kept: the kernel dropped every one (above)");
	else if (!st->samples)
		kiln_warn("no samples were recorded; the command may have run too briefly");
}

/* Keeps the file when a chunk of this run reached it (given to the user
 * who ran sudo), else puts back what was there; frees the rest. Returns
 * whether the file was kept. */
static bool record_session_release(struct record_session *s)
{
	bool kept = s->flushed;
	if (kept) {
		chown_to_invoker(s->a->output);
	} else {
		kiln_writer_free(s->w);
		s->w = NULL;
		if (s->opened)
			output_discard(&s->out);
	}
	target_release(&s->t);
	kiln_writer_free(s->w);
	if (s->opened)
		output_release(&s->out);
	recorder_free(s->r);
	recorder_free(s->roff);
	agent_sampler_free(s->sampler);
	agent_channel_free(s->ch);
	free(s->agent_path);
	profile_free(s->p);
	return kept;
}

int record_run(const struct record_args *a, bool *wrote)
{
	struct record_session s = {.a = a};
	target_init(&s.t);
	cmd_catch_stop_signals(on_signal);
	symbols_set_debug_dirs(a->debug_dirs);
	int status = record_prepare(&s);
	if (status < 0)
		status = record_start(&s);
	if (status < 0)
		status = record_collect(&s);
	if (status < 0)
		status = record_finish(&s);
	if (status < 0) {
		if (!a->quiet)
			record_summary(&s);
		status = s.t.launched ? target_exit_code(&s.t) : 0;
	}
	bool kept = record_session_release(&s);
	if (wrote)
		*wrote = kept;
	return status;
}

void record_args_init(struct record_args *a)
{
	memset(a, 0, sizeof(*a));
	a->output = "profile.kiln";
	a->freq = 997;
	a->call_graph = CALL_GRAPH_DWARF;
	a->stack_size = RECORDER_MAX_STACK_SIZE;
	a->inherit = true;
	a->kernel = true;
}

int cmd_record(int argc, char **argv)
{
	struct record_args a;
	record_args_init(&a);
	int rc = record_parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	return record_run(&a, NULL);
}
