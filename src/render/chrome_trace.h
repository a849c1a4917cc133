/* chrome_trace.h - writes a profile as Trace Event Format JSON, the format
 * Perfetto (ui.perfetto.dev) and chrome://tracing open: one process per
 * pid and one lane per thread, named by "M" metadata events, and an "X"
 * complete event for every run of a thread's consecutive samples with the
 * same frame at the same depth (stack_events.h), so the lane shows the
 * thread's stack over time. Times are whole microseconds after the
 * profile's first sample (chrome_trace.c says why).
 */
#ifndef KILN_RENDER_CHROME_TRACE_H
#define KILN_RENDER_CHROME_TRACE_H

#include <stdio.h>

struct profile;

/* Writes p (its locations with frames: profile_name_unsymbolized()) to f.
 * Returns 0, -ENODATA when no sample has a time (a profile from folded
 * stacks, a heap profile: there is no timeline to draw), or -EIO. */
int chrome_trace_write(FILE *f, const struct profile *p);

#endif
