/* memcheck_text.c - a memcheck report as a sanitizer's text: each error
 * with where its address lies and its stacks, the leaks' loss records as
 * valgrind prints them, and the summary (render/memcheck.h). */
#include <inttypes.h>

#include "analysis/mc_suppress.h"
#include "render/memcheck.h"

/* Each kind's words, one and many; [0] for a kind this build does not know. */
static const char *const kind_words[MC_KIND_MAX + 1][2] = {
    {"heap error", "heap errors"},
    [MC_OVERFLOW] = {"heap overflow", "heap overflows"},
    [MC_USE_AFTER_FREE] = {"use after free", "uses after free"},
    [MC_DOUBLE_FREE] = {"double free", "double frees"},
    [MC_INVALID_FREE] = {"invalid free", "invalid frees"},
    [MC_REALLOC_FREED] = {"realloc of freed memory", "reallocs of freed memory"},
    [MC_SLACK_DAMAGE] = {"heap overflow found at free", "heap overflows found at free"},
    [MC_MISMATCHED_FREE] = {"mismatched free", "mismatched frees"},
};

/* "heap overflow" for n 1, else "heap overflows". */
static const char *kind_word(uint32_t kind, uint64_t n)
{
	return kind_words[kind <= MC_KIND_MAX ? kind : 0][n != 1];
}

/* The calls of each allocator family, as a mismatched free names them. */
static const char *const family_alloc[4] = {"malloc", "new", "new[]", "?"};
static const char *const family_free[4] = {"free", "delete", "delete[]", "?"};

static void say_stack(struct strbuf *out, const struct mc_stack *st)
{
	if (!st->n) {
		strbuf_addstr(out, "    (no stack)\n");
		return;
	}
	for (uint32_t i = 0; i < st->n; i++) {
		const struct mc_sframe *f = &st->f[i];
		if (!f->function && !f->file) {
			strbuf_addf(out, "    #%u 0x%" PRIx64 " in %s+0x%" PRIx64 "\n", i, f->addr,
			            f->module ? f->module : "??", f->offset);
			continue;
		}
		strbuf_addf(out, "    #%u 0x%" PRIx64 " in %s", i, f->addr, f->function ? f->function : "??");
		if (f->file)
			strbuf_addf(out, " %s:%u", f->file, f->line);
		else
			strbuf_addf(out, " (%s+0x%" PRIx64 ")", f->module ? f->module : "??", f->offset);
		strbuf_addch(out, '\n');
	}
}

void mc_render_where(struct strbuf *out, const struct mc_error_info *r)
{
	if (!(r->flags & MC_IN_BLOCK)) {
		if (r->flags & MC_ON_STACK)
			strbuf_addstr(out, "on a thread's stack: malloc never returned it");
		else if (r->flags & MC_STATIC)
			strbuf_addstr(out, "in a module's static data: malloc never returned it");
		else
			strbuf_addstr(out, "no heap block's: malloc never returned it");
		return;
	}
	const char *state = r->n_free ? "freed " : "";
	if (r->addr == r->block && r->n_free && r->kind != MC_USE_AFTER_FREE) {
		strbuf_addf(out, "a %" PRIu64 "-byte block freed before", r->block_size);
		return;
	}
	uint64_t end = r->block + r->block_size;
	if (r->addr >= end && (r->addr > r->block || r->block_size))
		strbuf_addf(out, "%" PRIu64 " bytes past the end of a %s%" PRIu64 "-byte block at 0x%" PRIx64,
		            r->addr - end, state, r->block_size, r->block);
	else if (r->addr < r->block)
		strbuf_addf(out, "%" PRIu64 " bytes before a %s%" PRIu64 "-byte block at 0x%" PRIx64,
		            r->block - r->addr, state, r->block_size, r->block);
	else
		strbuf_addf(out, "%" PRIu64 " bytes inside a %s%" PRIu64 "-byte block at 0x%" PRIx64,
		            r->addr - r->block, state, r->block_size, r->block);
}

static void say_error(struct strbuf *out, const struct mc_report_error *e, const struct mc_render_opts *o)
{
	const struct mc_error_info *r = &e->rec;
	bool fault = r->kind == MC_OVERFLOW || r->kind == MC_USE_AFTER_FREE;
	const char *access = r->flags & MC_WRITE ? "write" : r->flags & MC_READ ? "read" : "access";
	strbuf_addf(out, "kiln memcheck: %s", kind_word(r->kind, 1));
	if (fault)
		strbuf_addf(out, ": %s at 0x%" PRIx64, access, r->addr);
	else if (r->kind == MC_SLACK_DAMAGE)
		strbuf_addf(out, ": a write at 0x%" PRIx64, r->addr);
	else if (r->kind == MC_MISMATCHED_FREE)
		strbuf_addf(out, ": %s(0x%" PRIx64 ") of a block from %s", family_free[MC_FREE_FAMILY(r->flags)],
		            r->addr, family_alloc[MC_ALLOC_FAMILY(r->flags)]);
	else
		strbuf_addf(out, ": %s(0x%" PRIx64 ")", r->kind == MC_REALLOC_FREED ? "realloc" : "free", r->addr);
	strbuf_addf(out, " by thread %" PRIu32 " of pid %" PRIu32 "\n", r->tid, e->pid);
	strbuf_addf(out, "  0x%" PRIx64 " is ", r->addr);
	mc_render_where(out, r);
	strbuf_addch(out, '\n');
	const char *what = fault                         ? access
	                   : r->kind == MC_REALLOC_FREED ? "realloc"
	                   : r->kind == MC_SLACK_DAMAGE  ? "free that found it"
	                                                 : "free";
	strbuf_addf(out, "  the %s:\n", what);
	say_stack(out, &e->access);
	if (r->flags & MC_IN_BLOCK) {
		strbuf_addf(out, "  the block was allocated by thread %" PRIu32 ":\n", r->alloc_tid);
		say_stack(out, &e->alloc);
		if (r->n_free) {
			strbuf_addf(out, "  and freed by thread %" PRIu32 ":\n", r->free_tid);
			say_stack(out, &e->free);
		}
	}
	if (r->flags & MC_STOPPED)
		strbuf_addf(out, "  the program was stopped here (exit status %d)%s\n", o->exitcode,
		            fault && (r->flags & MC_WRITE) ? ": a write fault always stops it, --keep-going or not"
		                                           : "");
	if (o->gen_suppressions)
		mc_suppression_format(out, r->kind, 0, &e->access);
	strbuf_addch(out, '\n');
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void say_losses(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o)
{
	size_t shown = 0, k = 0;
	for (size_t i = 0; i < r->n_losses; i++)
		shown += !r->losses[i].suppressed && (o->show_leaks & (1u << r->losses[i].cls));
	for (size_t i = 0; i < r->n_losses; i++) {
		const struct mc_loss *l = &r->losses[i];
		if (l->suppressed || !(o->show_leaks & (1u << l->cls)))
			continue;
		k++;
		strbuf_addf(out,
		            "kiln memcheck: %" PRIu64 " byte%s in %" PRIu64 " block%s %s %s in loss record %zu of %zu "
		            "(pid %" PRIu32 ")\n",
		            l->bytes, plural(l->bytes, "", "s"), l->blocks, plural(l->blocks, "", "s"),
		            plural(l->blocks, "is", "are"), heap_class_name(l->cls), k, shown, l->pid);
		strbuf_addstr(out, "  allocated at:\n");
		say_stack(out, &l->alloc);
		if (o->gen_suppressions)
			mc_suppression_format(out, 0, l->cls, &l->alloc);
		strbuf_addch(out, '\n');
	}
}

static void say_leak_summary(struct strbuf *out, const struct mc_report *r)
{
	strbuf_addstr(out, "kiln memcheck: leak summary:\n");
	static const uint8_t order[] = {HEAP_LEAK_DEFINITE, HEAP_LEAK_INDIRECT, HEAP_LEAK_POSSIBLE,
	                                HEAP_LEAK_REACHABLE};
	uint64_t sb = 0, sn = 0;
	for (size_t i = 0; i < sizeof(order); i++) {
		const struct mc_leak_total *t = &r->leaks[order[i]];
		strbuf_addf(out, "  %15s: %" PRIu64 " byte%s in %" PRIu64 " block%s\n", heap_class_name(order[i]),
		            t->bytes, plural(t->bytes, "", "s"), t->blocks, plural(t->blocks, "", "s"));
		sb += t->suppressed_bytes;
		sn += t->suppressed_blocks;
	}
	strbuf_addf(out, "  %15s: %" PRIu64 " byte%s in %" PRIu64 " block%s\n", "suppressed", sb, plural(sb, "", "s"),
	            sn, plural(sn, "", "s"));
}

/* The blocks that fell back to the real allocator unchecked, and why
 * (those --sample passed over are not counted: that is its point). */
static void say_unguarded(struct strbuf *out, const struct mc_counts *st)
{
	if (st->over_limit)
		strbuf_addf(out, ", %" PRIu64 " not checked (%" PRIu64 " guarded blocks were live: --max-guarded)",
		            st->over_limit, st->max_guarded);
	uint64_t other = st->unguarded - (st->over_limit < st->unguarded ? st->over_limit : st->unguarded);
	if (other)
		strbuf_addf(out, ", %" PRIu64 " not checked (no address space or mapping left: vm.max_map_count)",
		            other);
}

bool mc_render_unchecked(struct strbuf *out, const struct mc_report *r)
{
	const struct mc_counts *st = &r->stats;
	if (!st->unguarded)
		return false;
	strbuf_addf(out, "kiln memcheck: no errors in %" PRIu64 " guarded block%s", st->guarded,
	            plural(st->guarded, "", "s"));
	say_unguarded(out, st);
	strbuf_addch(out, '\n');
	return true;
}

static void say_summary(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o)
{
	size_t n = mc_report_errors(r);
	uint64_t by_kind[MC_KIND_MAX + 1] = {0};
	for (size_t i = 0; i < r->n_errors; i++) {
		if (r->errors[i].suppressed)
			continue;
		uint32_t k = r->errors[i].rec.kind;
		by_kind[k <= MC_KIND_MAX ? k : 0]++;
	}
	uint64_t leak_errors = mc_report_leak_blocks(r, o->error_leaks);
	strbuf_addf(out, "kiln memcheck: %zu error%s", n + leak_errors, n + leak_errors == 1 ? "" : "s");
	const char *sep = " (";
	for (uint32_t k = 0; k <= MC_KIND_MAX; k++) {
		if (!by_kind[k])
			continue;
		strbuf_addf(out, "%s%" PRIu64 " %s", sep, by_kind[k], kind_word(k, by_kind[k]));
		sep = ", ";
	}
	if (leak_errors)
		strbuf_addf(out, "%s%" PRIu64 " leaked block%s", sep, leak_errors, plural(leak_errors, "", "s"));
	if (n + leak_errors)
		strbuf_addch(out, ')');
	const struct mc_counts *st = &r->stats;
	strbuf_addf(out, " in %u process%s; %" PRIu64 " block%s guarded", st->processes, st->processes == 1 ? "" : "es",
	            st->guarded, st->guarded == 1 ? "" : "s");
	if (st->sample > 1)
		strbuf_addf(out, " (about 1 in %" PRIu32 ", --sample: errors and leaks are looked for in those only)",
		            st->sample);
	say_unguarded(out, st);
	uint64_t sup = r->suppressed_errors;
	for (size_t i = 0; i < r->n_losses; i++)
		sup += r->losses[i].suppressed ? r->losses[i].blocks : 0;
	if (sup)
		strbuf_addf(out, "; %" PRIu64 " suppressed", sup);
	if (!r->leaks_checked)
		strbuf_addstr(out, "; leaks not checked (no process exited through the agent)");
	else if (st->scanned < st->processes)
		strbuf_addf(out, "; leaks checked in %u of %u processes (the others did not exit through the agent)",
		            st->scanned, st->processes);
	strbuf_addch(out, '\n');
}

bool mc_render_has_findings(const struct mc_report *r, const struct mc_render_opts *o)
{
	if (mc_report_errors(r))
		return true;
	for (size_t i = 0; i < r->n_losses; i++)
		if (!r->losses[i].suppressed && ((o->show_leaks | o->error_leaks) & (1u << r->losses[i].cls)))
			return true;
	return false;
}

void mc_render_text(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o)
{
	for (size_t i = 0; i < r->n_errors; i++)
		if (!r->errors[i].suppressed)
			say_error(out, &r->errors[i], o);
	say_losses(out, r, o);
	if (r->leaks_checked)
		say_leak_summary(out, r);
	say_summary(out, r, o);
}
