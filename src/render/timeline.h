/* timeline.h - a per-thread timeline of an off-CPU or --wall profile as
 * one self-contained SVG: a lane per thread (the threads of a pool next
 * to each other, under the pool's name), on the cpu or unknown in the
 * lane's colour, off the cpu in the colour of the reason (runnable:
 * preempted), each interval with its stack on hover; the mouse wheel
 * zooms the time axis, dragging pans, a double click resets.
 *
 * Each off-CPU rect carries class "off", data-reason and data-ns (its
 * length); each lane's group carries data-tid and data-name, so scripts
 * can add them up.
 */
#ifndef KILN_RENDER_TIMELINE_H
#define KILN_RENDER_TIMELINE_H

#include "analysis/pools.h"
#include "profile/profile.h"
#include "util/strbuf.h"

/* Appends the SVG to out; ps (may be NULL) groups the lanes by pool.
 * Returns 0, or -ENOENT when p has no off-CPU values. */
int render_timeline_svg(struct strbuf *out, const struct profile *p, const struct pools *ps);

#endif
