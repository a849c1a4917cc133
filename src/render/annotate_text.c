/* annotate_text.c - `kiln annotate` for people: a header with the
 * function's share, the hottest lines, then the source around the
 * annotated lines with a share column, like `callgrind_annotate
 * --auto=yes`; without the source, a table of file:line and addresses.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/annotate.h"
#include "util/xalloc.h"

#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_DIM    "\033[2m"
#define C_RED    "\033[31m"
#define C_YELLOW "\033[33m"

#define HOT_PCT     10.0 /* lines at or above this share are red */
#define WARM_PCT    2.0  /* yellow */
#define ADDRS_SHOWN 3

struct text_ctx {
	struct strbuf *out;
	const struct annotate *a;
	const struct annotate_source *src;
	const struct annotate_options *o;
	const struct profile *p;
};

static void on(const struct text_ctx *c, const char *code)
{
	if (c->o->color && *code)
		strbuf_addstr(c->out, code);
}

static void off(const struct text_ctx *c, const char *code)
{
	if (c->o->color && *code)
		strbuf_addstr(c->out, C_RESET);
}

static const char *heat(double pct)
{
	return pct >= HOT_PCT ? C_BOLD C_RED : pct >= WARM_PCT ? C_YELLOW : "";
}

static double total_pct(const struct annotate *a, int64_t v)
{
	return a->total ? 100.0 * (double)v / (double)a->total : 0.0;
}

/* Appends s with control characters shown as '?', so a hostile name or
 * source line cannot move the cursor or recolour the terminal. */
static void add_clean(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, ((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f ? '?' : *s);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool have_source(const struct text_ctx *c)
{
	return c->src && c->src->path && c->src->nlines;
}

static const char *source_text(const struct text_ctx *c, const struct annotate_line *l)
{
	if (!have_source(c) || l->file != c->a->file || !l->line || l->line > c->src->nlines)
		return NULL;
	const char *s = c->src->lines[l->line - 1];
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void header(const struct text_ctx *c)
{
	const struct annotate *a = c->a;
	struct strbuf *out = c->out;
	strbuf_addstr(out, "Function: ");
	on(c, C_BOLD);
	add_clean(out, profile_str(c->p, a->function));
	off(c, C_BOLD);
	if (a->module) {
		strbuf_addstr(out, " [");
		add_clean(out, profile_str(c->p, a->module));
		strbuf_addch(out, ']');
	}
	strbuf_addstr(out, "\nProfile:  ");
	add_clean(out, c->o->file);
	if (!c->o->complete)
		strbuf_addstr(out, " (cut short)");
	strbuf_addf(out,
	            "\nOwn:      %.1f%% of all %s (%" PRIu64 " of %" PRIu64
	            " samples): %.1f%% self, %.1f%% in inlined callees\n",
	            total_pct(a, a->self + a->inlined), a->value_type, a->samples, a->total_samples,
	            total_pct(a, a->self), total_pct(a, a->inlined));
	if (a->calls)
		strbuf_addf(out, "Calls:    %.1f%% of all %s in functions it calls\n", total_pct(a, a->calls),
		            a->value_type);
	if (a->file) {
		strbuf_addstr(out, "Source:   ");
		add_clean(out, profile_str(c->p, a->file));
		strbuf_addf(out, ", lines %" PRIu32 "-%" PRIu32, a->first_line, a->last_line);
		if (!have_source(c))
			strbuf_addstr(out, " (not found: showing addresses; --source-dir DIR looks elsewhere)");
		strbuf_addch(out, '\n');
	}
}

static void add_addrs(const struct text_ctx *c, const struct annotate_line *l)
{
	const struct annotate *a = c->a;
	for (uint32_t i = 0; i < l->naddrs && i < ADDRS_SHOWN; i++) {
		const struct annotate_addr *ad = &a->addrs.v[l->first_addr + i];
		strbuf_addf(c->out, "%s0x%" PRIx64, i ? " " : "", ad->vaddr);
		if (l->naddrs > 1)
			strbuf_addf(c->out, " (%.0f%%)", annotate_pct(a, ad->value));
	}
	if (l->naddrs > ADDRS_SHOWN)
		strbuf_addf(c->out, " +%" PRIu32 " more", l->naddrs - ADDRS_SHOWN);
}

static void hottest(const struct text_ctx *c)
{
	const struct annotate *a = c->a;
	struct strbuf *out = c->out;
	uint32_t *order = xmalloc((a->lines.n ? a->lines.n : 1) * sizeof(*order));
	size_t n = annotate_hottest(a, order);
	size_t shown = c->o->limit && c->o->limit < n ? c->o->limit : n;
	bool src = have_source(c);
	bool any_inlined = false;

	strbuf_addf(out, "\nHottest lines (share of the function's own %s):\n", a->value_type);
	/* the widest location decides the column */
	size_t locw = 8;
	for (size_t i = 0; i < shown; i++) {
		const struct annotate_line *l = &a->lines.v[order[i]];
		const char *f = l->file ? base_name(profile_str(c->p, l->file)) : "??";
		size_t w = strlen(f) + 12;
		if (w > locw)
			locw = w;
	}
	if (locw > 60)
		locw = 60;
	on(c, C_DIM);
	/* virtual addresses, as nm, objdump, addr2line and gdb take them; a
	 * profile from before kiln stored them has file offsets only */
	bool vaddrs = a->addrs.n && a->addrs.v[0].has_vaddr;
	strbuf_addf(out, "   Share    Samples  %-*s %s\n", (int)locw, "Location",
	            src      ? "Code"
	            : vaddrs ? "Addresses (as nm and objdump show them)"
	                     : "Addresses (offset in module)");
	off(c, C_DIM);
	for (size_t i = 0; i < shown; i++) {
		const struct annotate_line *l = &a->lines.v[order[i]];
		double pct = annotate_pct(a, annotate_line_value(l));
		const char *h = heat(pct);
		on(c, h);
		strbuf_addf(out, "  %5.1f%%%c %9" PRIu64 "  ", pct, l->inlined ? '*' : ' ', l->samples);
		struct strbuf loc = STRBUF_INIT;
		if (l->line)
			strbuf_addf(&loc, "%s:%" PRIu32, l->file ? base_name(profile_str(c->p, l->file)) : "??",
			            l->line);
		else
			strbuf_addstr(&loc, "(no line info)");
		add_clean(out, strbuf_str(&loc));
		for (size_t w = loc.len; w < locw; w++)
			strbuf_addch(out, ' ');
		strbuf_release(&loc);
		strbuf_addch(out, ' ');
		const char *text = source_text(c, l);
		if (text)
			add_clean(out, text);
		else
			add_addrs(c, l);
		off(c, h);
		if (l->inlined) {
			any_inlined = true;
			on(c, C_DIM);
			strbuf_addstr(out, "  [inlined: ");
			add_clean(out, profile_str(c->p, l->callee));
			strbuf_addch(out, ']');
			off(c, C_DIM);
		}
		strbuf_addch(out, '\n');
	}
	if (shown < n)
		strbuf_addf(out, "  ... %zu more lines (--limit 0 shows all)\n", n - shown);
	if (!n)
		strbuf_addstr(out, "  (no samples in this function)\n");
	if (any_inlined)
		strbuf_addstr(out, "  * includes callees inlined at this line\n");
	free(order);
}

/* One source line with its share and calls columns. */
static void source_line(const struct text_ctx *c, uint32_t line, bool calls_col)
{
	const struct annotate *a = c->a;
	struct strbuf *out = c->out;
	const struct annotate_line *l = annotate_find_line(a, a->file, line);
	const char *h = "";
	if (l && l->samples) {
		double pct = annotate_pct(a, annotate_line_value(l));
		h = heat(pct);
		on(c, h);
		strbuf_addf(out, "  %5.1f%%%c", pct, l->inlined ? '*' : ' ');
	} else {
		strbuf_addstr(out, "         ");
	}
	if (calls_col) {
		if (l && l->calls)
			strbuf_addf(out, " %6.1f%%", total_pct(a, l->calls));
		else
			strbuf_addstr(out, "        ");
	}
	strbuf_addf(out, " %6" PRIu32 "  ", line);
	add_clean(out, c->src->lines[line - 1]);
	off(c, h);
	strbuf_addch(out, '\n');
}

static void source(const struct text_ctx *c)
{
	const struct annotate *a = c->a;
	const struct annotate_source *src = c->src;
	struct strbuf *out = c->out;
	uint32_t ctx = c->o->context;
	bool calls_col = a->calls != 0;

	strbuf_addstr(out, "\nSource: ");
	add_clean(out, src->path);
	strbuf_addch(out, '\n');
	on(c, C_DIM);
	strbuf_addf(out, "   Share %s   Line\n", calls_col ? "  Calls%" : "");
	off(c, C_DIM);
	if (a->last_line > src->nlines)
		strbuf_addf(out,
		            "  (the profile has line %" PRIu32 " but the file has %zu lines: it may have changed)\n",
		            a->last_line, src->nlines);

	/* lines within `ctx` of an annotated line of the main file, in the
	 * function's range widened by ctx; gaps become "..." */
	uint64_t lo = a->first_line > ctx ? a->first_line - ctx : 1;
	uint64_t hi = (uint64_t)a->last_line + ctx;
	if (hi > src->nlines)
		hi = src->nlines;
	uint64_t printed_to = 0;
	for (size_t i = 0; i < a->lines.n; i++) {
		const struct annotate_line *l = &a->lines.v[i];
		if (l->file != a->file || !l->line)
			continue;
		uint64_t from = l->line > ctx ? l->line - ctx : 1, to = (uint64_t)l->line + ctx;
		if (from < lo)
			from = lo;
		if (to > hi)
			to = hi;
		if (from <= printed_to)
			from = printed_to + 1;
		if (from > to)
			continue;
		if (printed_to && from > printed_to + 1)
			strbuf_addstr(out, "  ...\n");
		for (uint64_t n = from; n <= to; n++)
			source_line(c, (uint32_t)n, calls_col);
		printed_to = to;
	}
	if (!printed_to)
		strbuf_addstr(out, "  (no annotated line is inside the file)\n");
	int64_t elsewhere = 0;
	for (size_t i = 0; i < a->lines.n; i++)
		if (a->lines.v[i].file != a->file || !a->lines.v[i].line)
			elsewhere += annotate_line_value(&a->lines.v[i]);
	if (elsewhere)
		strbuf_addf(out, "  %.1f%% of the function's samples are in other files or have no line (see above)\n",
		            annotate_pct(a, elsewhere));
}

/* The source text of (file, line) when it is a line of the file read. */
static const char *insn_source(const struct text_ctx *c, const struct annotate_insn *in)
{
	if (!have_source(c) || !in->file || !c->a->file || strcmp(in->file, profile_str(c->p, c->a->file)) ||
	    !in->line || in->line > c->src->nlines)
		return NULL;
	const char *s = c->src->lines[in->line - 1];
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* One row of source between instructions: file:line and its text. */
static void insn_line_row(const struct text_ctx *c, const struct annotate_insn *in)
{
	struct strbuf *out = c->out;
	on(c, C_DIM);
	strbuf_addstr(out, "                     ");
	add_clean(out, base_name(in->file));
	strbuf_addf(out, ":%" PRIu32, in->line);
	const char *text = insn_source(c, in);
	if (text) {
		strbuf_addstr(out, "  ");
		add_clean(out, text);
	}
	off(c, C_DIM);
	strbuf_addch(out, '\n');
}

/* The instructions around the hot ones (--context of them), with their
 * shares, and the source line above each run of one line's code. */
static void instructions(const struct text_ctx *c)
{
	const struct annotate *a = c->a;
	struct strbuf *out = c->out;
	size_t n = a->insns.n, ctx = c->o->context;
	strbuf_addstr(out, "\nInstructions: ");
	add_clean(out, c->o->asm_binary);
	strbuf_addf(out, " (as %s shows them)\n", c->o->asm_syntax ? c->o->asm_syntax : "objdump -d");
	on(c, C_DIM);
	strbuf_addstr(out, "   Share    Samples  Address   Instruction\n");
	off(c, C_DIM);
	/* show[i]: within ctx instructions of one with samples */
	bool *show = xcalloc(n ? n : 1, sizeof(*show));
	for (size_t i = 0; i < n; i++) {
		if (!a->insns.v[i].samples)
			continue;
		size_t lo = i > ctx ? i - ctx : 0, hi = i + ctx < n - 1 ? i + ctx : n - 1;
		for (size_t k = lo; k <= hi; k++)
			show[k] = true;
	}
	const char *last_file = NULL;
	uint32_t last_line = 0;
	size_t printed = 0, last_shown = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		if (!show[i])
			continue;
		const struct annotate_insn *in = &a->insns.v[i];
		if (last_shown != SIZE_MAX && i > last_shown + 1) {
			strbuf_addstr(out, "  ...\n");
			last_file = NULL; /* say the line again after a gap */
		}
		last_shown = i;
		if (in->file && (!last_file || strcmp(in->file, last_file) || in->line != last_line))
			insn_line_row(c, in);
		last_file = in->file;
		last_line = in->line;
		const char *h = "";
		if (in->samples) {
			double pct = annotate_pct(a, in->value);
			h = heat(pct);
			on(c, h);
			strbuf_addf(out, "  %5.1f%%  %9" PRIu64 "  ", pct, in->samples);
		} else {
			strbuf_addstr(out, "                     ");
		}
		strbuf_addf(out, "%8" PRIx64 ":  ", in->vaddr);
		struct strbuf ins = STRBUF_INIT;
		strbuf_addf(&ins, "%-6s %s", in->mnemonic, in->operands);
		add_clean(out, strbuf_str(&ins));
		strbuf_release(&ins);
		off(c, h);
		strbuf_addch(out, '\n');
		printed++;
	}
	if (!printed)
		strbuf_addstr(out, "  (no sample at a decoded instruction)\n");
	int64_t own = a->self + a->inlined;
	if (own && a->insns_value != own)
		strbuf_addf(out, "  %.1f%% of the function's samples are at addresses not decoded\n",
		            annotate_pct(a, own - a->insns_value));
	free(show);
}

static int cmp_addr_value(const void *x, const void *y, void *ctx)
{
	const struct annotate *a = ctx;
	const struct annotate_addr *l = &a->addrs.v[*(const uint32_t *)x], *m = &a->addrs.v[*(const uint32_t *)y];
	if (l->value != m->value)
		return l->value > m->value ? -1 : 1;
	return l->vaddr < m->vaddr ? -1 : l->vaddr > m->vaddr;
}

/* Without instructions (the binary is gone): every hot address with its
 * share, hottest first, for objdump or gdb on a copy of the binary. */
static void hot_addresses(const struct text_ctx *c)
{
	const struct annotate *a = c->a;
	struct strbuf *out = c->out;
	size_t n = a->addrs.n;
	uint32_t *order = xmalloc((n ? n : 1) * sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	if (n > 1)
		qsort_r(order, n, sizeof(*order), cmp_addr_value, (void *)a);
	size_t shown = c->o->limit && c->o->limit < n ? c->o->limit : n;
	bool vaddrs = n && a->addrs.v[0].has_vaddr;
	strbuf_addf(out, "\nHottest addresses (%s):\n",
	            vaddrs ? "as nm and objdump show them" : "offsets in the module");
	on(c, C_DIM);
	strbuf_addstr(out, "   Share    Samples  Address\n");
	off(c, C_DIM);
	for (size_t i = 0; i < shown; i++) {
		const struct annotate_addr *ad = &a->addrs.v[order[i]];
		double pct = annotate_pct(a, ad->value);
		const char *h = heat(pct);
		on(c, h);
		strbuf_addf(out, "  %5.1f%%  %9" PRIu64 "  0x%" PRIx64, pct, ad->samples, ad->vaddr);
		off(c, h);
		strbuf_addch(out, '\n');
	}
	if (shown < n)
		strbuf_addf(out, "  ... %zu more addresses (--limit 0 shows all)\n", n - shown);
	free(order);
}

static void text_render(struct strbuf *out, const struct annotate *a, const struct annotate_source *src,
                        const struct annotate_options *o)
{
	struct text_ctx c = {out, a, src, o, a->profile};
	header(&c);
	if (o->asm_view && o->asm_note) {
		strbuf_addstr(out, "Code:     ");
		add_clean(out, o->asm_note);
		strbuf_addch(out, '\n');
	}
	hottest(&c);
	if (o->asm_view && a->insns.n)
		instructions(&c);
	else if (o->asm_view && !have_source(&c) && a->addrs.n)
		hot_addresses(&c);
	else if (have_source(&c))
		source(&c);
}

const struct annotate_ops annotate_text_ops = {
    .name = "text",
    .render = text_render,
};
