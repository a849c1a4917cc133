/* memcheck.h - renderers of a memcheck report (analysis/memcheck_report.h):
 * sanitizer-like text for people, JSON for scripts and CI
 * (docs/memcheck-json.md). Output is appended to a strbuf the caller
 * owns. */
#ifndef KILN_RENDER_MEMCHECK_H
#define KILN_RENDER_MEMCHECK_H

#include <stdbool.h>

#include "analysis/memcheck_report.h"
#include "util/strbuf.h"

struct mc_render_opts {
	unsigned show_leaks;   /* loss records shown for these classes (1 << class) */
	unsigned error_leaks;  /* leak classes counted as errors (--errors-for-leak-kinds) */
	bool gen_suppressions; /* a suppression after each error and loss record shown */
	int exitcode;          /* the status the agent stops a program with */
};

/* Whether the text report has anything to say: an error, or a loss record
 * of a shown class, not suppressed. */
bool mc_render_has_findings(const struct mc_report *r, const struct mc_render_opts *o);
void mc_render_text(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o);
/* With nothing to report: a line saying how many blocks were not checked
 * (--max-guarded reached, no mapping left) and why; false when all were. */
bool mc_render_unchecked(struct strbuf *out, const struct mc_report *r);
/* Where an error's address lies, as a phrase: "4 bytes inside a freed
 * 32-byte block at 0x7f00", "in a module's static data: ...". */
void mc_render_where(struct strbuf *out, const struct mc_error_info *r);
void mc_render_json(struct strbuf *out, const struct mc_report *r, const struct mc_render_opts *o);

#endif
