/* folded_read.h - folded stacks ("main;run;leaf_a 123" per line, the format
 * of stackcollapse-perf.pl, flamegraph.pl, inferno and speedscope) read into
 * a profile, so every kiln view works on them.
 *
 * The profile has one value type, samples/count, one location per distinct
 * frame name (no addresses; each location has exactly one frame whose
 * function is the name) and one sample per distinct stack, its count the
 * sum of the stack's lines. Frames ending in "_[k]" are kernel frames.
 *
 * Counts are exact: each is a whole number (a fraction is rounded) of at
 * most FOLDED_MAX_COUNT, and so is their sum; anything larger is an error
 * naming the line, never a changed count. Reading streams a line at a time
 * (folded_reader_*): memory grows with distinct frames and stacks, not
 * with the input. profile/stack_input.h reads files and stdin.
 */
#ifndef KILN_PROFILE_FOLDED_READ_H
#define KILN_PROFILE_FOLDED_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

/* The largest count, and sum of counts: profile values are int64_t. */
#define FOLDED_MAX_COUNT INT64_MAX
/* The one value type of a profile read from text (folded stacks, perf
 * script): "samples", each line's count. */
#define FOLDED_VALUE_SAMPLES 0

/* Room for a line's excerpt in messages (see text_excerpt()). */
#define TEXT_EXCERPT_SIZE 96

struct folded_stats {
	uint64_t lines;                        /* stack lines read */
	uint64_t skipped;                      /* lines that were not "STACK COUNT" (blank lines are not counted) */
	uint64_t first_skipped_line;           /* 1-based number of the first skipped line, 0 when none */
	char first_skipped[TEXT_EXCERPT_SIZE]; /* its text (see text_excerpt()) */
	uint64_t error_line;                   /* with -EOVERFLOW or -ERANGE: the line, 1-based */
	char error_count[TEXT_EXCERPT_SIZE];   /* ...and its count as written */
};

/* Copies len bytes of s into out (cap bytes, NUL-terminated) for a message:
 * control bytes become '?', and text that does not fit ends in "...". */
void text_excerpt(char *out, size_t cap, const char *s, size_t len);

/* Parses one line of folded text (without its '\n'): returns 1 with the
 * length of the stack (the line's start up to the blanks before the count)
 * and the count, 0 for a blank line, -EINVAL for a line that is not
 * "STACK COUNT", or -EOVERFLOW for a count above FOLDED_MAX_COUNT. */
int folded_parse_line(const char *line, size_t len, size_t *stack_len, int64_t *count);

/* Whether data, the first size bytes of an input (all of it when eof),
 * looks like folded stacks: the first non-blank line is not indented and
 * ends in a count. Returns 1 or 0, or -EAGAIN when that line is not
 * complete yet (then give more bytes). */
int folded_sniff(const char *data, size_t size, bool eof);

/* Gets each stack line of folded text, in order, with its exact count:
 * what the readers build profiles from. stack is not NUL-terminated and is
 * only valid during the call. */
typedef void (*folded_line_fn)(void *ctx, const char *stack, size_t len, int64_t count);

/* A folded reader that is given one line at a time. With fn NULL, lines
 * build a profile; else every stack line goes to fn(ctx, ...). With
 * time_order (for flame charts), a line merges into the sample of the line
 * before when it has the same stack, not into any earlier one. */
struct folded_reader;
struct folded_reader *folded_reader_new(folded_line_fn fn, void *ctx, bool time_order);
/* Reads one line (without its '\n'). Returns 0, or -EOVERFLOW (a count
 * above FOLDED_MAX_COUNT) or -ERANGE (the counts add up past it), after
 * which the reader takes no more lines; the stats name the line. */
int folded_reader_line(struct folded_reader *r, const char *line, size_t len);
/* Ends the input and frees r. Returns 0 with the profile in *out (when fn
 * was NULL; the caller frees it, else *out is NULL), or -ENOMSG when no
 * line parsed. st (may be NULL) gets the stats. */
int folded_reader_finish(struct folded_reader *r, struct profile **out, struct folded_stats *st);
/* Frees r without a result (after an error), copying its stats into st
 * (may be NULL). Accepts NULL. */
void folded_reader_free(struct folded_reader *r, struct folded_stats *st);

/* Parses folded text in memory. Returns 0 and a new profile in *out (the
 * caller frees it), -ENOMSG when no line parsed, or a folded_reader_line()
 * error. st may be NULL. */
int folded_read_mem(const char *data, size_t size, struct profile **out, struct folded_stats *st);
/* Passes every stack line of data to fn. Returns as folded_read_mem(). */
int folded_scan_mem(const char *data, size_t size, folded_line_fn fn, void *ctx, struct folded_stats *st);

/* Locations named by frame (function, module, kernel or not) rather than by
 * address: what folded and perf script input produce. */
struct frame_namer {
	struct profile *p;
	struct keymap index; /* (name, module, kernel) -> location */
};

void frame_namer_init(struct frame_namer *n, struct profile *p);
void frame_namer_release(struct frame_namer *n);
/* Returns the location whose only frame is (name, module), adding it when new. */
uint32_t frame_namer_location(struct frame_namer *n, uint32_t name, uint32_t module, bool kernel);

#endif
