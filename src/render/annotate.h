/* annotate.h - the renderers of `kiln annotate`: one ops struct per output
 * format (text beside the source, json), all fed the same annotation.
 * Renderers append to a strbuf the caller owns and never print, exit or
 * read files: the command reads the source and hands it in.
 */
#ifndef KILN_RENDER_ANNOTATE_H
#define KILN_RENDER_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/annotate.h"
#include "util/strbuf.h"

/* The text of the function's main source file (annotate.file), when found. */
struct annotate_source {
	const char *path; /* where it was read from; NULL when not found */
	char **lines;     /* lines[0] is line 1, without its newline */
	size_t nlines;
};

struct annotate_options {
	const char *file; /* the profile's path, as the user named it */
	bool complete;    /* false when the profile was cut short */
	size_t limit;     /* rows of the hottest lines table; 0 = all */
	unsigned context; /* source lines shown around each annotated line */
	bool color;       /* text: ANSI colours */
	/* the instruction view (annotate.insns): wanted when asm is set; the
	 * binary it was decoded from, or why there are no instructions */
	bool asm_view;
	const char *asm_binary; /* NULL when nothing was decoded */
	const char *asm_syntax; /* "objdump -d -M intel": the objdump that shows the same */
	const char *asm_note;   /* e.g. "binary '/x' not found ..."; NULL when fine */
};

struct annotate_ops {
	const char *name; /* "text", "json" */
	/* Renders the whole annotation of a (src may be NULL or unfound) into out. */
	void (*render)(struct strbuf *out, const struct annotate *a, const struct annotate_source *src,
	               const struct annotate_options *o);
};

extern const struct annotate_ops annotate_text_ops;
extern const struct annotate_ops annotate_json_ops;

#endif
