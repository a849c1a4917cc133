/* memcheck_json.c - a memcheck report as JSON for scripts and CI: the
 * errors, the leaks' loss records and the summary (the schema is in
 * docs/memcheck-json.md; render/memcheck.h). */
#include <inttypes.h>

#include "render/memcheck.h"

static void str_or_null(struct strbuf *out, const char *s)
{
	if (s)
		strbuf_add_json_string(out, s);
	else
		strbuf_addstr(out, "null");
}

static void stack_json(struct strbuf *out, const struct mc_stack *st)
{
	strbuf_addch(out, '[');
	for (uint32_t i = 0; i < st->n; i++) {
		const struct mc_sframe *f = &st->f[i];
		strbuf_addf(out, "%s{\"address\": \"0x%" PRIx64 "\", \"function\": ", i ? ", " : "", f->addr);
		str_or_null(out, f->function);
		strbuf_addstr(out, ", \"file\": ");
		str_or_null(out, f->file);
		if (f->file)
			strbuf_addf(out, ", \"line\": %" PRIu32, f->line);
		else
			strbuf_addstr(out, ", \"line\": null");
		strbuf_addstr(out, ", \"module\": ");
		str_or_null(out, f->module);
		strbuf_addf(out, ", \"offset\": \"0x%" PRIx64 "\"}", f->offset);
	}
	strbuf_addch(out, ']');
}

static void error_json(struct strbuf *out, const struct mc_report_error *e)
{
	const struct mc_error_info *r = &e->rec;
	strbuf_addstr(out, "{\"kind\": ");
	str_or_null(out, mc_kind_id(r->kind));
	strbuf_addf(out, ", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32 ", \"address\": \"0x%" PRIx64 "\"", e->pid, r->tid,
	            r->addr);
	const char *access = r->flags & MC_WRITE ? "\"write\"" : r->flags & MC_READ ? "\"read\"" : "null";
	/* a page fault tells the address and whether it wrote, not how many
	 * bytes the instruction moved */
	strbuf_addf(out, ", \"access\": %s, \"size\": null, \"where\": ", access);
	struct strbuf w = STRBUF_INIT;
	mc_render_where(&w, r);
	strbuf_add_json_string(out, strbuf_str(&w));
	strbuf_release(&w);
	if (r->flags & MC_IN_BLOCK)
		strbuf_addf(out,
		            ", \"block\": {\"address\": \"0x%" PRIx64 "\", \"size\": %" PRIu64
		            ", \"freed\": %s, \"alloc_tid\": %" PRIu32 ", \"free_tid\": %" PRIu32 "}",
		            r->block, r->block_size, r->n_free ? "true" : "false", r->alloc_tid, r->free_tid);
	else
		strbuf_addstr(out, ", \"block\": null");
	if (r->kind == MC_MISMATCHED_FREE) {
		static const char *const alloc[4] = {"malloc", "new", "new[]", "unknown"};
		static const char *const dealloc[4] = {"free", "delete", "delete[]", "unknown"};
		strbuf_addf(out, ", \"families\": {\"alloc\": \"%s\", \"free\": \"%s\"}",
		            alloc[MC_ALLOC_FAMILY(r->flags)], dealloc[MC_FREE_FAMILY(r->flags)]);
	}
	strbuf_addf(out, ", \"stopped\": %s, \"suppressed\": ", r->flags & MC_STOPPED ? "true" : "false");
	str_or_null(out, e->suppressed);
	strbuf_addstr(out, ", \"stacks\": {\"access\": ");
	stack_json(out, &e->access);
	strbuf_addstr(out, ", \"alloc\": ");
	stack_json(out, &e->alloc);
	strbuf_addstr(out, ", \"free\": ");
	stack_json(out, &e->free);
	strbuf_addstr(out, "}}");
}

void mc_render_json(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o)
{
	strbuf_addstr(out, "{\"version\": 1, \"errors\": [");
	for (size_t i = 0; i < r->n_errors; i++) {
		strbuf_addstr(out, i ? ",\n  " : "\n  ");
		error_json(out, &r->errors[i]);
	}
	strbuf_addstr(out, "],\n\"leaks\": [");
	for (size_t i = 0; i < r->n_losses; i++) {
		const struct mc_loss *l = &r->losses[i];
		strbuf_addstr(out, i ? ",\n  " : "\n  ");
		strbuf_addf(out,
		            "{\"class\": \"%s\", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64 ", \"pid\": %" PRIu32,
		            mc_leak_class_id(l->cls), l->bytes, l->blocks, l->pid);
		strbuf_addstr(out, ", \"suppressed\": ");
		str_or_null(out, l->suppressed);
		strbuf_addstr(out, ", \"stack\": ");
		stack_json(out, &l->alloc);
		strbuf_addch(out, '}');
	}
	uint64_t leak_errors = mc_report_leak_blocks(r, o->error_leaks);
	strbuf_addf(out, "],\n\"summary\": {\"errors\": %zu, \"by_kind\": {",
	            mc_report_errors(r) + (size_t)leak_errors);
	const char *sep = "";
	for (uint32_t k = 1; mc_kind_id(k); k++) {
		uint64_t n = 0;
		for (size_t i = 0; i < r->n_errors; i++)
			n += !r->errors[i].suppressed && r->errors[i].rec.kind == k;
		strbuf_addf(out, "%s\"%s\": %" PRIu64, sep, mc_kind_id(k), n);
		sep = ", ";
	}
	strbuf_addf(out, "}, \"leak_errors\": %" PRIu64 ", \"suppressed_errors\": %" PRIu64 ", \"leaks_checked\": %s",
	            leak_errors, r->suppressed_errors, r->leaks_checked ? "true" : "false");
	strbuf_addstr(out, ", \"leaks\": {");
	sep = "";
	for (uint8_t c = HEAP_LEAK_DEFINITE; c >= HEAP_LEAK_REACHABLE; c--) {
		const struct mc_leak_total *t = &r->leaks[c];
		strbuf_addf(out,
		            "%s\"%s\": {\"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64 ", \"suppressed_bytes\": %" PRIu64
		            ", \"suppressed_blocks\": %" PRIu64 "}",
		            sep, mc_leak_class_id(c), t->bytes, t->blocks, t->suppressed_bytes, t->suppressed_blocks);
		sep = ", ";
	}
	const struct mc_counts *st = &r->stats;
	strbuf_addf(out,
	            "}, \"processes\": %" PRIu32 ", \"leaks_scanned_processes\": %" PRIu32 ", \"guarded\": %" PRIu64
	            ", \"unguarded\": %" PRIu64 ", \"foreign_frees\": %" PRIu64 "}}\n",
	            st->processes, st->scanned, st->guarded, st->unguarded, st->foreign_frees);
}
