/* offcpu.h - text and JSON of off-CPU findings: the reasons, the stacks
 * that blocked longest, and the worker pools (see analysis/pools.h).
 * Renderers append to a strbuf the caller owns. */
#ifndef KILN_RENDER_OFFCPU_H
#define KILN_RENDER_OFFCPU_H

#include <stddef.h>

#include "analysis/pools.h"
#include "profile/profile.h"
#include "util/strbuf.h"

/* Off-CPU time by reason, then the top stacks by blocked time (limit
 * rows; 0: all), each with its time, count and reason. */
void render_offcpu_text(struct strbuf *out, const struct profile *p, size_t limit);

/* Each pool and worker: busy, parked, blocked in tasks, runnable as shares
 * of wall time; the stacks that blocked workers inside tasks; and one
 * verdict sentence for an unhealthy pool. */
void render_pools_text(struct strbuf *out, const struct profile *p, const struct pools *ps, size_t limit);
void render_pools_json(struct strbuf *out, const struct profile *p, const struct pools *ps, size_t limit);

/* The verdict sentence of an unhealthy pool into out (nothing when it is
 * healthy). */
void render_pool_verdict(struct strbuf *out, const struct profile *p, const struct pool *pl);

#endif
