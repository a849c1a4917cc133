/* lost_hint.h - what the samples the kernel dropped leave out of a profile:
 * how many, on which cpu's ring and over which interval, which threads,
 * and what to do about it; for record's summary and the report header. */
#ifndef KILN_RENDER_LOST_HINT_H
#define KILN_RENDER_LOST_HINT_H

#include "profile/profile.h"
#include "util/strbuf.h"

/* Appends one sentence (no newline, no "warning:") from the profile's
 * "lost_samples", "lost_intervals", "lost_threads" and "reader_priority"
 * metadata, with kept the samples the profile holds; appends nothing when
 * none were lost.
 * "lost_intervals" is CPU:FROM_NS:TO_NS:COUNT,... with times after the
 * start of the recording; "lost_threads" is TID:COUNT,... */
void render_lost_hint(const struct profile *p, uint64_t kept, struct strbuf *out);

#endif
