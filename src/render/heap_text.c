/* heap_text.c - the heap summary as text: totals, leak classes, top call
 * sites with their stacks (render/heap.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/heap.h"
#include "util/xalloc.h"

static void frame_text(struct strbuf *out, const struct profile *p, const struct profile_frame *f)
{
	strbuf_addstr(out, *profile_str(p, f->function) ? profile_str(p, f->function) : "??");
	if (f->file)
		strbuf_addf(out, " %s:%u", profile_str(p, f->file), f->line);
	else if (f->module)
		strbuf_addf(out, " (%s)", profile_str(p, f->module));
}

/* The frames of a stack to show, root first in fr[*lo, *hi): from the
 * site to the outermost user frame, or all of them when full. */
static size_t shown_frames(const struct profile *p, const struct alloc_rule *rule, uint32_t node, bool full,
                           struct profile_frame **fr, size_t *lo, size_t *hi)
{
	size_t n = profile_stack_frames(p, node, fr);
	size_t site, top;
	bool runtime;
	*lo = 0;
	*hi = n;
	if (!full && alloc_rule_site(rule, p, *fr, n, &site, &top, &runtime)) {
		*lo = top;
		*hi = site + 1;
	}
	return n;
}

void heap_stack_json(struct strbuf *out, const struct profile *p, const struct alloc_rule *rule, uint32_t node,
                     bool full)
{
	struct profile_frame *fr;
	size_t lo, hi;
	shown_frames(p, rule, node, full, &fr, &lo, &hi);
	strbuf_addch(out, '[');
	for (size_t i = hi; i-- > lo;) {
		struct strbuf f = STRBUF_INIT;
		frame_text(&f, p, &fr[i]);
		strbuf_add_json_string(out, strbuf_str(&f));
		strbuf_release(&f);
		if (i > lo)
			strbuf_addch(out, ',');
	}
	strbuf_addch(out, ']');
	free(fr);
}

void heap_site_label(struct strbuf *out, const struct profile *p, const struct alloc_rule *rule, uint32_t node)
{
	struct profile_frame f;
	bool runtime;
	if (!heap_site_frame(p, rule, node, &f, &runtime)) {
		strbuf_addstr(out, "[no stack]");
		return;
	}
	if (runtime)
		strbuf_addstr(out, "[runtime] ");
	frame_text(out, p, &f);
}

const char *heap_process_name(const struct heap_process *pr)
{
	const char *cmd = pr && pr->command ? pr->command : "";
	const char *base = strrchr(cmd, '/');
	base = base ? base + 1 : cmd;
	return *base ? base : "?";
}

void heap_site_where(struct strbuf *out, const struct heap_analysis *h, const struct heap_site *s)
{
	const struct heap_process *pr = heap_site_process(h, s);
	struct profile_frame f;
	bool runtime;
	if (heap_site_frame(heap_analysis_profile(h), heap_alloc_rule(h), s->node, &f, &runtime) && f.file &&
	    f.module) {
		const char *mod = profile_str(heap_analysis_profile(h), f.module);
		if (*mod && (!pr || strcmp(mod, heap_process_name(pr))))
			strbuf_addf(out, " in %s", mod);
	}
	if (pr && heap_npids(h) > 1)
		strbuf_addf(out, " [pid %u: %s]", pr->pid, heap_process_name(pr));
}

static void stack_text(struct strbuf *out, const struct profile *p, const struct alloc_rule *rule, uint32_t node,
                       uint32_t max, bool full)
{
	struct profile_frame *fr;
	size_t lo, hi;
	size_t n = shown_frames(p, rule, node, full, &fr, &lo, &hi);
	uint32_t shown = 0;
	for (size_t i = hi; i-- > lo;) {
		if (max && shown == max) {
			strbuf_addf(out, "        ... %zu more frames\n", i + 1 - lo);
			break;
		}
		strbuf_addstr(out, "        at ");
		frame_text(out, p, &fr[i]);
		strbuf_addch(out, '\n');
		shown++;
	}
	if (!n)
		strbuf_addstr(out, "        [no stack]\n");
	free(fr);
}

static int cmp_index(const void *a, const void *b, void *arg)
{
	(void)arg;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : *(const uint32_t *)a > *(const uint32_t *)b;
}

static void human(struct strbuf *out, uint64_t b)
{
	if (b >= 10ull << 30)
		strbuf_addf(out, "%.1f GiB", b / 1073741824.0);
	else if (b >= 10ull << 20)
		strbuf_addf(out, "%.1f MiB", b / 1048576.0);
	else if (b >= 10ull << 10)
		strbuf_addf(out, "%.1f KiB", b / 1024.0);
	else
		strbuf_addf(out, "%" PRIu64 " B", b);
}

static void section(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o,
                    enum heap_rank by, const char *title)
{
	uint32_t idx[64];
	uint32_t max = o->top < 64 ? o->top : 64;
	uint32_t n = heap_top_sites(h, by, idx, max);
	strbuf_addf(out, "\n%s:\n", title);
	if (!n) {
		strbuf_addstr(out, "  (none)\n");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t nv;
		const struct heap_site *s = &heap_sites(h, &nv)[idx[i]];
		strbuf_addf(out, "  #%u ", i + 1);
		switch (by) {
		case HEAP_BY_PEAK:
			strbuf_addf(out,
			            "%" PRIu64 " bytes at peak, %" PRIu64 " allocations, %" PRIu64 " bytes allocated",
			            s->peak_bytes, s->allocs, s->alloc_bytes);
			break;
		case HEAP_BY_LEAKED:
		case HEAP_BY_DEFINITE:
			strbuf_addf(out, "%" PRIu64 " bytes in %" PRIu64 " blocks not freed",
			            heap_site_leaked_bytes(h, s), heap_site_leaked_blocks(h, s));
			for (int c = HEAP_LEAK_DEFINITE; c >= HEAP_LEAK_REACHABLE; c--) {
				const struct heap_leaks *lk = heap_site_leaks(h, s);
				if (lk->blocks[c])
					strbuf_addf(out, "; %s %" PRIu64 " bytes in %" PRIu64 " blocks",
					            heap_class_name(c), lk->bytes[c], lk->blocks[c]);
			}
			break;
		case HEAP_BY_ALLOCS:
			strbuf_addf(out, "%" PRIu64 " allocations, %" PRIu64 " bytes allocated", s->allocs,
			            s->alloc_bytes);
			break;
		case HEAP_BY_TEMPORARY:
			strbuf_addf(out, "%" PRIu64 " temporary of %" PRIu64 " allocations", s->temporary, s->allocs);
			break;
		}
		strbuf_addstr(out, "\n      site: ");
		heap_site_label(out, heap_analysis_profile(h), heap_alloc_rule(h), s->node);
		heap_site_where(out, h, s);
		if (s->nstacks > 1)
			strbuf_addf(out, " (%u distinct stacks; the largest:)", s->nstacks);
		strbuf_addch(out, '\n');
		stack_text(out, heap_analysis_profile(h), heap_alloc_rule(h), s->node, o->max_frames, o->full_stacks);
	}
}

/* Frees carry no stack: the freed block's allocation is what is known. */
static void double_frees_text(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o)
{
	size_t ndf;
	const struct heap_double_free *dfv = heap_double_frees(h, &ndf);
	if (!ndf)
		return;
	strbuf_addstr(out, "\ndouble frees (the agent records no stack for a free; the block's allocation is "
	                   "shown):\n");
	uint32_t max = o->top < ndf ? o->top : (uint32_t)ndf;
	for (uint32_t i = 0; i < max; i++) {
		const struct heap_double_free *d = &dfv[i];
		uint32_t node = heap_raw_site(h, d->site)->node;
		strbuf_addf(out, "  #%u %" PRIu64 " double free%s, the first of 0x%" PRIx64 " in process %u\n", i + 1,
		            d->count, d->count == 1 ? "" : "s", d->addr, d->pid);
		strbuf_addstr(out, "      allocated at: ");
		heap_site_label(out, heap_analysis_profile(h), heap_alloc_rule(h), node);
		strbuf_addch(out, '\n');
		stack_text(out, heap_analysis_profile(h), heap_alloc_rule(h), node, o->max_frames, o->full_stacks);
	}
	if (max < ndf)
		strbuf_addf(out, "  ... and %zu more sites\n", ndf - max);
}

/* At most this many processes in the text summary; --json lists all. */
#define PROCESSES_SHOWN 20

static int cmp_process(const void *a, const void *b, void *arg)
{
	const struct heap_process *v = arg;
	const struct heap_process *x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* One line per process that allocated, in the order kiln met them (the
 * PROCESSES_SHOWN with most allocations when there are more). */
static void processes_text(struct strbuf *out, const struct heap_analysis *h)
{
	size_t n, shown = 0, idle = 0;
	const struct heap_process *pv = heap_processes(h, &n);
	if (n < 2)
		return;
	uint32_t *idx = xmalloc(n * sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		if (pv[i].allocs)
			idx[shown++] = (uint32_t)i;
		else
			idle++;
	size_t more = 0;
	if (shown > PROCESSES_SHOWN) {
		qsort_r(idx, shown, sizeof(*idx), cmp_process, (void *)pv);
		more = shown - PROCESSES_SHOWN;
		shown = PROCESSES_SHOWN;
		qsort_r(idx, shown, sizeof(*idx), cmp_index, NULL);
	}
	strbuf_addstr(out, "  per process (peak: its own largest heap; bytes not freed at exit by class):\n");
	strbuf_addf(out, "    %8s %11s %10s %10s %10s %10s %10s  %s\n", "pid", "allocations", "peak", "definitely",
	            "indirectly", "possibly", "reachable", "command");
	for (size_t k = 0; k < shown; k++) {
		const struct heap_process *pr = &pv[idx[k]];
		strbuf_addf(out, "    %8u %11" PRIu64, pr->pid, pr->allocs);
		uint64_t cols[5] = {pr->peak_bytes, pr->class_bytes[HEAP_LEAK_DEFINITE],
		                    pr->class_bytes[HEAP_LEAK_INDIRECT], pr->class_bytes[HEAP_LEAK_POSSIBLE],
		                    pr->class_bytes[HEAP_LEAK_REACHABLE]};
		for (int c = 0; c < 5; c++) {
			struct strbuf b = STRBUF_INIT;
			human(&b, cols[c]);
			strbuf_addf(out, " %10s", strbuf_str(&b));
			strbuf_release(&b);
		}
		strbuf_addf(out, "  %s", heap_process_name(pr));
		if (pr->exec)
			strbuf_addstr(out, " (then exec'd: its blocks were released)");
		else if (!pr->scanned && pr->leaked_blocks)
			strbuf_addf(out, " (not scanned: %" PRIu64 " bytes not freed)", pr->leaked_bytes);
		strbuf_addch(out, '\n');
	}
	if (more)
		strbuf_addf(out, "    ... and %zu more processes that allocated (--json lists all)\n", more);
	if (idle)
		strbuf_addf(out, "    and %zu process%s that allocated nothing\n", idle, idle == 1 ? "" : "es");
	free(idx);
}

/* Why the agent did not divert a Rust allocator shim (a negative errno). */
static const char *refusal_text(int32_t reason)
{
	switch (-reason) {
	case ENOTSUP:
		return "a function starts with an instruction kiln does not relocate";
	case EBUSY:
		return "a function branches back into its first bytes";
	case ERANGE:
	case ENOMEM:
		return "no memory within reach of the program's code";
	case ENOENT:
		return "the shim's four functions are not all in the symbol table";
	case E2BIG:
		return "more allocator functions than kiln diverts";
	default:
		return strerror(-reason);
	}
}

/* Which allocator the heap went through, and what the agent could not see. */
static void allocator_text(struct strbuf *out, const struct heap_analysis *h)
{
	const struct heap_allocator *a = &heap_get_totals(h)->alloc_path;
	const char *global = heap_global_alloc_name(a->global);
	if (a->known && a->path == HEAP_PATH_SHIM) {
		strbuf_addf(out,
		            "  allocator:             rust allocator shim, global allocator: %s (%u shim functions, %u "
		            "allocator methods diverted)\n",
		            global ? global : "custom", a->shim, a->methods);
		if (!a->methods && !a->candidates)
			strbuf_addstr(out,
			              "  warning: the global allocator's methods are inlined into their callers: "
			              "allocations of the crate\n           that defines it bypass the shim and are "
			              "seen only if it calls malloc (see kiln-heap(1))\n");
		else if (!a->methods)
			strbuf_addstr(out,
			              "  warning: the global allocator's methods were not diverted (the shim's calls "
			              "to them do not tell\n           where their arguments are): calls to them "
			              "that bypass the shim are not seen\n           (an unoptimised build makes "
			              "none; see kiln-heap(1))\n");
	} else if (a->known && a->path == HEAP_PATH_LIBC && a->global == HEAP_GA_SYSTEM) {
		strbuf_addstr(out, "  allocator:             malloc (Rust's System allocator)\n");
	} else if (a->known && a->path == HEAP_PATH_MISSING) {
		strbuf_addstr(out, "  warning: a Rust program without a symbol table (stripped): its allocator shim "
		                   "cannot be found,\n           so allocations through a custom #[global_allocator] "
		                   "are not seen; keep the\n           symbol table (cargo: strip = \"debuginfo\" or "
		                   "false) to see them\n");
	} else if (a->known && a->path == HEAP_PATH_REFUSED) {
		strbuf_addf(out,
		            "  warning: the Rust allocator shim was not diverted (%s):\n           allocations "
		            "through the global allocator (%s) are not seen\n",
		            refusal_text(a->reason), global ? global : "custom");
	}
	uint64_t unseen = heap_unseen_growth_kb(h);
	if (unseen)
		strbuf_addf(out,
		            "  warning: the peak RSS grew by %" PRIu64 " MiB while the heap seen peaked at %" PRIu64
		            " KiB: the program\n           may have an allocator of its own (on mmap or brk) that "
		            "kiln heap does not see\n",
		            unseen / 1024, heap_get_totals(h)->peak_bytes / 1024);
}

void heap_render_text(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o)
{
	const struct heap_totals *t = heap_get_totals(h);
	strbuf_addf(out, "kiln heap: %s\n", o->command ? o->command : "");
	strbuf_addf(out, "  processes:             %u\n", t->processes);
	strbuf_addf(out, "  allocations:           %" PRIu64 " (%" PRIu64 " through realloc)\n", t->allocs,
	            t->reallocs);
	strbuf_addf(out, "  frees:                 %" PRIu64 "\n", t->frees);
	strbuf_addf(out, "  temporary allocations: %" PRIu64 " (%.1f%% of allocations)\n", t->temporary,
	            t->allocs ? 100.0 * (double)t->temporary / (double)t->allocs : 0.0);
	strbuf_addf(out, "  bytes allocated:       %" PRIu64 " (", t->alloc_bytes);
	human(out, t->alloc_bytes);
	strbuf_addf(out, ")\n  peak heap:             %" PRIu64 " bytes (", t->peak_bytes);
	human(out, t->peak_bytes);
	strbuf_addf(out, ") at %.3f s\n", (double)t->peak_time / 1e9);
	strbuf_addf(out, "  peak RSS:              %" PRIu64 " KiB\n", t->max_rss_kb);
	allocator_text(out, h);
	strbuf_addf(out, "  not freed at exit:     %" PRIu64 " bytes in %" PRIu64 " blocks\n", t->leaked_bytes,
	            t->leaked_blocks);
	if (t->scanned) {
		for (int c = HEAP_LEAK_DEFINITE; c >= HEAP_LEAK_REACHABLE; c--) {
			char label[32];
			snprintf(label, sizeof(label), "%s:", heap_class_name(c));
			strbuf_addf(out, "    %-19s %" PRIu64 " bytes in %" PRIu64 " blocks\n", label,
			            t->class_bytes[c], t->class_blocks[c]);
		}
		if (t->class_blocks[HEAP_LEAK_UNKNOWN])
			strbuf_addf(out,
			            "    %-19s %" PRIu64 " bytes in %" PRIu64
			            " blocks (processes that did not exit normally)\n",
			            "not scanned:", t->class_bytes[0], t->class_blocks[0]);
	} else if (t->leaked_blocks) {
		strbuf_addstr(out, "    (no reachability scan: the process did not reach exit normally)\n");
	}
	processes_text(out, h);
	if (t->exec_blocks)
		strbuf_addf(out, "  released by exec:      %" PRIu64 " bytes in %" PRIu64 " blocks\n", t->exec_bytes,
		            t->exec_blocks);
	if (t->double_frees)
		strbuf_addf(out, "  double frees:          %" PRIu64 " (frees of a block already freed)\n",
		            t->double_frees);
	if (t->unknown_frees)
		strbuf_addf(out, "  frees of blocks allocated before tracking began: %" PRIu64 "\n", t->unknown_frees);
	if (t->untracked)
		strbuf_addf(out,
		            "  not recorded:          %" PRIu64 " calls (the agent had no memory for its tables)\n",
		            t->untracked);
	if (t->counted_processes) {
		strbuf_addf(out,
		            "  only counted:          %u process%s forked under a seccomp sandbox with no spare ring "
		            "left",
		            t->counted_processes, t->counted_processes == 1 ? "" : "es");
		for (uint32_t i = 0; i < t->counted_npids; i++)
			strbuf_addf(out, "%s%u", i ? " " : " (pid ", t->counted_pids[i]);
		if (t->counted_npids)
			strbuf_addf(out, "%s)", t->counted_npids < t->counted_processes ? " ..." : "");
		strbuf_addf(out,
		            ":\n                         %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		            " bytes allocated, not in the totals above\n",
		            t->counted_allocs, t->counted_frees, t->counted_bytes);
	}
	if (t->processes && !heap_program_allocs(h)) {
		if (t->allocs)
			strbuf_addf(out,
			            "  note: all %" PRIu64
			            " allocations came from the runtime libraries, none from the "
			            "program's own code:\n",
			            t->allocs);
		else
			strbuf_addstr(out, "  note: the program allocated nothing through malloc:\n");
		strbuf_addstr(out, "        it may use its own allocator (mmap, a Rust #[global_allocator], a "
		                   "statically linked jemalloc),\n        which kiln heap does not see\n");
	}
	double_frees_text(out, h, o);
	section(out, h, o, HEAP_BY_PEAK, "top sites by peak contribution");
	section(out, h, o, HEAP_BY_LEAKED, "top sites by bytes not freed at exit");
	section(out, h, o, HEAP_BY_ALLOCS, "top sites by allocation count");
	section(out, h, o, HEAP_BY_TEMPORARY, "top sites by temporary allocations");
}
