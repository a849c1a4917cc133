/* heap.c - `kiln heap`: run a command with libkiln-agent.so preloaded,
 * read its allocation events over the shared-memory channel, and write a
 * .kiln heap profile, a heap summary and a memory-over-time chart. The
 * work lives in capture/agent_channel, analysis/heap and render/heap_*. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/alloc_site.h"
#include "analysis/heap.h"
#include "capture/agent_channel.h"
#include "capture/reader_sched.h"
#include "capture/agent_decode.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "cmd/heap_feed.h"
#include "cmd/output.h"
#include "profile/kiln_file.h"
#include "profile/profile.h"
#include "render/heap.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define AGENT_NAME "libkiln-agent.so"
#define LINGER_NS  5000000000ull /* how long children may outlive the command */
#define PATIENT_NS 100000000ull  /* a child ending this soon after the command is not waited for */

static const char heap_usage[] = "usage: kiln heap [options] -- CMD [ARGS...]\n"
                                 "\n"
                                 "Runs CMD with kiln's allocation tracker preloaded (it follows forks and\n"
                                 "execs), then writes a heap profile, prints a heap summary to stderr and\n"
                                 "draws the heap over time. Leaks are classified as valgrind's memcheck does.\n"
                                 "\n"
                                 "  -o, --output FILE     write the profile to FILE (default heap.kiln; a\n"
                                 "                        profile already there moves to FILE.old)\n"
                                 "  -f, --force           replace FILE even if it is not a kiln profile\n"
                                 "      --chart FILE      write the memory-over-time SVG to FILE\n"
                                 "                        (default: the profile's name with .svg)\n"
                                 "      --json FILE       write the summary as JSON to FILE ('-' = stdout)\n"
                                 "  -n, --top N           call sites per list (default 5)\n"
                                 "      --frames N        frames shown per stack (default all)\n"
                                 "      --no-follow-daemons  do not wait for processes that outlive CMD\n"
                                 "                        (by default kiln waits up to 5 s for them)\n"
                                 "      --full-stacks     show whole stacks, allocator and runtime frames\n"
                                 "                        included (default: from the site to main)\n"
                                 "      --alloc-fn REGEX  treat functions matching REGEX (the whole name)\n"
                                 "                        as allocator wrappers, not sites; repeatable\n"
                                 "  -q, --quiet           print no summary\n"
                                 "  -v, --verbose         say how long each stage took, how often the\n"
                                 "                        target waited for kiln and which mappings the\n"
                                 "                        leak scan read\n"
                                 "  -h, --help            show this help\n"
                                 "\n"
                                 "The profile's values: alloc_space, alloc_objects, peak_space, leaked_space;\n"
                                 "view them with kiln report FILE --value TYPE or kiln flame FILE --value TYPE.\n"
                                 "Exit status is the command's (128+N when it died from signal N); 2 for a\n"
                                 "usage error, 1 when kiln failed, 127/126 when CMD cannot be run.\n";

struct heap_args {
	const char *output, *chart, *json;
	uint32_t top, frames;
	bool quiet, verbose, force, no_follow_daemons, full_stacks;
	struct alloc_rule *rule; /* --alloc-fn; NULL: the default table */
	char **argv;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static int parse_args(int argc, char **argv, struct heap_args *a)
{
	enum { OPT_CHART = 256, OPT_JSON, OPT_FRAMES, OPT_NO_FOLLOW_DAEMONS, OPT_FULL_STACKS, OPT_ALLOC_FN };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"chart", required_argument, NULL, OPT_CHART},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"top", required_argument, NULL, 'n'},
	    {"frames", required_argument, NULL, OPT_FRAMES},
	    {"no-follow-daemons", no_argument, NULL, OPT_NO_FOLLOW_DAEMONS},
	    {"full-stacks", no_argument, NULL, OPT_FULL_STACKS},
	    {"alloc-fn", required_argument, NULL, OPT_ALLOC_FN},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:o:fn:qvh", opts, NULL)) != -1) {
		char *end;
		unsigned long v;
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case OPT_CHART:
			a->chart = optarg;
			break;
		case OPT_JSON:
			a->json = optarg;
			break;
		case 'n':
		case OPT_FRAMES:
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > 1000 || (c == 'n' && v == 0)) {
				kiln_error("%s takes a number, like %s 10; got '%s'", c == 'n' ? "--top" : "--frames",
				           c == 'n' ? "--top" : "--frames", optarg);
				return 2;
			}
			if (c == 'n')
				a->top = (uint32_t)v;
			else
				a->frames = (uint32_t)v;
			break;
		case OPT_NO_FOLLOW_DAEMONS:
			a->no_follow_daemons = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_FULL_STACKS:
			a->full_stacks = true;
			break;
		case OPT_ALLOC_FN:
			if (cmd_alloc_fn(&a->rule, optarg))
				return 2;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			cmd_print_usage(heap_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("heap", c, argv);
		}
	}
	a->argv = argv + optind;
	if (!a->argv[0]) {
		kiln_error("nothing to run: give a command, as in 'kiln heap -- ./my-program'");
		return 2;
	}
	return -1;
}

/* ---- the channel's records, decoded (capture/agent_decode.h), into the
 * analysis: the channel's callbacks get the session, the decoder's the
 * analysis ---- */

static struct heap_analysis *session_analysis(void *ctx);
static struct agent_decoder *session_decoder(void *ctx);

static void cb_ring(void *ctx, uint32_t ring, const struct kh_ring_header *h)
{
	agent_decode_ring(session_decoder(ctx), ring, h, sizeof(*h));
}

static void cb_record(void *ctx, uint32_t ring, const struct kh_rec_header *r)
{
	agent_decode_record(session_decoder(ctx), ring, r, r->size);
}

static int cb_live(void *ctx, uint32_t ring, struct kh_live_block **out, uint64_t *n)
{
	struct heap_block *b;
	int rc = heap_live_blocks(session_analysis(ctx), ring, &b, n);
	if (rc)
		return rc;
	struct kh_live_block *k = xmalloc((*n + 1) * sizeof(*k));
	for (uint64_t i = 0; i < *n; i++)
		k[i] = (struct kh_live_block){b[i].addr, b[i].size};
	free(b);
	*out = k;
	return 0;
}

static void cb_classes(void *ctx, uint32_t ring, const struct kh_live_block *b, const uint8_t *cls, uint64_t n)
{
	struct heap_block *hb = xmalloc((n + 1) * sizeof(*hb));
	for (uint64_t i = 0; i < n; i++)
		hb[i] = (struct heap_block){b[i].addr, b[i].size};
	heap_on_classes(session_analysis(ctx), ring, hb, cls, n);
	free(hb);
}

static void cb_end(void *ctx, uint32_t ring, const struct kh_pending *pending, bool clean)
{
	agent_decode_end(session_decoder(ctx), ring, pending);
	heap_on_ring_end(session_analysis(ctx), ring, clean);
}

static void cb_address(void *ctx, const char *path, uint64_t file_offset)
{
	symbols_prefetch_add(ctx, path, file_offset);
}

/* Value types and run metadata of a heap profile (the run's, or a snapshot's). */
static void profile_init_heap(struct profile *p, const char *cmd, uint64_t start_time)
{
	static const char *const types[HEAP_NVALUES][2] = {
	    [HEAP_VALUE_ALLOC_SPACE] = {"alloc_space", "bytes"},
	    [HEAP_VALUE_ALLOC_OBJECTS] = {"alloc_objects", "count"},
	    [HEAP_VALUE_PEAK_SPACE] = {"peak_space", "bytes"},
	    [HEAP_VALUE_LEAKED_SPACE] = {"leaked_space", "bytes"},
	    [HEAP_VALUE_LEAKED_OBJECTS] = {"leaked_objects", "count"},
	    [HEAP_VALUE_TEMPORARY] = {"temporary_objects", "count"},
	};
	for (int i = 0; i < HEAP_NVALUES; i++)
		profile_add_value_type(p, types[i][0], types[i][1]);
	cmd_set_run_meta(p, cmd, start_time);
	profile_set_meta(p, "event", "heap");
}

/* Snapshots: while the command runs, what it has shown so far is written
 * now and then to FILE (through a temporary file and a rename, so FILE is
 * always whole), so that kiln being killed leaves a readable profile.
 * Every 2 s (KILN_HEAP_SNAPSHOT_MS), and never more than 1/20 of the time. */
#define SNAPSHOT_EVERY_NS 2000000000ull

struct snapshots {
	const char *output, *cmd;
	char *tmp;
	uint64_t start_time, next_at, taken, every;
};

/* Samples made and written per batch: a million sites' samples would take
 * 72 MB at once. */
#define SAMPLES_BATCH 65536

static int snapshot_stream(void *ctx, struct profile *snap)
{
	return kiln_writer_stream(ctx, snap);
}

static void snapshot_take(struct snapshots *sn, const struct heap_analysis *h)
{
	uint64_t t0 = cmd_now_ns();
	struct profile *snap = profile_new();
	profile_init_heap(snap, sn->cmd, sn->start_time);
	struct kiln_writer *w = NULL;
	if (!kiln_writer_open(&w, sn->tmp) && !heap_snapshot(h, snap, SAMPLES_BATCH, snapshot_stream, w) &&
	    !kiln_writer_finish(w, snap) && !rename(sn->tmp, sn->output))
		sn->taken++;
	else
		unlink(sn->tmp); /* a full disk or the like: the run goes on, the last good file stays */
	kiln_writer_free(w);
	profile_free(snap);
	uint64_t cost = cmd_now_ns() - t0;
	sn->next_at = cmd_now_ns() + (cost * 20 > sn->every ? cost * 20 : sn->every);
}

struct file_job {
	struct kiln_writer *w;
	struct profile *p;
	struct heap_analysis *h;
	int rc;
};

/* The profile's samples, made from the sites a batch at a time and
 * streamed, then the rest of the file. */
static void *write_file(void *arg)
{
	struct file_job *j = arg;
	size_t at = 0;
	j->rc = 0;
	while (!j->rc && heap_samples_add(j->h, &at, SAMPLES_BATCH))
		j->rc = kiln_writer_stream(j->w, j->p);
	if (!j->rc)
		j->rc = kiln_writer_finish(j->w, j->p);
	return NULL;
}

/* Waiting, after the command exited, for the processes it left running. */
struct linger {
	bool told;
};

static void pids_text(FILE *f, const uint32_t *pids, size_t n, size_t shown)
{
	for (size_t i = 0; i < shown; i++)
		fprintf(f, "%s%u", i ? ", " : "", pids[i]);
	if (n > shown)
		fprintf(f, " and %zu more", n - shown);
}

/* Whether to stop waiting now that the command exited: every process has
 * ended, or only processes that still run are left (daemons, background
 * children) and the user asked not to wait (--no-follow-daemons, Ctrl-C)
 * or they had LINGER_NS. Says so when it waits for them, and when it
 * stops waiting. */
static bool linger_over(struct linger *lg, const struct agent_channel *ch, const struct heap_args *a,
                        uint64_t exited_at)
{
	uint32_t pids[4];
	size_t running, shown;
	size_t pending = agent_channel_pending(ch, &running, pids, 4);
	shown = running < 4 ? running : 4;
	uint64_t waited = cmd_now_ns() - exited_at;
	bool stop = a->no_follow_daemons || interrupted;
	if (!running)
		return waited > LINGER_NS; /* rings of processes gone end at the next polls */
	if (!stop && waited < LINGER_NS) {
		if (!lg->told && waited >= PATIENT_NS) {
			fprintf(stderr, "kiln: waiting up to 5 s for process%s ", running > 1 ? "es" : "");
			pids_text(stderr, pids, running, shown);
			fprintf(stderr, " (daemon%s) to exit; Ctrl-C or --no-follow-daemons to stop waiting\n",
			        running > 1 ? "s" : "");
			lg->told = true;
		}
		return false;
	}
	if (pending > running && waited < LINGER_NS)
		return false; /* first read what the processes that ended wrote */
	fprintf(stderr, "kiln: stopped waiting for process%s ", running > 1 ? "es" : "");
	pids_text(stderr, pids, running, shown);
	fprintf(stderr, " (still running); the profile holds %s events until now\n", running > 1 ? "their" : "its");
	return true;
}

/* -v: which mappings each leak scan read besides the modules' data and
 * the stacks (src/capture/scan_regions.h says which and why). Mappings
 * that were all module data, live blocks or the agent's are only counted. */
static void say_scan_regions(const struct agent_channel *ch)
{
	const struct agent_scan *sc;
	size_t ns = agent_channel_scans(ch, &sc);
	for (size_t i = 0; i < ns; i++) {
		uint64_t read = 0;
		size_t shown = 0;
		for (size_t k = 0; k < sc[i].regions.n; k++) {
			read += sc[i].regions.v[k].r.scanned;
			shown += sc[i].regions.v[k].r.scanned || (sc[i].regions.v[k].r.flags & KH_REGION_STACK);
		}
		fprintf(stderr,
		        "kiln: pid %u: the leak scan read %" PRIu64 " KiB of %zu writable mapping%s besides the "
		        "modules' data and the stacks (not malloc's own heaps, the live blocks or the agent's "
		        "memory)%s\n",
		        sc[i].pid, read / 1024, shown, shown == 1 ? "" : "s", shown ? ":" : "");
		for (size_t k = 0; k < sc[i].regions.n; k++) {
			const struct scan_region *g = &sc[i].regions.v[k];
			bool stack = g->r.flags & KH_REGION_STACK;
			if (!g->r.scanned && !stack)
				continue;
			fprintf(stderr, "kiln:   %" PRIx64 "-%" PRIx64 " %s, %" PRIu64 " KiB: ", g->r.lo, g->r.hi,
			        g->name ? g->name : "anonymous", (g->r.hi - g->r.lo) / 1024);
			if (stack)
				fprintf(stderr, "a thread's stack, read from its stack pointer\n");
			else
				fprintf(stderr, "%" PRIu64 " KiB read\n", (g->r.scanned + 1023) / 1024);
		}
	}
}

/* One run of kiln heap, stage by stage (as record.c's): each stage
 * returns -1 to go on, or the exit status after saying what went wrong,
 * having set discard when the new file is not worth the old one. */
struct heap_session {
	const struct heap_args *a;
	char *agent;
	struct strbuf cmd; /* the command line, for the metadata and the summary */
	struct output out;
	struct kiln_writer *w;
	struct agent_channel *ch;
	struct target t;
	struct profile *p;
	struct heap_analysis *h;
	struct symbols_prefetch *prefetch;
	struct symbolizer *sym;
	struct snapshots sn;
	struct file_job job; /* the final file, written on a thread of its own */
	pthread_t writer;
	bool threaded; /* writer runs */
	bool discard;  /* put back the file that was there before */
	char *chart;
	struct strbuf summary; /* the text summary, printed last */
	/* -v: when each stage ended, and how often the target waited */
	uint64_t t_start, exited_at, t_ran, t_finish, t_sym, t_group, t_shown, waits;
	int reader_prio;          /* enum reader_prio of the ring reader (this thread) */
	struct agent_decoder dec; /* the channel's records into events for h */
};

static struct heap_analysis *session_analysis(void *ctx)
{
	return ((struct heap_session *)ctx)->h;
}

static struct agent_decoder *session_decoder(void *ctx)
{
	return &((struct heap_session *)ctx)->dec;
}

/* The agent, the profile and its file, the snapshots and the channel. */
static int heap_prepare(struct heap_session *s)
{
	const struct heap_args *a = s->a;
	s->agent = cmd_agent_find();
	if (!s->agent) {
		kiln_error("cannot find '%s' next to kiln or in ../lib/kiln/; reinstall kiln or set KILN_AGENT",
		           AGENT_NAME);
		return 1;
	}
	for (char **c = a->argv; *c; c++)
		strbuf_addf(&s->cmd, "%s%s", c == a->argv ? "" : " ", *c);
	uint64_t start_time = cmd_wall_ns();
	profile_init_heap(s->p, strbuf_str(&s->cmd), start_time);

	int rc = output_open_profile(&s->out, a->output, a->force);
	if (rc == -EEXIST) {
		kiln_error("'%s' exists and is not a kiln profile; not replacing it (use -f to replace it, or -o "
		           "another name)",
		           a->output);
		return 1;
	}
	s->discard = true; /* until the command runs */
	if (!rc)
		rc = kiln_writer_open(&s->w, output_name(&s->out));
	if (rc) {
		kiln_error("cannot write '%s': %s", a->output, strerror(-rc));
		return 1;
	}
	struct strbuf tmp = STRBUF_INIT;
	strbuf_addf(&tmp, "%s.kiln-tmp", a->output);
	s->sn.output = a->output;
	s->sn.cmd = strbuf_str(&s->cmd);
	s->sn.tmp = strbuf_detach(&tmp);
	s->sn.start_time = start_time;
	s->sn.every = SNAPSHOT_EVERY_NS;
	const char *every = getenv("KILN_HEAP_SNAPSHOT_MS");
	if (every && *every)
		s->sn.every = strtoull(every, NULL, 10) * 1000000ull;
	s->sn.next_at = cmd_now_ns() + s->sn.every;
	rc = agent_channel_new(&s->ch);
	if (rc) {
		kiln_error("cannot create the agent's channel in /dev/shm or /tmp: %s", strerror(-rc));
		return 1;
	}
	return -1;
}

/* Starts the command with the agent preloaded; then the profile takes its
 * name. */
static int heap_launch(struct heap_session *s)
{
	const struct heap_args *a = s->a;
	cmd_agent_env(s->agent, agent_channel_dir(s->ch), "heap", 0);
	int rc = target_launch(&s->t, a->argv);
	if (rc) {
		kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
		return 1;
	}
	rc = target_start(&s->t);
	if (rc)
		return cmd_exec_error(a->argv[0], rc, NULL);
	/* it runs: a kill -9 of kiln from now on leaves the profile at its name */
	rc = output_place(&s->out);
	if (rc) {
		kiln_error("cannot put the profile in place as '%s': %s", a->output, strerror(-rc));
		return 1;
	}
	s->discard = false;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return -1;
}

/* Reads the agent's events until the command and the processes it left
 * have ended (or kiln stops waiting for them), naming addresses on the
 * prefetch thread and taking snapshots meanwhile. */
static void heap_collect(struct heap_session *s)
{
	const struct heap_args *a = s->a;
	struct heap_analysis *h = s->h;
	/* name addresses while the target runs, on a thread of kiln's own */
	s->prefetch = symbols_prefetch_start();
	heap_set_address_hook(h, cb_address, s->prefetch);
	const struct agent_channel_ops ops = {s, cb_ring, cb_record, cb_live, cb_classes, cb_end};
	s->t_start = cmd_now_ns();
	bool forwarded = false;
	struct linger lg = {0};
	/* the target waits whenever its ring is full: on a busy machine a
	 * reader at the normal priority got a quarter of a cpu and the target
	 * spent most of its run queued after its naps (record's reader has
	 * the same priority and governor; KILN_TEST_READER_PRIO=normal, nice:
	 * for measuring) */
	struct reader_sched rs = {0};
	const char *want = getenv("KILN_TEST_READER_PRIO");
	if (!want || strcmp(want, "normal"))
		reader_sched_raise(&rs, !(want && !strcmp(want, "nice")));
	s->reader_prio = rs.level;
	for (;;) {
		uint64_t n = agent_channel_poll(s->ch, &ops);
		reader_sched_govern(&rs);
		if (interrupted && !forwarded) {
			target_signal(&s->t, (int)interrupted);
			forwarded = true;
		}
		if (target_poll_exit(&s->t)) {
			if (!s->exited_at) {
				/* poll once more first: the last poll may have listed
				 * the channel before a short-lived command made its
				 * ring and exited ("the agent did not start") */
				s->exited_at = cmd_now_ns();
				continue;
			}
			if (agent_channel_done(s->ch) || linger_over(&lg, s->ch, a, s->exited_at))
				break;
		}
		if (!s->exited_at && cmd_now_ns() >= s->sn.next_at)
			snapshot_take(&s->sn, h);
		if (!n) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	reader_sched_restore(&rs);
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		heap_note_max_rss(h, (uint64_t)ru.ru_maxrss);
	if (!agent_channel_rings(s->ch))
		kiln_warn(
		    "the agent did not start in '%s' (a static binary, or LD_PRELOAD removed); nothing was recorded",
		    a->argv[0]);
	s->waits = agent_channel_waits(s->ch);
	struct agent_counted c;
	agent_channel_counted(s->ch, &c);
	heap_on_counted(h, c.processes, c.allocs, c.frees, c.bytes, c.pids, c.npids);
	if (c.processes)
		kiln_warn("%u process%s forked after the host installed a seccomp filter found no spare ring: "
		          "%" PRIu64 " allocations (%" PRIu64 " bytes) were counted, not recorded; set " KH_ENV_SPARES
		          " (default %d, at most %d) for more",
		          c.processes, c.processes == 1 ? "" : "es", c.allocs, c.bytes, KH_POOL_SLOTS_DEF,
		          KH_POOL_SLOTS_MAX);
	if (heap_get_totals(h)->allocs && !heap_has_stacks(h))
		kiln_warn("no call stacks were captured: the agent could not load libunwind.so.8 in the target; "
		          "install it (apt-get install libunwind8)");
	s->t_ran = cmd_now_ns();
}

/* The analysis's end: the profile's samples and series, then symbols. */
static void heap_analyse(struct heap_session *s)
{
	struct profile *p = s->p;
	heap_finish_sites(s->h);
	heap_save_series(s->h);
	s->t_finish = cmd_now_ns();
	profile_set_meta_u64(p, "exit_status", (uint64_t)target_exit_code(&s->t));
	profile_set_meta_u64(p, "agent_ring_waits", s->waits);
	profile_set_meta(p, "reader_priority", reader_prio_name((enum reader_prio)s->reader_prio));
	struct symbols_stats ss = {0};
	s->sym = symbols_prefetch_finish(s->prefetch);
	s->prefetch = NULL;
	int rc = symbols_resolve_profile_with(p, s->sym, &ss);
	if (rc)
		kiln_warn("symbolization failed: none of the program's files could be read (%s); addresses are kept "
		          "as module+offset",
		          strerror(-rc));
	profile_name_unsymbolized(p);
	s->t_sym = cmd_now_ns();
}

/* The lists a user reads: sites grouped by their allocating line. */
static void heap_group_sites(struct heap_session *s)
{
	heap_set_alloc_rule(s->h, s->a->rule);
	heap_group(s->h);
	s->t_group = cmd_now_ns();
}

/* The profile is complete but for its samples: they and the file are
 * made on a thread of its own while the summary and the chart are made,
 * which only read the profile and the grouped sites. */
static int heap_write_start(struct heap_session *s)
{
	if (s->sn.taken) {
		/* FILE is a snapshot now, not the file w opened: the final
		 * profile takes its place the same way */
		kiln_writer_free(s->w);
		s->w = NULL;
		int rc = kiln_writer_open(&s->w, s->sn.tmp);
		if (rc) {
			kiln_error("cannot write '%s': %s", s->sn.tmp, strerror(-rc));
			return 1;
		}
	}
	s->job = (struct file_job){s->w, s->p, s->h, 0};
	s->threaded = pthread_create(&s->writer, NULL, write_file, &s->job) == 0;
	if (!s->threaded)
		write_file(&s->job);
	return -1;
}

/* The views: the chart, --json and the text summary (kept for the end). */
static void heap_views(struct heap_session *s)
{
	const struct heap_args *a = s->a;
	struct heap_analysis *h = s->h;
	struct heap_render_opts ro = {a->top, a->frames, strbuf_str(&s->cmd), a->full_stacks};
	struct strbuf sb = STRBUF_INIT;
	if (a->chart) {
		s->chart = xstrdup(a->chart);
	} else {
		struct strbuf c = STRBUF_INIT;
		const char *dot = strrchr(a->output, '.');
		const char *slash = strrchr(a->output, '/');
		size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - a->output) : strlen(a->output);
		strbuf_add(&c, a->output, stem);
		strbuf_addstr(&c, ".svg");
		s->chart = strbuf_detach(&c);
	}
	heap_render_chart(&sb, h, &ro);
	int rc = output_write_text(s->chart, &sb);
	if (rc)
		kiln_error("cannot write '%s': %s", s->chart, strerror(-rc));
	if (a->json) {
		strbuf_reset(&sb);
		heap_render_json(&sb, h, &ro);
		rc = output_write_text(a->json, &sb);
		if (rc)
			kiln_error("cannot write '%s': %s", a->json, strerror(-rc));
	}
	strbuf_release(&sb);
	if (!a->quiet) {
		heap_render_text(&s->summary, h, &ro);
		strbuf_addf(&s->summary,
		            "\nkiln: wrote '%s' and '%s'; kiln report %s shows this summary again; next: kiln flame %s "
		            "--value peak_space\n",
		            a->output, s->chart, a->output, a->output);
	}
	s->t_shown = cmd_now_ns();
}

/* Waits for the file; a snapshot on disk is then replaced by it. */
static int heap_write_finish(struct heap_session *s)
{
	const struct heap_args *a = s->a;
	if (s->threaded)
		pthread_join(s->writer, NULL);
	s->threaded = false;
	if (!s->job.rc && s->sn.taken && rename(s->sn.tmp, a->output))
		s->job.rc = -errno;
	if (!s->job.rc)
		return -1;
	if (s->sn.taken) {
		unlink(s->sn.tmp);
		kiln_error("cannot write '%s': %s; it holds the last snapshot of the run", a->output,
		           strerror(-s->job.rc));
	} else {
		/* nothing but a header reached the file: the previous
		 * profile is worth more */
		s->discard = true;
		kiln_error("cannot write '%s': %s; nothing was kept, so '%s' is as it was", a->output,
		           strerror(-s->job.rc), a->output);
	}
	return 1;
}

/* -v: what the leak scan read and how long each stage took. */
static void heap_say_verbose(const struct heap_session *s)
{
	const struct agent_channel *ch = s->ch;
	if (agent_channel_no_regs(ch))
		fprintf(stderr,
		        "kiln: ptrace was refused: the other threads of %u process%s were scanned without their "
		        "registers (whole stacks; a pointer held only in a register counts as lost)\n",
		        agent_channel_no_regs(ch), agent_channel_no_regs(ch) == 1 ? "" : "es");
	say_scan_regions(ch);
	size_t ngroups;
	heap_sites(s->h, &ngroups);
	fprintf(stderr,
	        "kiln: run %.3f s (ring reader at %s priority; the target waited for kiln %" PRIu64
	        " times; kiln read its last event %.3f s after it exited), analysis %.3f s, symbols %.3f s "
	        "(%zu addresses), grouping %.3f s, summary %.3f s, then waited %.3f s for the file; %zu call "
	        "sites, %zu "
	        "stacks, %zu stack nodes; %" PRIu64 " snapshots during the run\n",
	        (double)(s->t_ran - s->t_start) / 1e9, reader_prio_name((enum reader_prio)s->reader_prio), s->waits,
	        s->exited_at && s->t_ran > s->exited_at ? (double)(s->t_ran - s->exited_at) / 1e9 : 0.0,
	        (double)(s->t_finish - s->t_ran) / 1e9, (double)(s->t_sym - s->t_finish) / 1e9, s->p->locations.n,
	        (double)(s->t_group - s->t_sym) / 1e9, (double)(s->t_shown - s->t_group) / 1e9,
	        (double)(cmd_now_ns() - s->t_shown) / 1e9, ngroups, heap_merged_count(s->h), s->p->stacks.n,
	        s->sn.taken);
}

/* Puts back the file that was there before when discard is set; frees
 * the rest. */
static void heap_session_release(struct heap_session *s)
{
	if (s->threaded)
		pthread_join(s->writer, NULL);
	if (s->discard) {
		kiln_writer_free(s->w);
		s->w = NULL;
		output_discard(&s->out);
	}
	target_release(&s->t);
	kiln_writer_free(s->w);
	agent_channel_free(s->ch);
	symbolizer_free(symbols_prefetch_finish(s->prefetch));
	symbolizer_free(s->sym);
	agent_decoder_release(&s->dec);
	heap_free(s->h);
	profile_free(s->p);
	free(s->agent);
	free(s->chart);
	free(s->sn.tmp);
	strbuf_release(&s->cmd);
	strbuf_release(&s->summary);
	output_release(&s->out);
}

static int heap_run(const struct heap_args *a)
{
	struct heap_session s = {.a = a, .cmd = STRBUF_INIT, .summary = STRBUF_INIT, .out = {.fd = -1}};
	/* glibc raises its mmap threshold to the size of each mapped block
	 * freed (up to 32 MB): after a snapshot frees its profile, the tables
	 * of a million sites would come from the brk heap, which keeps what
	 * is freed resident. A fixed threshold gives each big table back when
	 * freed: about 7 MB less at the peak of a run with a million stacks. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	target_init(&s.t);
	s.p = profile_new();
	s.h = heap_new(s.p);
	agent_decoder_init(&s.dec, heap_feed_event, s.h);
	int status = heap_prepare(&s);
	if (status < 0)
		status = heap_launch(&s);
	if (status < 0) {
		heap_collect(&s);
		heap_analyse(&s);
		heap_group_sites(&s);
		status = heap_write_start(&s);
	}
	if (status < 0) {
		heap_views(&s);
		status = heap_write_finish(&s);
	}
	if (status < 0) {
		if (a->verbose)
			heap_say_verbose(&s);
		if (s.summary.len) /* -q: none */
			fwrite(s.summary.buf, 1, s.summary.len, stderr);
		status = target_exit_code(&s.t);
#ifndef KILN_FREE_AT_EXIT
		/* kiln exits next, and the kernel takes back the analysis and
		 * the profile (hundreds of megabytes after a million distinct
		 * stacks) at once, faster than free() and munmap() one by one:
		 * ~20 ms */
		s.h = NULL;
		s.p = NULL;
#endif
	}
	heap_session_release(&s);
	return status;
}

int cmd_heap(int argc, char **argv)
{
	struct heap_args a = {.output = "heap.kiln", .top = 5};
	int rc = parse_args(argc, argv, &a);
	if (rc < 0)
		rc = heap_run(&a);
	alloc_rule_free(a.rule);
	return rc;
}
