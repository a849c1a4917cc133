/* speedscope.h - writes a profile as speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json): the frames shared
 * by every profile, one "sampled" profile per thread (each sample's stack
 * root first, weighted by one value type) and, for threads whose samples
 * have times, an "evented" profile of the same thread over time (frames
 * open and close as consecutive samples change, see stack_events.h).
 */
#ifndef KILN_RENDER_SPEEDSCOPE_H
#define KILN_RENDER_SPEEDSCOPE_H

#include <stddef.h>
#include <stdio.h>

struct profile;

struct speedscope_options {
	size_t value;         /* the value type the sampled profiles weigh by */
	const char *name;     /* the file's name in speedscope's title; NULL: "kiln" */
	const char *exporter; /* e.g. "kiln 0.9"; NULL: "kiln" */
};

/* Writes p (its locations with frames: profile_name_unsymbolized()) to f.
 * Returns 0, -EINVAL for a value index p does not have, or -EIO. The
 * active profile is the busiest thread's sampled profile. */
int speedscope_write(FILE *f, const struct profile *p, const struct speedscope_options *o);

/* speedscope's unit for a kiln value unit: "nanoseconds", "bytes", ...,
 * "none" for counts and units it does not know. */
const char *speedscope_unit(const char *unit);

#endif
