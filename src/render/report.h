/* report.h - the renderers of `kiln report`: one ops struct per output
 * format (text for people, json for programs), all fed the same hotspots.
 *
 * report_render() drives an ops struct: header, then the sections asked
 * for, then the footer. Renderers append to a strbuf the caller owns and
 * never print or exit.
 */
#ifndef KILN_RENDER_REPORT_H
#define KILN_RENDER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "util/strbuf.h"

enum report_section {
	REPORT_FUNCTIONS = 1 << 0, /* the hottest functions table */
	REPORT_TREE = 1 << 1,      /* the call tree from the roots */
	REPORT_THREADS = 1 << 2,   /* the split by thread */
	REPORT_STACKS = 1 << 3,    /* every distinct stack */
};

struct report_options {
	const char *file;  /* the profile's path, as the user named it */
	bool complete;     /* false when the file was cut short */
	unsigned sections; /* enum report_section bits */
	enum hotspot_sort sort;
	size_t limit;       /* function rows; 0 = all */
	double min_percent; /* tree nodes below this share of the total are hidden */
	int width;          /* text: terminal columns to fit names into; 0 = do not elide */
	bool color;         /* text: ANSI colours */
};

/* What every callback gets. */
struct report_ctx {
	struct strbuf *out;
	const struct profile *p;
	const struct hotspots *h; /* functions already sorted as o->sort says */
	const struct report_options *o;
};

struct report_ops {
	const char *name; /* "text", "json" */
	/* Opens the report: file, command, event, totals, warnings. */
	void (*header)(const struct report_ctx *c);
	/* One callback per section; NULL when the format has no such view. */
	void (*functions)(const struct report_ctx *c);
	void (*tree)(const struct report_ctx *c);
	void (*threads)(const struct report_ctx *c);
	void (*stacks)(const struct report_ctx *c);
	/* Closes the report. */
	void (*footer)(const struct report_ctx *c);
};

extern const struct report_ops report_text_ops;
extern const struct report_ops report_json_ops;

/* The renderer named `name`, or NULL. */
static inline const struct report_ops *report_ops_find(const char *name)
{
	if (!strcmp(name, report_text_ops.name))
		return &report_text_ops;
	if (!strcmp(name, report_json_ops.name))
		return &report_json_ops;
	return NULL;
}

/* Sorts h's functions as o->sort says, then renders the header, the
 * sections of o->sections in the order functions, threads, stacks, tree,
 * and the footer into out. Kept inline: it is the whole of the driver. */
static inline void report_render(struct strbuf *out, const struct report_ops *ops, const struct profile *p,
                                 struct hotspots *h, const struct report_options *o)
{
	struct report_ctx c = {out, p, h, o};
	hotspots_sort_functions(h, o->sort);
	if (ops->header)
		ops->header(&c);
	if ((o->sections & REPORT_FUNCTIONS) && ops->functions)
		ops->functions(&c);
	if ((o->sections & REPORT_THREADS) && ops->threads)
		ops->threads(&c);
	if ((o->sections & REPORT_STACKS) && ops->stacks)
		ops->stacks(&c);
	if ((o->sections & REPORT_TREE) && ops->tree)
		ops->tree(&c);
	if (ops->footer)
		ops->footer(&c);
}

#endif
