/* heap_json.c - the heap summary as JSON (render/heap.h): totals, leak
 * classes and the top sites of each list with their labels. */
#include <inttypes.h>

#include "render/heap.h"

static const char *const class_keys[] = {"not_scanned", "still_reachable", "possibly_lost", "indirectly_lost",
                                         "definitely_lost"};

/* The site frame's module and the site's process. */
static void site_process_json(struct strbuf *out, const struct heap_analysis *h, const struct heap_site *s)
{
	struct profile_frame f;
	bool runtime;
	strbuf_addstr(out, ",\"module\":");
	strbuf_add_json_string(
	    out, heap_site_frame(heap_analysis_profile(h), heap_alloc_rule(h), s->node, &f, &runtime) && f.module
	             ? profile_str(heap_analysis_profile(h), f.module)
	             : "");
	const struct heap_process *pr = heap_site_process(h, s);
	strbuf_addf(out, ",\"pid\":%u,\"command\":", pr ? pr->pid : 0);
	strbuf_add_json_string(out, pr && pr->command ? pr->command : "");
}

/* Every process image with its own totals. */
static void processes_json(struct strbuf *out, const struct heap_analysis *h)
{
	strbuf_addstr(out, ",\"per_process\":[");
	size_t np;
	const struct heap_process *pv = heap_processes(h, &np);
	for (size_t i = 0; i < np; i++) {
		const struct heap_process *pr = &pv[i];
		strbuf_addf(out, "%s{\"pid\":%u,\"ppid\":%u,\"command\":", i ? "," : "", pr->pid, pr->ppid);
		strbuf_add_json_string(out, pr->command ? pr->command : "");
		strbuf_addf(out,
		            ",\"allocations\":%" PRIu64 ",\"frees\":%" PRIu64 ",\"allocated_bytes\":%" PRIu64
		            ",\"temporary\":%" PRIu64 ",\"peak_bytes\":%" PRIu64 ",\"leaked_bytes\":%" PRIu64
		            ",\"leaked_blocks\":%" PRIu64 ",\"exec\":%s,\"scanned\":%s,\"leaks\":{",
		            pr->allocs, pr->frees, pr->alloc_bytes, pr->temporary, pr->peak_bytes, pr->leaked_bytes,
		            pr->leaked_blocks, pr->exec ? "true" : "false", pr->scanned ? "true" : "false");
		for (int c = 0; c < 5; c++)
			strbuf_addf(out, "%s\"%s\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", c ? "," : "",
			            class_keys[c], pr->class_bytes[c], pr->class_blocks[c]);
		strbuf_addstr(out, "}}");
	}
	strbuf_addch(out, ']');
}

static void sites_json(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o,
                       enum heap_rank by, const char *name)
{
	uint32_t idx[64];
	uint32_t n = heap_top_sites(h, by, idx, o->top < 64 ? o->top : 64);
	strbuf_addf(out, ",\"%s\":[", name);
	for (uint32_t i = 0; i < n; i++) {
		size_t nv;
		const struct heap_site *s = &heap_sites(h, &nv)[idx[i]];
		const struct heap_leaks *lk = heap_site_leaks(h, s);
		struct strbuf label = STRBUF_INIT;
		heap_site_label(&label, heap_analysis_profile(h), heap_alloc_rule(h), s->node);
		strbuf_addf(out, "%s{\"site\":", i ? "," : "");
		strbuf_add_json_string(out, strbuf_str(&label));
		strbuf_release(&label);
		site_process_json(out, h, s);
		strbuf_addstr(out, ",\"frames\":");
		heap_stack_json(out, heap_analysis_profile(h), heap_alloc_rule(h), s->node, o->full_stacks);
		strbuf_addf(
		    out,
		    ",\"stack\":%u,\"allocations\":%" PRIu64 ",\"allocated_bytes\":%" PRIu64 ",\"temporary\":%" PRIu64
		    ",\"peak_bytes\":%" PRIu64 ",\"leaked_bytes\":%" PRIu64 ",\"leaked_blocks\":%" PRIu64
		    ",\"definitely_lost_bytes\":%" PRIu64 ",\"indirectly_lost_bytes\":%" PRIu64
		    ",\"possibly_lost_bytes\":%" PRIu64 ",\"still_reachable_bytes\":%" PRIu64 "}",
		    s->node, s->allocs, s->alloc_bytes, s->temporary, s->peak_bytes, heap_site_leaked_bytes(h, s),
		    heap_site_leaked_blocks(h, s), lk->bytes[HEAP_LEAK_DEFINITE], lk->bytes[HEAP_LEAK_INDIRECT],
		    lk->bytes[HEAP_LEAK_POSSIBLE], lk->bytes[HEAP_LEAK_REACHABLE]);
	}
	strbuf_addch(out, ']');
}

void heap_render_json(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o)
{
	const struct heap_totals *t = heap_get_totals(h);
	strbuf_addstr(out, "{\"command\":");
	strbuf_add_json_string(out, o->command ? o->command : "");
	strbuf_addf(out,
	            ",\"processes\":%u,\"allocations\":%" PRIu64 ",\"reallocs\":%" PRIu64 ",\"frees\":%" PRIu64
	            ",\"temporary\":%" PRIu64 ",\"allocated_bytes\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
	            ",\"peak_time_ns\":%" PRIu64 ",\"peak_rss_kb\":%" PRIu64 ",\"leaked_bytes\":%" PRIu64
	            ",\"leaked_blocks\":%" PRIu64 ",\"scanned\":%s,\"leaks\":{",
	            t->processes, t->allocs, t->reallocs, t->frees, t->temporary, t->alloc_bytes, t->peak_bytes,
	            t->peak_time, t->max_rss_kb, t->leaked_bytes, t->leaked_blocks, t->scanned ? "true" : "false");
	for (int c = 0; c < 5; c++)
		strbuf_addf(out, "%s\"%s\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", c ? "," : "", class_keys[c],
		            t->class_bytes[c], t->class_blocks[c]);
	strbuf_addch(out, '}');
	processes_json(out, h);
	strbuf_addf(out,
	            ",\"untracked\":%" PRIu64 ",\"counted_only\":{\"processes\":%u,\"allocations\":%" PRIu64
	            ",\"frees\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"pids\":[",
	            t->untracked, t->counted_processes, t->counted_allocs, t->counted_frees, t->counted_bytes);
	for (uint32_t i = 0; i < t->counted_npids; i++)
		strbuf_addf(out, "%s%u", i ? "," : "", t->counted_pids[i]);
	strbuf_addstr(out, "]}");
	const struct heap_allocator *a = &t->alloc_path;
	static const char *const paths[] = {"malloc", "rust_shim", "rust_shim_missing", "rust_shim_refused"};
	const char *global = heap_global_alloc_name(a->global);
	strbuf_addf(out,
	            ",\"allocator\":{\"path\":\"%s\",\"global\":\"%s\",\"shim_functions\":%u,\"methods\":%u,"
	            "\"method_symbols\":%u,\"reason\":%d,\"unseen_growth_kb\":%" PRIu64 "}",
	            a->path < 4 ? paths[a->path] : "malloc", global ? global : "none", a->shim, a->methods,
	            a->candidates, -a->reason, heap_unseen_growth_kb(h));
	strbuf_addf(out, ",\"unknown_frees\":%" PRIu64 ",\"double_frees\":%" PRIu64 ",\"double_free_sites\":[",
	            t->unknown_frees, t->double_frees);
	size_t ndf;
	const struct heap_double_free *dfv = heap_double_frees(h, &ndf);
	for (size_t i = 0; i < ndf; i++) {
		const struct heap_double_free *d = &dfv[i];
		uint32_t node = heap_raw_site(h, d->site)->node;
		struct strbuf label = STRBUF_INIT;
		heap_site_label(&label, heap_analysis_profile(h), heap_alloc_rule(h), node);
		strbuf_addf(out, "%s{\"count\":%" PRIu64 ",\"address\":\"0x%" PRIx64 "\",\"pid\":%u,\"alloc_site\":",
		            i ? "," : "", d->count, d->addr, d->pid);
		strbuf_add_json_string(out, strbuf_str(&label));
		strbuf_release(&label);
		/* frees carry no stack in the agent's records */
		strbuf_addstr(out, ",\"alloc_frames\":");
		heap_stack_json(out, heap_analysis_profile(h), heap_alloc_rule(h), node, o->full_stacks);
		strbuf_addstr(out, ",\"free_frames\":null}");
	}
	strbuf_addf(out, "],\"program_allocations\":%" PRIu64, heap_program_allocs(h));
	strbuf_addstr(out, ",\"notes\":[");
	if (t->processes && !heap_program_allocs(h))
		strbuf_add_json_string(out, t->allocs
		                                ? "no allocation came from the program's own code through malloc: "
		                                  "it may use its own allocator"
		                                : "the program allocated nothing through malloc: it may use its "
		                                  "own allocator");
	strbuf_addch(out, ']');
	sites_json(out, h, o, HEAP_BY_PEAK, "by_peak");
	sites_json(out, h, o, HEAP_BY_LEAKED, "by_leaked");
	sites_json(out, h, o, HEAP_BY_ALLOCS, "by_allocations");
	sites_json(out, h, o, HEAP_BY_TEMPORARY, "by_temporary");
	strbuf_addstr(out, "}\n");
}
