/* top.c - `kiln top`: a live view of where a running program spends its
 * CPU. Wires the recorder (as kiln record samples), the symbolizer (a
 * warm one, kept for the whole run), the rolling window of
 * analysis/top_window.h and the views of render/top.h together; the
 * work lives in those stages. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/hotspots.h"
#include "analysis/top_window.h"
#include "capture/events.h"
#include "capture/proc_stat.h"
#include "capture/proc_thread.h"
#include "capture/recorder.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/live_compact.h"
#include "cmd/record.h"
#include "profile/profile.h"
#include "profile/profile_compact.h"
#include "render/top.h"
#include "symbols/symbols.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define TOP_POLL_MS        50   /* how long a round waits for records: the keys' latency */
#define TOP_FIRST_SCREEN_S 0.5  /* the first data on the terminal, whatever the delay */
#define TOP_MAX_THREADS    4096 /* threads whose state is read from /proc each interval */
/* The profile is compacted when it holds this many stack nodes and twice
 * as many as the last compaction kept (KILN_TEST_TOP_COMPACT: at every
 * refresh, for the tests). */
#define TOP_COMPACT_STACKS 65536

static const char top_usage[] = "usage: kiln top [options] -p PID\n"
                                "       kiln top [options] -- CMD [ARGS...]\n"
                                "\n"
                                "Shows live where a running process (all its threads) or a command spends\n"
                                "its CPU: the hottest functions of the last few seconds (self and total),\n"
                                "the threads with their CPU share and state, samples per second and lost\n"
                                "samples. On a terminal it is an interactive view; else a text snapshot is\n"
                                "printed every interval.\n"
                                "\n"
                                "  -p, --pid PID             watch a running process\n"
                                "  -d, --delay SECONDS       refresh every SECONDS (default 1)\n"
                                "  -w, --window SECONDS      the functions of the last SECONDS (default 5)\n"
                                "      --once                print one text snapshot after one delay and exit\n"
                                "  -E, --entries N           functions and threads a snapshot lists (default\n"
                                "                            20; 0 for all)\n"
                                "      --sort KEY            self or total: what the functions are sorted by\n"
                                "  -F, --freq HZ             samples per second per thread (default 997)\n"
                                "  -c, --count N             sample every N events instead of a frequency\n"
                                "  -e, --event EVENT         what to sample, as kiln record (default cycles\n"
                                "                            where a PMU exists, else cpu-clock)\n"
                                "  -g                        call graphs in the right mode (dwarf)\n"
                                "      --call-graph MODE     fp or dwarf[,SIZE] (default dwarf,65528)\n"
                                "      --no-inherit          do not follow threads and children started later\n"
                                "      --no-kernel           user-space stacks only\n"
                                "      --debug-dir DIR       look for separate debug files in DIR too\n"
                                "  -h, --help                show this help\n"
                                "\n"
                                "Keys: s/t sort by self/total, h threads, Enter call tree of the selected\n"
                                "function, f back to the functions, space pause, / filter by regex, arrows\n"
                                "move, q quit. A command kiln started is stopped when top quits.\n"
                                "Exit status: the command's when it exits by itself (128+N when it died\n"
                                "from signal N); else 0 (quit, interrupted, or the -p process exited); 1\n"
                                "when kiln failed, 2 for a usage error, 127/126 when CMD cannot be run.\n"
                                "See kiln-top(1).\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

struct top_args {
	struct record_args rec; /* the sampling options, as kiln record's */
	double delay, window;
	bool once;
	uint64_t entries;
	enum hotspot_sort sort;
};

/* The state of one run (perf's cmd_top / __cmd_top): each stage returns
 * -1 to go on, or the exit status after saying what went wrong. */
struct top_session {
	const struct top_args *a;
	struct event_desc ev;
	struct profile *p;
	struct recorder *r;
	struct target t;
	struct symbolizer *sym;
	struct hotspots h;
	bool have_h;
	struct top_calltree tree;
	top_thread_vec threads;
	struct top_screen screen;
	struct top_tui *tui;
	struct strbuf name; /* what the title calls the target */
	uint64_t last_at;   /* the last refresh (CLOCK_MONOTONIC ns) */
	uint64_t last_samples, last_lost;
	uint64_t printed; /* samples when the last snapshot was printed */
	uint64_t start;
	bool interactive; /* the terminal view, not text snapshots */
	bool quit;
	bool compact_always;     /* KILN_TEST_TOP_COMPACT */
	size_t compacted_stacks; /* stack nodes the last compaction kept */
	uint64_t compactions;    /* how many, with what they dropped: */
	uint64_t dropped_stacks;
};

enum {
	OPT_ONCE = 0x100,
	OPT_SORT,
};

/* The options kiln record also has, picked from its table by name so the
 * two never drift apart. */
static const char *const shared_options[] = {"freq",       "count",     "event",     "call-graph",
                                             "no-inherit", "no-kernel", "debug-dir", "pid"};
#define NSHARED (sizeof(shared_options) / sizeof(shared_options[0]))

static int parse_seconds(const char *opt, const char *arg, double *out)
{
	if (cmd_parse_double(arg, out) || *out < 0.05 || *out > 3600) {
		kiln_error("%s takes seconds from 0.05 to 3600, like %s 1; got '%s'", opt, opt, arg);
		return 2;
	}
	return 0;
}

static int top_parse_args(int argc, char **argv, struct top_args *a)
{
	struct option opts[NSHARED + 8] = {
	    {"help", no_argument, NULL, 'h'},          {"delay", required_argument, NULL, 'd'},
	    {"window", required_argument, NULL, 'w'},  {"once", no_argument, NULL, OPT_ONCE},
	    {"entries", required_argument, NULL, 'E'}, {"sort", required_argument, NULL, OPT_SORT},
	};
	size_t n = 6;
	for (size_t i = 0; i < NSHARED; i++)
		for (const struct option *o = record_options; o->name; o++)
			if (!strcmp(o->name, shared_options[i]))
				opts[n++] = *o;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:hd:w:E:F:c:e:gp:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_print_usage(top_usage, 0);
			return 0;
		case 'd':
			if ((rc = parse_seconds("-d", optarg, &a->delay)))
				return rc;
			break;
		case 'w':
			if ((rc = parse_seconds("-w", optarg, &a->window)))
				return rc;
			break;
		case OPT_ONCE:
			a->once = true;
			break;
		case 'E':
			if (cmd_parse_u64(optarg, &a->entries)) {
				kiln_error("-E takes a number of entries, like -E 20 (0 for all); got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_SORT:
			if (!strcmp(optarg, "self")) {
				a->sort = HOTSPOT_SORT_SELF;
			} else if (!strcmp(optarg, "total")) {
				a->sort = HOTSPOT_SORT_TOTAL;
			} else {
				kiln_error("--sort takes self or total; got '%s'", optarg);
				return 2;
			}
			break;
		case ':':
		case '?':
			return cmd_bad_option("top", c, argv);
		default:
			rc = record_option(&a->rec, c, optarg);
			if (rc)
				return rc == 1 ? cmd_bad_option("top", '?', argv) : rc;
			break;
		}
	}
	a->rec.argv = argv + optind;
	if (a->rec.pid && a->rec.argv[0]) {
		kiln_error("give either a command after '--' or -p PID, not both");
		return 2;
	}
	if (!a->rec.pid && !a->rec.argv[0]) {
		kiln_error("nothing to watch: give -p PID, or a command, as in 'kiln top -- ./my-program'");
		return 2;
	}
	return record_args_check(&a->rec);
}

/* The event, the profile the recorder fills and the recorder. */
static int top_prepare(struct top_session *s)
{
	const struct record_args *ra = &s->a->rec;
	int rc = record_choose_event(ra->event, &s->ev);
	if (rc) /* an unknown event is a usage error; an unreadable tracefs is not */
		return rc == -EACCES ? 1 : 2;
	if (s->ev.is_tracepoint) {
		kiln_error("kiln top samples CPU events (cycles, cpu-clock, ...), not the tracepoint '%s'; use kiln "
		           "record -e for tracepoints",
		           s->ev.name);
		return 2;
	}
	s->p = profile_new();
	/* in enum recorder_value's order */
	profile_add_value_type(s->p, "samples", "count");
	if (s->ev.is_clock)
		profile_add_value_type(s->p, "cpu", "nanoseconds");
	else
		profile_add_value_type(s->p, s->ev.name, "events");
	struct recorder_options ro = {
	    .event = s->ev,
	    .freq = ra->count ? 0 : ra->freq,
	    .period = ra->count,
	    .call_graph = ra->call_graph,
	    .stack_size = ra->stack_size,
	    .inherit = ra->inherit,
	    .kernel = ra->kernel,
	};
	s->r = recorder_new(s->p, &ro);
	s->sym = symbolizer_new();
	if (ra->kernel) {
		/* the whole kernel table now, read once: the first interval's
		 * addresses would load only the symbols they need, and the next
		 * interval's new ones read /proc/kallsyms again */
		struct symbol_frame f;
		symbolizer_lookup_kernel(s->sym, 0, &f);
	}
	return -1;
}

/* The process's name from /proc, for the title. */
static void name_process(struct strbuf *sb, pid_t pid)
{
	struct proc_stat st;
	bool named = !proc_stat_read(pid, 0, &st) && st.comm[0];
	strbuf_addf(sb, "pid %d (%s)", (int)pid, named ? st.comm : "?");
}

/* Forks the command; for the terminal view with its stdin, stdout and
 * stderr on /dev/null: its output would garble the screen and it would
 * take the keys meant for the view. */
static int launch_quiet(struct top_session *s)
{
	if (!s->interactive)
		return target_launch(&s->t, s->a->rec.argv);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	int saved[3], rc = 0;
	for (int fd = 0; fd < 3; fd++) {
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		dup2(null, fd);
	}
	rc = target_launch(&s->t, s->a->rec.argv);
	for (int fd = 0; fd < 3; fd++) {
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	}
	close(null);
	return rc;
}

/* Attaches to the process, or starts the command with the events open. */
static int top_start(struct top_session *s)
{
	const struct record_args *ra = &s->a->rec;
	int rc;
	if (ra->pid) {
		if (target_attach(&s->t, ra->pid)) {
			kiln_error("no process with pid %d; give the pid of a running process (see 'pgrep NAME')",
			           (int)ra->pid);
			return 1;
		}
		rc = recorder_open_process(s->r, ra->pid);
		if (rc) {
			record_explain_open_error(rc, &s->ev, ra->pid);
			return 1;
		}
		recorder_enable(s->r);
		name_process(&s->name, ra->pid);
	} else {
		rc = launch_quiet(s);
		if (rc) {
			kiln_error("cannot start '%s': %s", ra->argv[0], strerror(-rc));
			return 1;
		}
		rc = recorder_open_child(s->r, s->t.pid);
		if (rc) {
			record_explain_open_error(rc, &s->ev, 0);
			return 1;
		}
		rc = target_start(&s->t);
		if (rc)
			return cmd_exec_error(ra->argv[0], rc, NULL);
		strbuf_addf(&s->name, "pid %d (%s)", (int)s->t.pid, ra->argv[0]);
	}
	struct recorder_stats st;
	recorder_get_stats(s->r, &st);
	s->screen.st.kernel = st.kernel_stacks;
	s->start = s->last_at = cmd_now_ns();
	return -1;
}

/* The state of every thread still there (capture/proc_thread.h); threads
 * gone and without samples in the window are dropped. */
static void read_thread_states(struct top_session *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->threads.n; i++) {
		struct top_thread *t = &s->threads.v[i];
		struct proc_thread_state st = {0};
		if (i >= TOP_MAX_THREADS || proc_thread_read((pid_t)t->pid, (pid_t)t->tid, &st) < 0) {
			if (!t->samples)
				continue;
			st.state = 0; /* exited within the window */
		}
		t->state = st.state;
		snprintf(t->wchan, sizeof(t->wchan), "%s", st.wchan);
		s->threads.v[kept++] = *t;
	}
	s->threads.n = kept;
}

/* The hot functions (sorted as the user chose), the threads and the call
 * tree, from the window as it is. */
static void top_build(struct top_session *s)
{
	if (s->have_h)
		hotspots_release(&s->h);
	s->have_h = hotspots_build(&s->h, s->p, HOTSPOTS_VALUE_SAMPLES) == 0;
	s->screen.h = s->have_h ? &s->h : NULL;
	if (!s->have_h)
		return;
	hotspots_sort_functions(&s->h, s->screen.sort);
	top_threads_build(&s->threads, &s->h, s->p);
	read_thread_states(s);
	s->screen.threads = s->threads.v;
	s->screen.nthreads = s->threads.n;
	top_calltree_release(&s->tree);
	if (s->screen.mode == TOP_MODE_CALLTREE)
		top_calltree_build(&s->tree, &s->h, s->screen.sel_name, s->screen.sel_module);
	s->screen.tree = &s->tree;
}

/* Names the addresses new since the last call (the symbolizer's caches
 * keep every module it opened), then builds the tables. */
static void top_update(struct top_session *s)
{
	symbols_resolve_profile_with(s->p, s->sym, NULL);
	profile_name_unsymbolized(s->p);
	top_build(s);
}

/* kiln top records into one profile for as long as it runs, and the
 * window keeps only the last seconds of samples: the stacks, locations,
 * mappings and names of everything older would stay, and grow with every
 * distinct stack of a long run. Once the profile holds twice the stacks
 * the last compaction kept, it keeps only what the window's samples, the
 * recorder's address maps and the running threads name (as kiln serve
 * does at each segment). Ids change: the selected function is found again
 * by its name, and the tables are rebuilt right after. Not while paused:
 * the frozen tables name the profile's strings by id. */
static void top_compact(struct top_session *s)
{
	struct profile *p = s->p;
	if (s->screen.paused || p->stacks.n == 0)
		return;
	if (!s->compact_always && (p->stacks.n < TOP_COMPACT_STACKS || p->stacks.n < 2 * s->compacted_stacks))
		return;
	struct live_keep k;
	live_keep_init(&k, p);
	struct hashmap tids;
	hashmap_init(&tids);
	for (size_t i = 0; i < p->samples.n; i++) {
		k.ks[p->samples.v[i].stack] = 1;
		hashmap_put(&tids, p->samples.v[i].tid, 1);
	}
	uint64_t procs_forgotten = 0, threads_forgotten = 0;
	live_compact_recorder(s->r, k.km, &procs_forgotten, &threads_forgotten);
	live_compact_threads(p, &tids, k.kt);
	hashmap_release(&tids);
	char *sel_name = s->screen.sel_name ? xstrdup(profile_str(p, s->screen.sel_name)) : NULL;
	char *sel_module = s->screen.sel_module ? xstrdup(profile_str(p, s->screen.sel_module)) : NULL;
	struct profile_compact_stats d;
	profile_compact(p, &(struct profile_keep){k.ks, k.km, k.kt}, k.smap, k.mmap, &d, NULL);
	recorder_remap_mappings(s->r, k.mmap);
	s->screen.sel_name = sel_name ? profile_intern(p, sel_name) : 0;
	s->screen.sel_module = sel_module ? profile_intern(p, sel_module) : 0;
	s->compacted_stacks = p->stacks.n;
	s->compactions++;
	s->dropped_stacks += d.stacks;
	free(sel_name);
	free(sel_module);
	live_keep_release(&k);
}

/* One interval: names the new addresses, moves the window on, updates the
 * status line and (unless paused) the tables. */
static void top_refresh(struct top_session *s, uint64_t now)
{
	struct recorder_stats st;
	recorder_get_stats(s->r, &st);
	double secs = (double)(now - s->last_at) / 1e9;
	struct top_status *ts = &s->screen.st;
	ts->samples_per_s = secs > 0 ? (double)(st.samples - s->last_samples) / secs : 0;
	ts->lost = st.lost - s->last_lost;
	ts->lost_total = st.lost;
	ts->kernel = st.kernel_stacks;
	s->last_samples = st.samples;
	s->last_lost = st.lost;
	s->last_at = now;
	uint64_t span = (uint64_t)(s->a->window * 1e9);
	top_window_trim(s->p, now > span ? now - span : 0);
	top_compact(s);
	ts->window_s = (double)(now - s->start) / 1e9;
	if (ts->window_s > s->a->window)
		ts->window_s = s->a->window;
	if (!s->screen.paused)
		top_update(s);
}

static void print_snapshot(struct top_session *s)
{
	s->printed = s->last_samples;
	struct strbuf out = STRBUF_INIT;
	render_top_text(&out, &s->screen, (size_t)s->a->entries);
	fputs(strbuf_str(&out), stdout);
	fflush(stdout);
	strbuf_release(&out);
}

/* The keys typed since the last round. */
static void top_keys(struct top_session *s)
{
	int key;
	bool redraw = false;
	while (!s->quit && (key = top_tui_key(s->tui, 0)) >= 0) {
		switch (top_screen_key(&s->screen, key, top_tui_page(s->tui))) {
		case TOP_ACTION_QUIT:
			s->quit = true;
			break;
		case TOP_ACTION_REBUILD:
			if (s->have_h)
				top_update(s);
			redraw = true;
			break;
		case TOP_ACTION_REDRAW:
			redraw = true;
			break;
		case TOP_ACTION_NONE:
			break;
		}
	}
	if (redraw && !s->quit)
		top_tui_draw(s->tui, &s->screen);
}

/* Reads the rings and refreshes every delay until q, a signal, the
 * target's exit or, with --once, the first snapshot. */
static int top_loop(struct top_session *s)
{
	const struct top_args *a = s->a;
	bool tty = s->interactive;
	if (tty) {
		s->tui = top_tui_open();
		if (!s->tui) {
			const char *term = getenv("TERM");
			kiln_error("cannot draw on terminal type '%s' (no terminfo entry); set TERM, as in TERM=xterm, "
			           "or use --once or a pipe for text snapshots",
			           term ? term : "");
			return 1;
		}
		top_tui_draw(s->tui, &s->screen);
	}
	uint64_t delay = (uint64_t)(a->delay * 1e9);
	/* the first screen early; snapshots one delay apart, as asked */
	uint64_t first = tty && a->delay > TOP_FIRST_SCREEN_S ? (uint64_t)(TOP_FIRST_SCREEN_S * 1e9) : delay;
	uint64_t next = s->start + first;
	while (!s->quit && !interrupted) {
		recorder_poll(s->r, TOP_POLL_MS);
		if (target_poll_exit(&s->t))
			break;
		if (s->tui)
			top_keys(s);
		uint64_t now = cmd_now_ns();
		if (now < next)
			continue;
		top_refresh(s, now);
		next = now + delay;
		if (s->tui) {
			top_tui_draw(s->tui, &s->screen);
		} else {
			print_snapshot(s);
			if (a->once)
				break;
			putchar('\n');
		}
	}
	return -1;
}

/* Leaves the terminal, stops what kiln started, and says why top ended.
 * The exit status: the command's when it ended by itself (as kiln record
 * passes it on), else 0: a command top stopped, or a process it attached
 * to, has no status of top's to report. */
static int top_finish(struct top_session *s)
{
	bool exited = target_poll_exit(&s->t);
	bool tui = s->tui != NULL;
	top_tui_close(s->tui);
	s->tui = NULL;
	if (exited) {
		/* the last view stays on the terminal; a pipe gets the samples
		 * since its last snapshot (all of them for a short command) */
		while (recorder_poll(s->r, 0))
			;
		top_refresh(s, cmd_now_ns());
		if (tui || s->last_samples > s->printed)
			print_snapshot(s);
	}
	recorder_disable(s->r);
	if (exited && s->t.launched && WIFSIGNALED(s->t.status))
		fprintf(stderr, "kiln: '%s' was killed by signal %d (%s); top ends\n", s->a->rec.argv[0],
		        WTERMSIG(s->t.status), strsignal(WTERMSIG(s->t.status)));
	else if (exited && s->t.launched)
		fprintf(stderr, "kiln: '%s' exited with status %d; top ends\n", s->a->rec.argv[0],
		        target_exit_code(&s->t));
	else if (exited)
		fprintf(stderr, "kiln: process %d exited; top ends\n", (int)s->t.pid);
	if (!exited && s->t.launched) {
		/* the command lives only as long as its view: ask it to stop,
		 * then make it (target_release()) */
		target_signal(&s->t, SIGTERM);
		for (int i = 0; i < 40 && !target_poll_exit(&s->t); i++)
			usleep(25000);
	}
	return exited && s->t.launched ? target_exit_code(&s->t) : 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_args a = {.delay = 1.0, .window = 5.0, .entries = 20, .sort = HOTSPOT_SORT_SELF};
	record_args_init(&a.rec);
	int status = top_parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	setlocale(LC_ALL, "");
	struct top_session s = {.a = &a, .interactive = !a.once && isatty(STDOUT_FILENO)};
	s.compact_always = getenv("KILN_TEST_TOP_COMPACT") != NULL;
	target_init(&s.t);
	top_screen_init(&s.screen);
	s.screen.sort = a.sort;
	cmd_catch_stop_signals(on_signal);
	symbols_set_debug_dirs(a.rec.debug_dirs);
	status = top_prepare(&s);
	if (status < 0)
		status = top_start(&s);
	s.screen.st.target = strbuf_str(&s.name);
	s.screen.st.event = s.ev.name;
	s.screen.st.freq = a.rec.count ? 0 : a.rec.freq;
	s.screen.st.period = a.rec.count;
	if (status < 0)
		status = top_loop(&s);
	if (status < 0)
		status = top_finish(&s);
	if (s.compact_always)
		fprintf(stderr, "kiln: test: %" PRIu64 " compactions dropped %" PRIu64 " stack nodes\n", s.compactions,
		        s.dropped_stacks);
	top_tui_close(s.tui);
	target_release(&s.t);
	recorder_free(s.r);
	symbolizer_free(s.sym);
	if (s.have_h)
		hotspots_release(&s.h);
	top_calltree_release(&s.tree);
	vec_free(&s.threads);
	top_screen_release(&s.screen);
	strbuf_release(&s.name);
	profile_free(s.p);
	return status;
}
