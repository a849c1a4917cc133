/* wake_filter.h - the tracepoint filter that keeps a cpu-wide wake-up
 * event (sched:sched_wakeup) to the target's threads.
 *
 * A wake-up fires in the waker's context: a timer, an interrupt or another
 * process wakes a target thread while something else runs, so only an
 * event of every thread of a cpu sees them all. Unfiltered it reads every
 * wake-up of the machine; filtered in the kernel on the woken thread's
 * `pid` field it reads those of the target's threads only.
 *
 * The filter names the known threads, a run of consecutive ids as one
 * range, and every thread id above the highest known ("pid >= 4321 ||
 * (pid >= 4300 && pid <= 4308) || pid == 4290"): a thread the target
 * starts gets a higher id (until ids wrap at pid_max), so its wake-ups
 * pass before the recorder has read its fork record. The kernel tests the
 * filter at every wake-up of the machine, so a short one costs less: the
 * threads a program starts together mostly have consecutive ids and make
 * one term. The kernel takes a filter shorter than a page (PAGE_SIZE,
 * 4096 bytes with the NUL: about 270 scattered thread ids, far more in
 * runs); past that the filter is the range from the lowest known id up,
 * which passes other processes' later threads too (the pairer drops
 * wake-ups of threads it never saw go off).
 */
#ifndef KILN_CAPTURE_WAKE_FILTER_H
#define KILN_CAPTURE_WAKE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"
#include "util/vec.h"

/* The longest filter the kernel takes: perf_event_set_filter() copies
 * at most a page with its NUL. */
#define WAKE_FILTER_MAX 4095

/* The target's live threads, by id, and what the last filter built
 * passes. The events are reopened only when a live thread would not pass
 * (each reopening is a perf_event_open, an enable and a close per cpu,
 * with their interrupts of the cpus the target runs on): a thread
 * started later mostly gets an id above the open end and passes as it
 * is, and one that ended may still pass (nothing wakes it), except after
 * the range fallback, which a shorter list may replace. */
struct wake_filter {
	VEC(uint32_t) tids;
	bool changed;  /* a live thread the last wake_filter_build() does not pass */
	bool built;    /* a filter was built */
	bool range;    /* the last one was the range fallback */
	uint32_t from; /* the last one passes every id from here up */
};

void wake_filter_init(struct wake_filter *f);
void wake_filter_release(struct wake_filter *f);
/* Adds a thread (a no-op when known); changed when the last filter built
 * does not pass it. */
void wake_filter_add(struct wake_filter *f, uint32_t tid);
/* Removes an exited thread (a no-op when unknown); changed only after
 * the range fallback. */
void wake_filter_remove(struct wake_filter *f, uint32_t tid);

/* Writes the filter into out (reset first; the ids are sorted) and clears
 * changed. Returns 0 for the exact list, 1 for the range fallback (too
 * many threads for WAKE_FILTER_MAX), -EINVAL with no thread. */
int wake_filter_build(struct wake_filter *f, struct strbuf *out);
/* The filter last built could not be set (the events keep an older one,
 * which may not pass what that build does): from now on every thread
 * added or removed sets changed, until a filter is built again. */
void wake_filter_refused(struct wake_filter *f);

#endif
