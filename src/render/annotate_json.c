/* annotate_json.c - `kiln annotate --json`: the annotation for programs.
 * Lines come hottest first (as the text table), each with its addresses;
 * shares are of the function's own value (self + inlined), so they add up
 * to 100 over all lines. Schema in kiln-annotate(1).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "render/annotate.h"
#include "util/xalloc.h"

static void json_pct(struct strbuf *sb, double pct)
{
	strbuf_addf(sb, "%.4f", pct);
}

static void json_str_or_null(struct strbuf *sb, const struct profile *p, uint32_t id)
{
	if (id)
		strbuf_add_json_string(sb, profile_str(p, id));
	else
		strbuf_addstr(sb, "null");
}

static void json_cstr_or_null(struct strbuf *sb, const char *s)
{
	if (s)
		strbuf_add_json_string(sb, s);
	else
		strbuf_addstr(sb, "null");
}

/* "disassembly": the instructions decoded (all of them, by address) with
 * their value; empty unless the instruction view was on. */
static void json_disassembly(struct strbuf *out, const struct annotate *a, const struct annotate_options *o)
{
	strbuf_addf(out, ",\"disassembly\":{\"shown\":%s,\"binary\":", o->asm_view && a->insns.n ? "true" : "false");
	json_cstr_or_null(out, a->insns.n ? o->asm_binary : NULL);
	strbuf_addstr(out, ",\"syntax\":");
	json_cstr_or_null(out, a->insns.n ? o->asm_syntax : NULL);
	strbuf_addstr(out, ",\"note\":");
	json_cstr_or_null(out, o->asm_view ? o->asm_note : NULL);
	strbuf_addstr(out, ",\"percent_decoded\":");
	json_pct(out, annotate_pct(a, a->insns_value));
	strbuf_addstr(out, ",\"instructions\":[");
	for (size_t i = 0; i < a->insns.n; i++) {
		const struct annotate_insn *in = &a->insns.v[i];
		strbuf_addf(out, "%s{\"vaddr\":\"0x%" PRIx64 "\",\"mnemonic\":", i ? "," : "", in->vaddr);
		strbuf_add_json_string(out, in->mnemonic);
		strbuf_addstr(out, ",\"operands\":");
		strbuf_add_json_string(out, in->operands);
		strbuf_addstr(out, ",\"file\":");
		json_cstr_or_null(out, in->file);
		strbuf_addf(out, ",\"line\":%" PRIu32 ",\"value\":%" PRId64 ",\"samples\":%" PRIu64 ",\"percent\":",
		            in->line, in->value, in->samples);
		json_pct(out, annotate_pct(a, in->value));
		strbuf_addch(out, '}');
	}
	strbuf_addstr(out, "]}");
}

static void json_render(struct strbuf *out, const struct annotate *a, const struct annotate_source *src,
                        const struct annotate_options *o)
{
	const struct profile *p = a->profile;
	strbuf_addstr(out, "{\"file\":");
	strbuf_add_json_string(out, o->file);
	strbuf_addf(out, ",\"complete\":%s,\"function\":", o->complete ? "true" : "false");
	strbuf_add_json_string(out, profile_str(p, a->function));
	strbuf_addstr(out, ",\"module\":");
	strbuf_add_json_string(out, profile_str(p, a->module));
	strbuf_addstr(out, ",\"value_type\":");
	strbuf_add_json_string(out, a->value_type);
	strbuf_addstr(out, ",\"value_unit\":");
	strbuf_add_json_string(out, a->value_unit);
	strbuf_addf(out,
	            ",\"total\":%" PRId64 ",\"total_samples\":%" PRIu64 ",\"self\":%" PRId64 ",\"inlined\":%" PRId64
	            ",\"calls\":%" PRId64 ",\"samples\":%" PRIu64 ",\"percent_of_total\":",
	            a->total, a->total_samples, a->self, a->inlined, a->calls, a->samples);
	json_pct(out, a->total ? 100.0 * (double)(a->self + a->inlined) / (double)a->total : 0.0);
	strbuf_addstr(out, ",\"source\":{\"file\":");
	json_str_or_null(out, p, a->file);
	strbuf_addstr(out, ",\"path\":");
	if (src && src->path)
		strbuf_add_json_string(out, src->path);
	else
		strbuf_addstr(out, "null");
	strbuf_addf(out, ",\"found\":%s,\"first_line\":%" PRIu32 ",\"last_line\":%" PRIu32 "}",
	            src && src->path ? "true" : "false", a->first_line, a->last_line);

	strbuf_addstr(out, ",\"lines\":[");
	uint32_t *order = xmalloc((a->lines.n ? a->lines.n : 1) * sizeof(*order));
	size_t n = annotate_hottest(a, order);
	if (o->limit && o->limit < n)
		n = o->limit;
	for (size_t i = 0; i < n; i++) {
		const struct annotate_line *l = &a->lines.v[order[i]];
		strbuf_addstr(out, i ? ",{\"file\":" : "{\"file\":");
		json_str_or_null(out, p, l->file);
		strbuf_addf(out,
		            ",\"line\":%" PRIu32 ",\"value\":%" PRId64 ",\"self\":%" PRId64 ",\"inlined\":%" PRId64
		            ",\"calls\":%" PRId64 ",\"samples\":%" PRIu64 ",\"percent\":",
		            l->line, annotate_line_value(l), l->self, l->inlined, l->calls, l->samples);
		json_pct(out, annotate_pct(a, annotate_line_value(l)));
		strbuf_addstr(out, ",\"inlined_callee\":");
		json_str_or_null(out, p, l->callee);
		strbuf_addstr(out, ",\"source\":");
		if (src && src->path && l->file == a->file && l->line && l->line <= src->nlines)
			strbuf_add_json_string(out, src->lines[l->line - 1]);
		else
			strbuf_addstr(out, "null");
		strbuf_addstr(out, ",\"addresses\":[");
		for (uint32_t k = 0; k < l->naddrs; k++) {
			const struct annotate_addr *ad = &a->addrs.v[l->first_addr + k];
			strbuf_addf(out,
			            "%s{\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"value\":%" PRId64
			            ",\"samples\":%" PRIu64 ",\"vaddr\":",
			            k ? "," : "", ad->address, ad->offset, ad->value, ad->samples);
			if (ad->has_vaddr)
				strbuf_addf(out, "\"0x%" PRIx64 "\"}", ad->vaddr);
			else
				strbuf_addstr(out, "null}");
		}
		strbuf_addstr(out, "]}");
	}
	strbuf_addstr(out, "]");
	free(order);
	json_disassembly(out, a, o);
	strbuf_addstr(out, "}\n");
}

const struct annotate_ops annotate_json_ops = {
    .name = "json",
    .render = json_render,
};
