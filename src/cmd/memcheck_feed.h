/* memcheck_feed.h - hands what the channel collected for kiln memcheck
 * (capture/memcheck_errors.h) to its report (analysis/memcheck_report.h),
 * so the analysis never sees the channel's records. */
#ifndef KILN_CMD_MEMCHECK_FEED_H
#define KILN_CMD_MEMCHECK_FEED_H

#include "analysis/memcheck_report.h"
#include "capture/memcheck_errors.h"

/* Adds m's errors and classified leaks to r and returns the agents'
 * counts for mc_report_finish(). m must outlive the finish. */
struct mc_counts memcheck_feed(struct mc_report *r, const struct memcheck_errors *m);

#endif
