/* serve.c - `kiln serve`: a long-running profiler for one machine. Samples
 * the chosen processes at a low rate, keeps a window of samples in memory
 * and .kiln segments on disk, and serves /debug/pprof/profile, /metrics
 * and a flame graph page over HTTP (serve_http.c answers the requests).
 * This file parses options and runs the loop: recorders (capture/), the
 * window and segments (profile/), the server (capture/http_server). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/events.h"
#include "capture/proc_stat.h"
#include "capture/recorder.h"
#include "cmd/cmd.h"
#include "cmd/record.h"
#include "cmd/live_compact.h"
#include "cmd/serve.h"
#include "profile/kiln_file.h"
#include "profile/profile_compact.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define SERVE_FLUSH_NS 250000000ull  /* the open segment is written this often */
#define SERVE_SCAN_NS  2000000000ull /* --all looks for new processes, and -p for exits, this often */

static const char serve_usage[] =
    "usage: kiln serve [--listen ADDR:PORT] [-p PID... | --all] [-F HZ] [--retention DURATION] [--dir DIR]\n"
    "\n"
    "Profiles processes continuously at a low rate and serves what it sees over\n"
    "HTTP: /debug/pprof/profile?seconds=N (a gzip pprof CPU profile, as Go's\n"
    "net/http/pprof), /metrics (Prometheus text format), / (a flame graph page).\n"
    "Samples are also written to DIR as one .kiln segment per interval.\n"
    "\n"
    "      --listen ADDR:PORT    where to serve (default 127.0.0.1:6060; PORT 0 picks\n"
    "                            one); anything but loopback must be asked for\n"
    "  -p, --pid PID[,PID...]    the processes to profile (with their threads and\n"
    "                            children); may be repeated\n"
    "      --all                 every process kiln may profile, found every 2 s\n"
    "  -F, --freq HZ             samples per second per thread (default 19)\n"
    "      --retention DURATION  remove segments older than this (default 24h;\n"
    "                            DURATION: 90s, 30m, 6h, 7d)\n"
    "      --segment DURATION    one segment per DURATION (default 1m)\n"
    "      --window DURATION     the samples kept in memory for the views (default 5m)\n"
    "      --dir DIR             where segments go (default\n"
    "                            $XDG_STATE_HOME/kiln/serve or ~/.local/state/kiln/serve)\n"
    "      --max-memory BYTES    the memory serve's window, profile tables and\n"
    "                            recorders may hold (default 64M); while it is\n"
    "                            spent new samples are dropped and counted\n"
    "      --max-disk BYTES      the segments' budget (default 1G): oldest go first\n"
    "      --max-stacks N        distinct stacks kept (default 200000); samples of\n"
    "                            new stacks beyond it are dropped and counted, and\n"
    "                            the next segment starts the stacks over\n"
    "      --call-graph MODE     fp or dwarf[,SIZE] (default dwarf,16384)\n"
    "      --no-kernel           user-space stacks only\n"
    "  -q, --quiet               print nothing but errors\n"
    "  -h, --help                show this help\n"
    "\n"
    "Runs until SIGINT or SIGTERM, then closes the open segment. Exit status 0,\n"
    "1 when it cannot start, 2 for a usage error. See kiln-serve(1).\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

enum {
	OPT_LISTEN = 0x100,
	OPT_ALL,
	OPT_RETENTION,
	OPT_SEGMENT,
	OPT_WINDOW,
	OPT_DIR,
	OPT_MAX_MEMORY,
	OPT_MAX_DISK,
	OPT_MAX_STACKS,
	OPT_CALL_GRAPH,
	OPT_NO_KERNEL,
};

/* A duration: a number with s, m, h or d (seconds without a unit); ns. */
static int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v > 0) || isspace((unsigned char)*s))
		return -1;
	double mul = 1;
	if (*end) {
		if (end[1])
			return -1;
		mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
		if (!mul)
			return -1;
	}
	double total = v * mul * 1e9;
	if (total < 1e6 || total > 1e18)
		return -1;
	*ns = (uint64_t)total;
	return 0;
}

static int add_pids(struct serve_args *a, const char *arg)
{
	uint32_t pids[256];
	int n = cmd_parse_pid_list(arg, pids, sizeof(pids) / sizeof(pids[0]));
	if (n < 0) {
		kiln_error("-p takes process ids, like -p 1234 or -p 1234,5678 (at most 256 a -p); got '%s'", arg);
		return 2;
	}
	for (int i = 0; i < n; i++)
		vec_push(&a->pids, (pid_t)pids[i]);
	return 0;
}

static const char *default_dir(struct strbuf *sb)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state && state[0] == '/')
		strbuf_addf(sb, "%s/kiln/serve", state);
	else if (home && home[0] == '/')
		strbuf_addf(sb, "%s/.local/state/kiln/serve", home);
	else
		strbuf_addstr(sb, "kiln-serve");
	return strbuf_str(sb);
}

/* -1 to go on, else the exit status. */
static int serve_parse(int argc, char **argv, struct serve_args *a)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"pid", required_argument, NULL, 'p'},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"freq", required_argument, NULL, 'F'},
	    {"retention", required_argument, NULL, OPT_RETENTION},
	    {"segment", required_argument, NULL, OPT_SEGMENT},
	    {"window", required_argument, NULL, OPT_WINDOW},
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
	    {"max-disk", required_argument, NULL, OPT_MAX_DISK},
	    {"max-stacks", required_argument, NULL, OPT_MAX_STACKS},
	    {"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
	    {"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:p:F:qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN: {
			char host[256];
			unsigned port;
			if (http_split_addr(optarg, host, sizeof(host), &port)) {
				kiln_error("--listen takes ADDR:PORT with a numeric address, like 127.0.0.1:6060 or "
				           "[::1]:6060; got '%s'",
				           optarg);
				return 2;
			}
			a->listen = optarg;
			break;
		}
		case 'p':
			if (add_pids(a, optarg))
				return 2;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case 'F':
			if (cmd_parse_u64(optarg, &a->freq) || !a->freq) {
				kiln_error("-F takes a sampling frequency in Hz, like -F 19; got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_RETENTION:
		case OPT_SEGMENT:
		case OPT_WINDOW: {
			uint64_t *to = c == OPT_RETENTION ? &a->retention_ns
			               : c == OPT_SEGMENT ? &a->segment_ns
			                                  : &a->window_ns;
			if (parse_duration(optarg, to)) {
				kiln_error("--%s takes a duration, like 90s, 30m, 6h or 7d; got '%s'",
				           c == OPT_RETENTION ? "retention"
				           : c == OPT_SEGMENT ? "segment"
				                              : "window",
				           optarg);
				return 2;
			}
			break;
		}
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_MAX_MEMORY:
		case OPT_MAX_DISK: {
			uint64_t *to = c == OPT_MAX_MEMORY ? &a->max_memory : &a->max_disk;
			const char *name = c == OPT_MAX_MEMORY ? "--max-memory" : "--max-disk";
			if (cmd_stack_limit_option(name, optarg, to))
				return 2;
			break;
		}
		case OPT_MAX_STACKS:
			if (cmd_parse_u64(optarg, &a->max_stacks) || a->max_stacks < 2 || a->max_stacks > UINT32_MAX) {
				kiln_error(
				    "--max-stacks takes a count of at least 2, like --max-stacks 100000; got '%s'",
				    optarg);
				return 2;
			}
			break;
		case OPT_CALL_GRAPH:
			if (record_parse_call_graph(optarg, &a->call_graph, &a->stack_size)) {
				record_call_graph_error(optarg);
				return 2;
			}
			break;
		case OPT_NO_KERNEL:
			a->kernel = false;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			cmd_print_usage(serve_usage, 0);
			return 0;
		default:
			return cmd_bad_option("serve", c, argv);
		}
	}
	if (optind < argc) {
		kiln_error("kiln serve takes no command ('%s'); start the program, then give its -p PID", argv[optind]);
		return 2;
	}
	if (a->all && a->pids.n) {
		kiln_error("give either -p PID or --all, not both");
		return 2;
	}
	if (!a->all && !a->pids.n) {
		kiln_error("nothing to profile: give -p PID (or --all for every process kiln may profile)");
		return 2;
	}
	if (a->segment_ns > a->retention_ns) {
		kiln_error("--segment is longer than --retention; each segment would be removed as it closes");
		return 2;
	}
	long max_rate = event_read_sysctl("/proc/sys/kernel/perf_event_max_sample_rate", 100000);
	if (a->freq > (uint64_t)max_rate) {
		kiln_error("-F %" PRIu64 " is above the kernel's limit of %ld Hz; lower it", a->freq, max_rate);
		return 2;
	}
	return -1;
}

/* Now in clock ticks since boot, the unit of a process's start time. */
static uint64_t boot_ticks(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	long hz = sysconf(_SC_CLK_TCK);
	return (uint64_t)ts.tv_sec * (uint64_t)hz + (uint64_t)ts.tv_nsec / (1000000000ull / (uint64_t)hz);
}

/* Starts a recorder on pid; 0 or -errno (the caller says why). */
static int proc_open(struct serve *s, pid_t pid)
{
	struct event_desc ev;
	event_parse("cpu-clock", &ev);
	struct recorder_options ro = {
	    .event = ev,
	    .freq = s->a.freq,
	    .call_graph = s->a.call_graph,
	    .stack_size = s->a.stack_size,
	    .inherit = true,
	    .kernel = s->a.kernel,
	};
	struct recorder *r = recorder_new(s->p, &ro);
	int rc = recorder_open_process(r, pid);
	if (rc) {
		recorder_free(r);
		return rc;
	}
	recorder_enable(r);
	struct serve_proc *sp = vec_grow(&s->procs);
	sp->pid = pid;
	sp->r = r;
	sp->attached = boot_ticks();
	struct proc_stat st;
	if (!proc_stat_read(pid, 0, &st))
		snprintf(sp->comm, sizeof(sp->comm), "%s", st.comm);
	return 0;
}

/* Moves the samples the recorder of sp added (p->samples from index from)
 * into the window; the ones it refuses leave p too. */
static void intake(struct serve *s, struct serve_proc *sp, size_t from)
{
	struct profile *p = s->p;
	size_t kept = from;
	for (size_t i = from; i < p->samples.n; i++) {
		struct profile_sample *x = &p->samples.v[i];
		if (x->stack >= s->a.max_stacks) {
			s->stack_cap_dropped++;
			sp->dropped_stacks++;
			continue;
		}
		if (!sample_window_add(&s->win, x)) {
			sp->dropped_memory++;
			continue;
		}
		sp->samples++;
		sp->cpu_ns += (uint64_t)(x->values[RECORDER_VALUE_EVENTS] > 0 ? x->values[RECORDER_VALUE_EVENTS] : 0);
		s->seg_samples++;
		p->samples.v[kept++] = *x;
	}
	p->samples.n = kept;
}

static void poll_procs(struct serve *s)
{
	serve_budget_apply(s);
	for (size_t i = 0; i < s->procs.n; i++) {
		struct serve_proc *sp = &s->procs.v[i];
		if (!sp->r)
			continue;
		size_t from = s->p->samples.n;
		recorder_poll(sp->r, 0);
		intake(s, sp, from);
		recorder_get_stats(sp->r, &sp->st);
	}
}

/* A process that exited: what its rings still hold, then its recorder goes. */
static void proc_close(struct serve *s, struct serve_proc *sp)
{
	recorder_disable(sp->r);
	size_t from = s->p->samples.n;
	while (recorder_poll(sp->r, 0))
		;
	intake(s, sp, from);
	recorder_get_stats(sp->r, &sp->st);
	recorder_free(sp->r);
	sp->r = NULL;
	sp->exited = true;
}

/* pid's parent and start time (clock ticks since boot), from /proc/PID/stat;
 * 0 when it is gone. */
static pid_t parent_of(pid_t pid, uint64_t *start)
{
	struct proc_stat st;
	if (proc_stat_read(pid, 0, &st))
		return 0;
	*start = st.start_ticks;
	return st.ppid;
}

static const struct serve_proc *proc_find(const struct serve *s, pid_t pid)
{
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].pid == pid)
			return &s->procs.v[i];
	return NULL;
}

/* --all: every user process not yet recorded and not inherited by a
 * recorded ancestor (its recorder follows children); processes kiln may
 * not profile are remembered as refused (no recorder) and not tried again. */
static void scan_all(struct serve *s)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	pid_t self = getpid();
	while ((e = readdir(d))) {
		uint64_t v;
		if (cmd_parse_u64(e->d_name, &v) || !v || v > INT_MAX)
			continue;
		pid_t pid = (pid_t)v;
		if (pid == self || proc_find(s, pid) || live_proc_gone(pid))
			continue;
		char exe[64], target[8];
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
		if (readlink(exe, target, sizeof(target)) < 0 && errno != EACCES)
			continue; /* a kernel thread has no program */
		/* a recorder follows the children started after it attached,
		 * not those that were there before */
		uint64_t started = 0, ignored;
		bool inherited = false;
		pid_t a = parent_of(pid, &started);
		for (int depth = 0; a > 1 && !inherited && depth < 64; depth++) {
			const struct serve_proc *anc = proc_find(s, a);
			inherited = a == self || (anc && anc->r && started > anc->attached);
			a = parent_of(a, &ignored);
		}
		if (inherited)
			continue;
		if (proc_open(s, pid)) {
			struct serve_proc *sp = vec_grow(&s->procs);
			sp->pid = pid;
			sp->exited = sp->refused = true; /* listed nowhere, not tried again */
		}
	}
	closedir(d);
}

static void check_procs(struct serve *s)
{
	for (size_t i = 0; i < s->procs.n; i++) {
		struct serve_proc *sp = &s->procs.v[i];
		if (!sp->r)
			continue;
		struct proc_stat st;
		if (!proc_stat_read(sp->pid, 0, &st) && st.state != 'Z' && st.state != 'X') {
			/* an exec renames it: the metrics and the page say what runs now */
			snprintf(sp->comm, sizeof(sp->comm), "%s", st.comm);
			continue;
		}
		proc_close(s, sp);
		if (!s->a.quiet && !s->a.all)
			kiln_warn("process %d (%s) exited; its samples stay in the window and segments", (int)sp->pid,
			          sp->comm);
	}
	if (s->a.all)
		scan_all(s);
}

static void set_segment_meta(struct serve *s)
{
	struct profile *p = s->p;
	struct strbuf cmd = STRBUF_INIT;
	strbuf_addstr(&cmd, "kiln serve");
	if (s->a.all)
		strbuf_addstr(&cmd, " --all");
	for (size_t i = 0; i < s->a.pids.n; i++)
		strbuf_addf(&cmd, " -p %d", (int)s->a.pids.v[i]);
	cmd_set_run_meta(p, strbuf_str(&cmd), s->seg_wall);
	strbuf_release(&cmd);
	profile_set_meta(p, "event", "cpu-clock");
	profile_set_meta_u64(p, "frequency", s->a.freq);
	profile_set_meta(p, "call_graph", s->a.call_graph == CALL_GRAPH_DWARF ? "dwarf" : "fp");
	profile_set_meta(p, "engine", "perf");
	profile_set_meta_u64(p, "segment", s->seg_seq);
	if (s->a.pids.n == 1)
		profile_set_meta_u64(p, "pid", (uint64_t)s->a.pids.v[0]);
}

/* Opens the next segment; on failure samples stay in memory only until
 * the next rotation tries again. */
static void segment_open(struct serve *s, uint64_t now)
{
	s->seg_start = now;
	s->seg_wall = cmd_wall_ns();
	s->seg_seq++;
	s->seg_samples = 0;
	free(s->seg_path);
	s->seg_path = segment_dir_path(&s->sd, s->seg_wall, s->seg_seq);
	set_segment_meta(s);
	int rc = kiln_writer_open(&s->w, s->seg_path);
	if (rc) {
		s->w = NULL;
		s->write_errors++;
		if (rc != s->last_write_err && !s->a.quiet)
			kiln_warn("cannot write segment '%s': %s; samples are kept in memory only until the next "
			          "segment",
			          s->seg_path, strerror(-rc));
		s->last_write_err = rc;
	}
	segment_dir_prune(&s->sd, s->seg_wall, s->seg_path, &s->sds);
}

/* Writes what the open segment gained; samples leave memory either way
 * (the window has its own copy). */
static void segment_flush(struct serve *s)
{
	if (s->w) {
		int rc = kiln_writer_stream(s->w, s->p);
		if (rc) {
			s->write_errors++;
			if (rc != s->last_write_err && !s->a.quiet)
				kiln_warn("cannot write segment '%s': %s; it stops here (it opens as cut short)",
				          s->seg_path, strerror(-rc));
			s->last_write_err = rc;
			kiln_writer_free(s->w);
			s->w = NULL;
		}
	}
	profile_clear_samples(s->p);
}

/* Closes the open segment: its statistics go in its profile, which then
 * leaves for the closer thread (serve_close.h: symbols, end chunk, fsync),
 * while s->p keeps only what is still named (serve_budget_compact()).
 * Before the last, a closer too far behind for the budget gets nothing:
 * the segment stays as written, cut short (serve_budget_close_whole()). */
static void segment_close(struct serve *s, uint64_t now, bool last)
{
	if (s->w) {
		profile_set_meta_u64(s->p, "duration_ns", now - s->seg_start);
		profile_set_meta_u64(s->p, "samples", s->seg_samples);
		uint64_t lost = 0, unwind = 0;
		for (size_t i = 0; i < s->procs.n; i++) {
			lost += s->procs.v[i].st.lost;
			unwind += s->procs.v[i].st.unwind_errors;
		}
		profile_set_meta_u64(s->p, "lost_samples", lost);
		profile_set_meta_u64(s->p, "unwind_errors", unwind);
	}
	struct profile *old = serve_budget_compact(s);
	profile_clear_samples(s->p);
	if (s->w && (last || serve_budget_close_whole(s, old))) {
		serve_closer_submit(&s->closer, old, s->w, s->seg_path);
	} else {
		profile_free(old);
		kiln_writer_free(s->w);
	}
	s->w = NULL;
}

/* What the closer failed to finish since the last look: counted, and said
 * once per kind of error. */
static void closer_errors(struct serve *s)
{
	int err;
	char *path;
	uint64_t n = serve_closer_take_errors(&s->closer, &err, &path);
	if (n) {
		s->write_errors += n;
		if (err != s->last_write_err && !s->a.quiet)
			kiln_warn("cannot finish segment '%s': %s; it opens as cut short", path, strerror(-err));
		s->last_write_err = err;
	}
	free(path);
}

static void segment_rotate(struct serve *s, uint64_t now)
{
	segment_close(s, now, false);
	if (s->p->stacks.n > s->a.max_stacks) {
		/* the cap: the stacks start over, and so does the window (its
		 * samples name the old stacks); the segments keep them */
		s->win.dropped += sample_window_forget_stacks(&s->win, 1);
		profile_clear_stacks(s->p);
		s->trie_resets++;
	}
	if (s->a.all) {
		/* exited processes leave /metrics with the segment they ended in */
		size_t k = 0;
		for (size_t i = 0; i < s->procs.n; i++)
			if (!s->procs.v[i].exited)
				s->procs.v[k++] = s->procs.v[i];
		s->procs.n = k;
	}
	segment_open(s, now);
}

/* One turn of the loop's profiling half. */
static void serve_tick(struct serve *s)
{
	poll_procs(s);
	serve_symbols_apply(&s->symbols, s->p);
	serve_symbols_send(&s->symbols, s->p);
	closer_errors(s);
	uint64_t now = cmd_now_ns();
	sample_window_expire(&s->win, now);
	if (now - s->last_scan >= SERVE_SCAN_NS) {
		s->last_scan = now;
		check_procs(s);
	}
	if (now - s->seg_start >= s->a.segment_ns)
		segment_rotate(s, now);
	else if (now - s->last_flush >= SERVE_FLUSH_NS) {
		s->last_flush = now;
		segment_flush(s);
	}
}

static bool is_loopback(const char *addr)
{
	char host[256];
	unsigned port;
	if (http_split_addr(addr, host, sizeof(host), &port))
		return false;
	return !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* Everything up to serving: recorders on the processes, the segment
 * directory, the server. -1 to go on, else the exit status. */
static int serve_start(struct serve *s)
{
	struct serve_args *a = &s->a;
	s->p = profile_new();
	profile_add_value_type(s->p, "samples", "count");
	profile_add_value_type(s->p, "cpu", "nanoseconds");
	size_t cap = (size_t)(a->max_memory / sizeof(struct profile_sample));
	sample_window_init(&s->win, cap ? cap : 1, a->window_ns);
	int rc = segment_dir_init(&s->sd, a->dir, a->retention_ns, a->max_disk);
	if (rc) {
		kiln_error("cannot use '%s' for segments: %s; give another --dir", a->dir, strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < a->pids.n; i++) {
		pid_t pid = a->pids.v[i];
		if (live_proc_gone(pid)) {
			kiln_error("no process with pid %d", (int)pid);
			return 1;
		}
		rc = proc_open(s, pid);
		if (rc == -EACCES || rc == -EPERM) {
			return cmd_perm_error("serve", pid, false);
		} else if (rc) {
			kiln_error("cannot profile process %d: %s", (int)pid, strerror(-rc));
			return 1;
		}
	}
	if (a->all)
		scan_all(s);
	(void)symbols_debug_cache_dir(); /* resolved here, before two threads may ask */
	rc = serve_symbols_start(&s->symbols);
	if (rc) {
		kiln_error("cannot start the symbolizer thread: %s", strerror(-rc));
		return 1;
	}
	rc = serve_closer_start(&s->closer, &s->symbols);
	if (rc) {
		kiln_error("cannot start the segment closer thread: %s", strerror(-rc));
		return 1;
	}
	rc = http_server_new(&s->http, a->listen, &(struct http_limits){0}, serve_handle, s);
	if (rc) {
		kiln_error("cannot listen on '%s': %s%s", a->listen, strerror(-rc),
		           rc == -EADDRINUSE ? "; pick another port with --listen" : "");
		return 1;
	}
	if (gethostname(s->host, sizeof(s->host) - 1))
		strncpy(s->host, "localhost", sizeof(s->host) - 1);
	s->start_wall = cmd_wall_ns();
	uint64_t now = cmd_now_ns();
	s->last_flush = s->last_scan = now;
	segment_open(s, now);
	serve_budget_measure(s, &s->mem);
	if (s->mem.total >= a->max_memory && !a->quiet)
		kiln_warn("--max-memory %" PRIu64
		          " is less than the %zu bytes kiln serve holds before its first sample "
		          "(ring buffers, address maps); every sample will be dropped; give a larger --max-memory",
		          a->max_memory, s->mem.total);
	if (!a->quiet) {
		char host[256];
		unsigned port;
		http_split_addr(a->listen, host, sizeof(host), &port);
		fprintf(stderr, "kiln: serving http://%s%s%s:%d/ (%s at %" PRIu64 " Hz; segments in '%s')\n",
		        strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", http_server_port(s->http),
		        a->all           ? "every process kiln may profile"
		        : a->pids.n == 1 ? "one process"
		                         : "the processes",
		        a->freq, a->dir);
		if (!is_loopback(a->listen))
			kiln_warn("serving on '%s', not loopback: anyone who reaches it sees these profiles",
			          a->listen);
	}
	return -1;
}

static void serve_release(struct serve *s)
{
	serve_closer_release(&s->closer);
	serve_symbols_release(&s->symbols); /* after the closer, which uses it */
	for (size_t i = 0; i < s->procs.n; i++)
		recorder_free(s->procs.v[i].r);
	vec_free(&s->procs);
	http_server_free(s->http);
	kiln_writer_free(s->w);
	free(s->seg_path);
	segment_dir_release(&s->sd);
	sample_window_release(&s->win);
	profile_free(s->p);
	vec_free(&s->a.pids);
}

int cmd_serve(int argc, char **argv)
{
	struct serve s = {0};
	struct strbuf dir = STRBUF_INIT;
	s.a.listen = "127.0.0.1:6060";
	s.a.freq = 19;
	s.a.retention_ns = 24 * 3600 * 1000000000ull;
	s.a.segment_ns = 60 * 1000000000ull;
	s.a.window_ns = 300 * 1000000000ull;
	s.a.max_memory = 64ull << 20;
	s.a.max_disk = 1ull << 30;
	s.a.max_stacks = 200000;
	s.a.call_graph = CALL_GRAPH_DWARF;
	s.a.stack_size = 16384;
	s.a.kernel = true;
	int status = serve_parse(argc, argv, &s.a);
	if (status >= 0)
		goto out;
	if (!s.a.dir)
		s.a.dir = default_dir(&dir);
	cmd_catch_stop_signals(on_signal);
	status = serve_start(&s);
	if (status >= 0)
		goto out;
	while (!stop_signal) {
		int rc = http_server_poll(s.http, 50);
		if (rc) {
			kiln_error("the server's poll failed: %s", strerror(-rc));
			status = 1;
			break;
		}
		serve_tick(&s);
	}
	for (size_t i = 0; i < s.procs.n; i++)
		if (s.procs.v[i].r)
			proc_close(&s, &s.procs.v[i]);
	segment_close(&s, cmd_now_ns(), true);
	serve_closer_stop(&s.closer);
	closer_errors(&s);
	if (status < 0)
		status = 0;
	if (!s.a.quiet)
		fprintf(stderr, "kiln: stopped (%s); segments are in '%s'\n", strsignal(stop_signal ? stop_signal : 0),
		        s.a.dir);
out:
	serve_release(&s);
	strbuf_release(&dir);
	return status;
}
