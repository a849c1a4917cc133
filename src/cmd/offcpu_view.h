/* offcpu_view.h - the off-CPU and pool views that `kiln offcpu` prints
 * after recording and `kiln report --pools` prints for any off-CPU or
 * --wall profile. */
#ifndef KILN_CMD_OFFCPU_VIEW_H
#define KILN_CMD_OFFCPU_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"
#include "util/strbuf.h"

#define OFFCPU_MAX_PARK 32 /* --park-frame patterns */

struct offcpu_view_args {
	const char *park[OFFCPU_MAX_PARK]; /* --park-frame regexes */
	size_t npark;
	bool json;
	bool reasons; /* text: the reasons and top stacks before the pools */
	size_t limit; /* stack rows; 0: all */
};

/* Takes one --park-frame value; 0, or 2 after saying what is wrong. */
int offcpu_view_park_option(struct offcpu_view_args *v, const char *regex);

/* Appends the view of p (read from path) to out. Returns 0, or the exit
 * status after saying what went wrong (p has no off-CPU values). */
int offcpu_view(const struct offcpu_view_args *v, const struct profile *p, const char *path, struct strbuf *out);

/* Draws the timeline of p (pools grouped by v's park frames) to path, "-"
 * for stdout. Returns 0, or the exit status after saying what went wrong. */
int offcpu_write_timeline(const struct offcpu_view_args *v, const struct profile *p, const char *src, const char *path);

#endif
