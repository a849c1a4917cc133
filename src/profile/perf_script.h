/* perf_script.h - `perf script` text output read into a profile, so users can
 * bring their perf.data along (kiln collapse, kiln flame).
 *
 * Each event is a header line ("comm pid/tid [cpu] time: period event:")
 * followed by indented callchain lines ("addr symbol+0xoff (module)"), leaf
 * first, and a blank line. As stackcollapse-perf.pl does, the process name
 * becomes the outermost frame; every event counts one sample. Locations are
 * named by frame (see frame_namer in folded_read.h); "[kernel.kallsyms]"
 * frames are kernel frames.
 */
#ifndef KILN_PROFILE_PERF_SCRIPT_H
#define KILN_PROFILE_PERF_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct perf_script_stats {
	uint64_t events;  /* headers read */
	uint64_t skipped; /* lines that were neither a header nor a frame */
};

/* Parses perf script text. Returns 0 and a new profile in *out (the caller
 * frees it), or -ENOMSG when no event was found. st may be NULL. */
int perf_script_read_mem(const char *data, size_t size, struct profile **out, struct perf_script_stats *st);

/* Whether data looks like perf script output: an unindented header line
 * followed by an indented line starting with a hex address. */
bool perf_script_sniff(const char *data, size_t size);

#endif
