/* folded_read.h - folded stacks ("main;run;leaf_a 123" per line, the format
 * of stackcollapse-perf.pl, flamegraph.pl, inferno and speedscope) read into
 * a profile, so every kiln view works on them.
 *
 * The profile has one value type, samples/count, and one location per
 * distinct frame name (no addresses): each location has exactly one frame
 * whose function is the name. Frames ending in "_[k]" are kernel frames.
 */
#ifndef KILN_PROFILE_FOLDED_READ_H
#define KILN_PROFILE_FOLDED_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct folded_stats {
	uint64_t lines;   /* stack lines read */
	uint64_t skipped; /* lines that were not "STACK COUNT" (blank lines are not counted) */
};

/* Parses folded text. Returns 0 and a new profile in *out (the caller frees
 * it), or -ENOMSG when no line parsed. st may be NULL. */
int folded_read_mem(const char *data, size_t size, struct profile **out, struct folded_stats *st);
/* The same for a file ("-" is stdin). Returns 0, -errno, or -ENOMSG. */
int folded_read_file(const char *path, struct profile **out, struct folded_stats *st);

/* Whether data looks like folded stacks: the first non-blank line ends in a
 * count and is not indented. */
bool folded_sniff(const char *data, size_t size);

/* Reads a whole file ("-" is stdin) into a NUL-terminated buffer the caller
 * frees. Returns 0 or -errno. */
int folded_slurp(const char *path, char **data, size_t *size);

/* Reads any stack input kiln understands: a .kiln file, folded stacks or
 * perf script output (told apart by their content). Returns 0 with a new
 * profile in *out and, when format is not NULL, "kiln", "folded" or "perf
 * script" in *format; or a kiln_read() error, -errno, or -ENOMSG when the
 * content is none of them. */
int folded_read_any(const char *path, struct profile **out, const char **format);

/* Parses one line of folded text (without its '\n'): returns 1 with the
 * length of the stack (the line's start up to the blanks before the count)
 * and the count, 0 for a blank line, or -EINVAL for a line that is not
 * "STACK COUNT". Counts are not clamped. */
int folded_parse_line(const char *line, size_t len, size_t *stack_len, int64_t *count);

/* Gets each stack line of folded text, in order, with its count clamped so
 * that the counts' sum stays below 2^62 (so possibly 0): what the readers
 * above build profiles from. stack is not NUL-terminated and is only valid
 * during the call. */
typedef void (*folded_line_fn)(void *ctx, const char *stack, size_t len, int64_t count);

/* Passes every stack line of data to fn. Returns 0, or -ENOMSG when no line
 * parsed. st may be NULL. */
int folded_scan_mem(const char *data, size_t size, folded_line_fn fn, void *ctx, struct folded_stats *st);

/* folded_read_any(), except that folded input is streamed to fn (when not
 * NULL) instead of being made into a profile: then *out is NULL, *format
 * "folded" and st (may be NULL) counts its lines. */
int folded_scan_any(const char *path, folded_line_fn fn, void *ctx, struct profile **out, const char **format,
                    struct folded_stats *st);

/* Locations named by frame (function, module, kernel or not) rather than by
 * address: what folded and perf script input produce. */
struct frame_namer {
	struct profile *p;
	struct hashmap index; /* hash(name, module, kernel) -> location */
};

void frame_namer_init(struct frame_namer *n, struct profile *p);
void frame_namer_release(struct frame_namer *n);
/* Returns the location whose only frame is (name, module), adding it when new. */
uint32_t frame_namer_location(struct frame_namer *n, uint32_t name, uint32_t module, bool kernel);

#endif
