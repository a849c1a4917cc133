/* perf_script.h - `perf script` text output read into a profile, so users can
 * bring their perf.data along (kiln collapse, kiln flame).
 *
 * Each event is a header line ("comm pid/tid [cpu] time: period event:")
 * followed by indented callchain lines ("addr symbol+0xoff (module)"), leaf
 * first, and a blank line. As stackcollapse-perf.pl does, the process name
 * becomes the outermost frame; every event counts one. Locations are
 * named by frame (see frame_namer in folded_read.h); "[kernel.kallsyms]"
 * frames are kernel frames.
 */
#ifndef KILN_PROFILE_PERF_SCRIPT_H
#define KILN_PROFILE_PERF_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

#include "profile/folded_read.h"

struct perf_script_stats {
	uint64_t events;                       /* headers read */
	uint64_t skipped;                      /* lines that were neither a header nor a frame */
	uint64_t first_skipped_line;           /* 1-based number of the first skipped line, 0 when none */
	char first_skipped[TEXT_EXCERPT_SIZE]; /* its text (see text_excerpt()) */
};

/* A reader given one line at a time (so a file is streamed: memory grows
 * with distinct frames and stacks, not with the input). The events of one
 * stack in one thread become one sample (count summed, the first time
 * kept); with time_order (for flame charts) only a thread's consecutive
 * events of one stack at the same time do, so each keeps its time. */
struct perf_script_reader;
struct perf_script_reader *perf_script_reader_new(bool time_order);
/* Reads one line, without its '\n'. */
void perf_script_reader_line(struct perf_script_reader *r, const char *line, size_t len);
/* Ends the input and frees r. Returns 0 and a new profile in *out (the
 * caller frees it), or -ENOMSG when no event was found. st may be NULL. */
int perf_script_reader_finish(struct perf_script_reader *r, struct profile **out, struct perf_script_stats *st);

/* Parses perf script text in memory, as the reader above does. */
int perf_script_read_mem(const char *data, size_t size, struct profile **out, struct perf_script_stats *st);

/* Whether data, the first size bytes of an input (all of it when eof),
 * looks like perf script output: after blank and '#' lines, an unindented
 * header line followed by an indented line starting with a hex address.
 * Returns 1 or 0, or -EAGAIN when those lines are not complete yet. */
int perf_script_sniff(const char *data, size_t size, bool eof);

#endif
