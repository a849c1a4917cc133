/* heap.h - renderers of a heap analysis: the summary as text or JSON, and
 * the heap size over time as a self-contained SVG chart. The analysis must
 * be finished (heap_finish) and its profile symbolized. Output is appended
 * to a strbuf the caller owns.
 */
#ifndef KILN_RENDER_HEAP_H
#define KILN_RENDER_HEAP_H

#include <stdint.h>

#include "analysis/heap.h"
#include "util/strbuf.h"

struct heap_render_opts {
	uint32_t top;        /* sites per list */
	uint32_t max_frames; /* frames per stack shown (0 = all) */
	const char *command; /* for titles */
	bool full_stacks;    /* every frame, not only the site to main (or the thread start) */
};

void heap_render_text(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o);
void heap_render_json(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o);
void heap_render_chart(struct strbuf *out, const struct heap_analysis *h, const struct heap_render_opts *o);

/* The site's frame as the rule (NULL: the default) names it
 * (heap_site_frame()). Writes "function file:line" (or what is known). */
void heap_site_label(struct strbuf *out, const struct profile *p, const struct alloc_rule *rule, uint32_t node);
/* Where a site of the summary is, after its label: " in MODULE" when
 * its frame has a file and its module is not the process's executable
 * (a shared library), and " [pid N: COMMAND]" when more than one process
 * ran. Nothing for a single program's own code. */
void heap_site_where(struct strbuf *out, const struct heap_analysis *h, const struct heap_site *s);
/* The basename of a process's command, "?" when unknown. */
const char *heap_process_name(const struct heap_process *pr);

/* The stack as a JSON array of "function file:line" strings, leaf first:
 * from the site to the outermost user frame, or every frame when full. */
void heap_stack_json(struct strbuf *out, const struct profile *p, const struct alloc_rule *rule, uint32_t node,
                     bool full);

#endif
