/* serve_http.c - what kiln serve answers at each URL: the front page, the
 * window's flame graph, /metrics and /debug/pprof/profile. Renders with
 * render/ (serve_page, flame_svg, prometheus, pprof) over the window's
 * samples, borrowed into the shared profile for the length of a call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "analysis/flame_tree.h"
#include "cmd/cmd.h"
#include "cmd/serve.h"
#include "render/flame.h"
#include "render/pprof.h"
#include "render/prometheus.h"
#include "render/serve_page.h"

#define PROFILE_SECONDS_DEFAULT 30 /* Go's net/http/pprof default */
#define VIEW_SECONDS_DEFAULT    60

#define MAX_PID_FILTER 64

/* ?pid=N[,N...]: the processes a view keeps (none: all). */
struct pid_filter {
	size_t n;
	uint32_t pids[MAX_PID_FILTER];
};

/* 0, or -1 when pid= is not a list of process ids. */
static int query_pids(const struct http_request *req, struct pid_filter *f)
{
	char buf[HTTP_TARGET_MAX];
	f->n = 0;
	int rc = http_query_get(req->query, "pid", buf, sizeof(buf));
	if (rc <= 0)
		return rc;
	int n = cmd_parse_pid_list(buf, f->pids, MAX_PID_FILTER);
	if (n < 0)
		return -1;
	f->n = (size_t)n;
	return 0;
}

/* The window's samples since since (of the processes f names, when it
 * names any), in s->p while fn runs: the profile's own samples (not yet
 * written to the segment) are set aside meanwhile. The names are those the
 * symbolizer thread found so far: a location it has not named yet is
 * shown as module+offset for this view only, never waited for. */
static void with_window(struct serve *s, uint64_t since, const struct pid_filter *f, void (*fn)(struct serve *, void *),
                        void *ctx)
{
	struct profile *p = s->p;
	typeof(p->samples) own = p->samples;
	memset(&p->samples, 0, sizeof(p->samples));
	sample_window_copy(&s->win, since, p);
	if (f->n) {
		size_t kept = 0;
		for (size_t i = 0; i < p->samples.n; i++)
			for (size_t k = 0; k < f->n; k++)
				if (p->samples.v[i].pid == f->pids[k]) {
					p->samples.v[kept++] = p->samples.v[i];
					break;
				}
		p->samples.n = kept;
	}
	serve_symbols_apply(&s->symbols, p);
	VEC(uint32_t) unnamed = {0};
	for (size_t i = 0; i < p->locations.n; i++)
		if (!p->locations.v[i].nframes)
			vec_push(&unnamed, (uint32_t)i);
	size_t nframes = p->frames.n;
	profile_name_unsymbolized(p);
	fn(s, ctx);
	/* the stand-in names go: the thread's come in their place */
	for (size_t i = 0; i < unnamed.n; i++)
		p->locations.v[unnamed.v[i]].nframes = 0;
	p->frames.n = nframes;
	vec_free(&unnamed);
	vec_free(&p->samples);
	p->samples = own;
}

/* ?seconds=N: 1 to the window's length; def when absent. 0 when bad. */
static unsigned query_seconds(const struct serve *s, const struct http_request *req, unsigned def)
{
	char buf[32];
	unsigned max = (unsigned)(s->a.window_ns / 1000000000ull);
	if (max < 1)
		max = 1;
	int rc = http_query_get(req->query, "seconds", buf, sizeof(buf));
	if (rc == 0)
		return def < max ? def : max;
	uint64_t v;
	if (rc < 0 || cmd_parse_u64(buf, &v) || !v || v > max)
		return 0;
	return (unsigned)v;
}

/* Without --all, only the processes named with -p are served by pid: a
 * client may not ask for the profile of a process the one who started
 * kiln serve did not name (their followed children are in the views
 * without ?pid=). False after a 403 that says which. */
static bool pids_named(const struct serve *s, const struct pid_filter *f, struct http_response *res)
{
	if (s->a.all)
		return true;
	for (size_t k = 0; k < f->n; k++) {
		bool named = false;
		for (size_t i = 0; i < s->a.pids.n && !named; i++)
			named = (uint32_t)s->a.pids.v[i] == f->pids[k];
		/* without --all the profile holds only the named processes and
		 * the children they started, which are theirs to ask for */
		for (size_t i = 0; i < s->p->threads.n && !named; i++)
			named = s->p->threads.v[i].pid == f->pids[k];
		if (!named) {
			res->status = 403;
			strbuf_addf(
			    &res->body,
			    "process %" PRIu32
			    " was not named with -p (nor started by one that was); kiln serve serves any process "
			    "only with --all\n",
			    f->pids[k]);
			return false;
		}
	}
	return true;
}

/* A view's ?seconds= (dflt when absent) and ?pid=; false after a 400 that
 * says which is wrong, or a 403 for a process not named (pids_named()). */
static bool view_query(const struct serve *s, const struct http_request *req, unsigned dflt, unsigned *seconds,
                       struct pid_filter *f, struct http_response *res)
{
	*seconds = query_seconds(s, req, dflt);
	if (!*seconds) {
		res->status = 400;
		strbuf_addf(&res->body, "seconds takes a whole number from 1 to %" PRIu64 " (the window, --window)\n",
		            (uint64_t)(s->a.window_ns / 1000000000ull));
		return false;
	}
	if (query_pids(req, f)) {
		res->status = 400;
		strbuf_addf(&res->body, "pid takes process ids, like pid=1234 or pid=1234,5678 (at most %d)\n",
		            MAX_PID_FILTER);
		return false;
	}
	return pids_named(s, f, res);
}

struct pprof_ctx {
	struct http_response *res;
	unsigned seconds;
};

static void pprof_fn(struct serve *s, void *ctx)
{
	struct pprof_ctx *c = ctx;
	struct profile *p = s->p;
	profile_set_meta_u64(p, "duration_ns", (uint64_t)c->seconds * 1000000000ull);
	profile_set_meta_u64(p, "start_time", cmd_wall_ns() - (uint64_t)c->seconds * 1000000000ull);
	int rc = pprof_write(p, &c->res->body);
	profile_set_meta_u64(p, "start_time", s->seg_wall); /* the open segment's again */
	if (rc) {
		c->res->status = 500;
		strbuf_reset(&c->res->body);
		strbuf_addstr(&c->res->body, "cannot compress the profile\n");
		return;
	}
	c->res->status = 200;
	c->res->content_type = "application/octet-stream";
	c->res->extra_headers = "Content-Disposition: attachment; filename=\"profile.pb.gz\"\r\n";
}

/* /debug/pprof/profile?seconds=N: the CPU profile of the next N seconds,
 * as Go serves it (the client waits; the others do not). */
static void handle_pprof(struct serve *s, const struct http_request *req, bool again, struct http_response *res)
{
	unsigned seconds;
	struct pid_filter f;
	if (!view_query(s, req, PROFILE_SECONDS_DEFAULT, &seconds, &f, res))
		return;
	if (!again) {
		res->again_ms = (uint64_t)seconds * 1000;
		return;
	}
	struct pprof_ctx c = {res, seconds};
	with_window(s, cmd_now_ns() - (uint64_t)seconds * 1000000000ull, &f, pprof_fn, &c);
}

struct svg_ctx {
	struct http_response *res;
	unsigned seconds;
};

static void svg_fn(struct serve *s, void *ctx)
{
	struct svg_ctx *c = ctx;
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options fo = {.value = 1}; /* cpu nanoseconds */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = f ? flame_tree_build(&t, s->p, &fo) : -1;
	if (rc == 0) {
		char info[400];
		snprintf(info, sizeof(info), "kiln serve on %s: the last %u s, %zu samples at %" PRIu64 " Hz", s->host,
		         c->seconds, s->p->samples.n, s->a.freq);
		struct flame_svg_options so = {.title = "CPU flame graph", .info = info, .samples = 0};
		rc = flame_render_svg(f, &t, &so);
	}
	if (f)
		fclose(f);
	flame_tree_release(&t);
	if (rc) {
		c->res->status = 500;
		strbuf_addstr(&c->res->body, "cannot draw the flame graph\n");
	} else {
		c->res->status = 200;
		c->res->content_type = "image/svg+xml";
		strbuf_add(&c->res->body, buf, len);
	}
	free(buf);
}

static void handle_svg(struct serve *s, const struct http_request *req, struct http_response *res)
{
	unsigned seconds;
	struct pid_filter f;
	if (!view_query(s, req, VIEW_SECONDS_DEFAULT, &seconds, &f, res))
		return;
	struct svg_ctx c = {res, seconds};
	with_window(s, cmd_now_ns() - (uint64_t)seconds * 1000000000ull, &f, svg_fn, &c);
}

static void handle_page(struct serve *s, struct http_response *res)
{
	unsigned seconds = (unsigned)(s->a.window_ns / 1000000000ull);
	if (seconds > VIEW_SECONDS_DEFAULT)
		seconds = VIEW_SECONDS_DEFAULT;
	uint64_t since = cmd_now_ns() - (uint64_t)seconds * 1000000000ull;
	struct serve_page_process *pp = xcalloc(s->procs.n + 1, sizeof(*pp));
	size_t n = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < s->procs.n; i++) {
		const struct serve_proc *sp = &s->procs.v[i];
		if (sp->refused)
			continue;
		pp[n] =
		    (struct serve_page_process){(uint32_t)sp->pid, sp->comm, 0, (double)sp->cpu_ns / 1e9, sp->exited};
		n++;
	}
	/* samples in the view, per process (children count for their -p parent's row when it has none) */
	for (size_t k = 0; k < s->win.n; k++) {
		const struct profile_sample *x = sample_window_at(&s->win, k);
		if (x->time < since)
			continue;
		total++;
		for (size_t i = 0; i < n; i++)
			if (pp[i].pid == x->pid) {
				pp[i].samples++;
				break;
			}
	}
	struct serve_page_info info = {
	    .host = s->host,
	    .hz = s->a.freq,
	    .seconds = seconds,
	    .samples = total,
	    .procs = pp,
	    .nprocs = n,
	    .segments = s->sds.files,
	    .segment_bytes = s->sds.bytes,
	    .dir = s->a.dir,
	};
	serve_page_render(&res->body, &info);
	free(pp);
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
}

/* kiln's own CPU time (every thread) and resident memory. */
static void self_usage(double *cpu_s, double *rss)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	         (double)ru.ru_stime.tv_usec / 1e6;
	*rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		unsigned long size, res;
		if (fscanf(f, "%lu %lu", &size, &res) == 2)
			*rss = (double)res * (double)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
}

/* One family with a sample per process kiln profiles. */
static void per_proc(struct strbuf *out, const struct serve *s, const char *name, const char *type, const char *help,
                     double (*get)(const struct serve_proc *))
{
	prometheus_family(out, name, type, help);
	for (size_t i = 0; i < s->procs.n; i++) {
		const struct serve_proc *sp = &s->procs.v[i];
		if (sp->refused)
			continue;
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)sp->pid);
		const char *labels[] = {"pid", pid, "comm", sp->comm};
		prometheus_sample(out, name, labels, 2, get(sp));
	}
}

static double get_samples(const struct serve_proc *sp)
{
	return (double)sp->samples;
}
static double get_cpu(const struct serve_proc *sp)
{
	return (double)sp->cpu_ns / 1e9;
}
static double get_lost(const struct serve_proc *sp)
{
	return (double)sp->st.lost;
}
static double get_unwind(const struct serve_proc *sp)
{
	return (double)sp->st.unwind_errors;
}
static double get_up(const struct serve_proc *sp)
{
	return sp->exited ? 0 : 1;
}

static void one(struct strbuf *out, const char *name, const char *type, const char *help, double v)
{
	prometheus_family(out, name, type, help);
	prometheus_sample(out, name, NULL, 0, v);
}

/* Per process and reason: memory (the budget was spent: refused by the
 * recorder unread, or by the window at its share) or stacks (a new stack
 * past --max-stacks). */
static void dropped(struct strbuf *out, const struct serve *s)
{
	const char *name = "kiln_serve_dropped_samples_total";
	prometheus_family(out, name, "counter", "samples kiln dropped by back-pressure, by reason (memory, stacks)");
	for (size_t i = 0; i < s->procs.n; i++) {
		const struct serve_proc *sp = &s->procs.v[i];
		if (sp->refused)
			continue;
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)sp->pid);
		prometheus_sample(out, name, (const char *[]){"pid", pid, "comm", sp->comm, "reason", "memory"}, 3,
		                  (double)(sp->dropped_memory + sp->st.refused));
		prometheus_sample(out, name, (const char *[]){"pid", pid, "comm", sp->comm, "reason", "stacks"}, 3,
		                  (double)sp->dropped_stacks);
	}
}

/* What --max-memory bounds: the bytes counted (serve_budget.c), by part. */
static void memory(struct strbuf *o, const struct serve *s)
{
	const struct serve_memory *m = &s->mem;
	one(o, "kiln_serve_memory_bytes", "gauge",
	    "bytes kiln serve holds that count against --max-memory (see kiln-serve(1))", (double)m->total);
	one(o, "kiln_serve_memory_budget_bytes", "gauge", "--max-memory", (double)s->a.max_memory);
	struct {
		const char *name;
		size_t bytes;
	} part[] = {
	    {"window", m->window},
	    {"profile", m->profile},
	    {"recorders", m->recorders},
	    {"closing", m->closing},
	};
	prometheus_family(o, "kiln_serve_memory_part_bytes", "gauge", "kiln_serve_memory_bytes by part");
	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++)
		prometheus_sample(o, "kiln_serve_memory_part_bytes", (const char *[]){"part", part[i].name}, 1,
		                  (double)part[i].bytes);
	one(o, "kiln_serve_memory_full_polls_total", "counter",
	    "polls of the recorders made with the memory budget spent (their samples refused)",
	    (double)s->mem_full_ticks);
	one(o, "kiln_serve_segments_unfinished_total", "counter",
	    "segments left cut short, without symbols: the closer was behind and the memory budget spent",
	    (double)s->segments_unfinished);
	one(o, "kiln_serve_threads_forgotten_total", "counter",
	    "threads that exited whose recorder state was dropped at a segment's start", (double)s->threads_forgotten);
}

/* The profile's tables: what they hold now, and what each segment's
 * compaction dropped (serve_compact()). */
static void tables(struct strbuf *o, const struct serve *s)
{
	const struct profile *p = s->p;
	const struct profile_compact_stats *d = &s->compact_dropped;
	struct {
		const char *name;
		size_t held, dropped;
	} t[] = {
	    {"locations", p->locations.n, d->locations}, {"mappings", p->mappings.n, d->mappings},
	    {"threads", p->threads.n, d->threads},       {"strings", strtab_count(&p->strings), d->strings},
	    {"stacks", p->stacks.n, d->stacks},
	};
	size_t n = sizeof(t) / sizeof(t[0]);
	prometheus_family(o, "kiln_serve_table_entries", "gauge",
	                  "entries of the profile's tables (locations, mappings, threads, strings, stacks)");
	for (size_t i = 0; i < n; i++)
		prometheus_sample(o, "kiln_serve_table_entries", (const char *[]){"table", t[i].name}, 1,
		                  (double)t[i].held);
	prometheus_family(o, "kiln_serve_table_dropped_total", "counter",
	                  "entries dropped from the profile's tables at a segment's start, no longer named by the "
	                  "window, a running process or thread");
	for (size_t i = 0; i < n; i++)
		prometheus_sample(o, "kiln_serve_table_dropped_total", (const char *[]){"table", t[i].name}, 1,
		                  (double)t[i].dropped);
	one(o, "kiln_serve_exited_maps_dropped_total", "counter",
	    "address maps of followed child processes dropped after they exited", (double)s->maps_forgotten);
}

/* The symbol cache (shared by build-id) and the symbolizer thread's queue. */
static void symbol_metrics(struct strbuf *o, struct serve *s)
{
	struct symbolizer_stats st;
	serve_symbols_get_stats(&s->symbols, &st);
	one(o, "kiln_serve_symbol_cache_entries", "gauge",
	    "modules (binaries, libraries) in the symbol cache, keyed by build-id", (double)st.modules);
	one(o, "kiln_serve_symbol_loads_total", "counter", "module files read for symbols (a cache miss)",
	    (double)st.loads);
	one(o, "kiln_serve_symbol_cache_hits_total", "counter", "module lookups the symbol cache answered",
	    (double)st.hits);
	one(o, "kiln_serve_symbol_cache_evictions_total", "counter",
	    "modules freed from the symbol cache, least recently used first, beyond its bound", (double)st.evictions);
	one(o, "kiln_serve_symbolize_pending_locations", "gauge",
	    "code addresses seen and not yet named by the symbolizer thread (views show them as module+offset)",
	    (double)s->symbols.pending);
}

static void handle_metrics(struct serve *s, struct http_response *res)
{
	struct strbuf *o = &res->body;
	per_proc(o, s, "kiln_serve_samples_total", "counter", "CPU samples kept (window and segments)", get_samples);
	per_proc(o, s, "kiln_serve_cpu_seconds_total", "counter", "CPU time the kept samples stand for", get_cpu);
	per_proc(o, s, "kiln_serve_lost_samples_total", "counter", "samples the kernel dropped (ring buffer full)",
	         get_lost);
	dropped(o, s);
	per_proc(o, s, "kiln_serve_unwind_errors_total", "counter",
	         "stacks that stopped early at code kiln could not unwind", get_unwind);
	per_proc(o, s, "kiln_serve_process_up", "gauge", "1 while the process runs, 0 once it exited", get_up);
	one(o, "kiln_serve_segments", "gauge", "segments on disk, the open one included", (double)s->sds.files);
	one(o, "kiln_serve_segment_bytes", "gauge", "bytes of the segments on disk", (double)s->sds.bytes);
	one(o, "kiln_serve_segments_removed_total", "counter", "segments removed by --retention or --max-disk",
	    (double)s->sds.removed);
	one(o, "kiln_serve_segments_closing", "gauge",
	    "closed segments being finished (symbols, end chunk, fsync) by the closer thread",
	    (double)serve_closer_pending(&s->closer));
	one(o, "kiln_serve_segment_write_errors_total", "counter", "failed writes of segments (disk full, ...)",
	    (double)s->write_errors);
	one(o, "kiln_serve_window_samples", "gauge", "samples in the in-memory window", (double)s->win.n);
	one(o, "kiln_serve_window_capacity_samples", "gauge",
	    "samples the window may hold now: its ring and what is left of --max-memory", (double)s->win.limit);
	one(o, "kiln_serve_stacks", "gauge", "distinct stacks held", (double)s->p->stacks.n);
	one(o, "kiln_serve_stack_cap_dropped_total", "counter", "samples dropped for a stack past --max-stacks",
	    (double)s->stack_cap_dropped);
	one(o, "kiln_serve_stack_resets_total", "counter", "times the stacks started over at the cap",
	    (double)s->trie_resets);
	tables(o, s);
	memory(o, s);
	symbol_metrics(o, s);
	struct http_server_stats hs;
	http_server_get_stats(s->http, &hs);
	one(o, "kiln_serve_http_requests_total", "counter", "HTTP requests answered", (double)hs.requests);
	one(o, "kiln_serve_http_waiting", "gauge", "requests being answered later (profiles over their seconds)",
	    (double)hs.waiting);
	one(o, "kiln_serve_http_rejected_total", "counter", "HTTP requests refused (malformed, too large, too slow)",
	    (double)hs.rejected);
	double cpu, rss;
	self_usage(&cpu, &rss);
	one(o, "process_cpu_seconds_total", "counter", "kiln's own CPU time, user and system", cpu);
	one(o, "process_resident_memory_bytes", "gauge", "kiln's own resident memory", rss);
	one(o, "process_start_time_seconds", "gauge", "when kiln serve started (Unix time)",
	    (double)(s->start_wall / 1000000000ull));
	res->status = 200;
	res->content_type = PROMETHEUS_CONTENT_TYPE;
}

void serve_handle(void *ctx, const struct http_request *req, bool again, struct http_response *res)
{
	struct serve *s = ctx;
	if (!strcmp(req->path, "/debug/pprof/profile")) {
		handle_pprof(s, req, again, res);
	} else if (!strcmp(req->path, "/metrics")) {
		handle_metrics(s, res);
	} else if (!strcmp(req->path, "/")) {
		handle_page(s, res);
	} else if (!strcmp(req->path, "/flame.svg")) {
		handle_svg(s, req, res);
	} else {
		res->status = 404;
		strbuf_addstr(&res->body, "not found; kiln serve has /, /flame.svg, /metrics and "
		                          "/debug/pprof/profile?seconds=N\n");
	}
}
