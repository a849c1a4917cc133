/* stack_input.h - any stack input kiln flame and kiln collapse read: a
 * .kiln profile, folded stacks or perf script text, from a file or stdin.
 *
 * The format is told from the first bytes (and, for text, its first whole
 * lines), before anything else is read: other binary files (perf.data,
 * /dev/zero, /dev/urandom, a sparse file of zeros) are rejected at once.
 * Text is streamed a line at a time and a .kiln file a chunk at a time, so
 * memory grows with the distinct stacks and frames, not with the input; a
 * line longer than max_line_bytes or an input longer than max_input_bytes
 * stops the read with an error that says which.
 */
#ifndef KILN_PROFILE_STACK_INPUT_H
#define KILN_PROFILE_STACK_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "profile/folded_read.h"
#include "profile/kiln_file.h"
#include "profile/profile.h"

enum stack_format {
	STACK_FORMAT_UNKNOWN = 0,
	STACK_FORMAT_KILN,
	STACK_FORMAT_FOLDED,
	STACK_FORMAT_PERF_SCRIPT,
	STACK_FORMAT_PERF_DATA, /* recognised to say what to do with it, never read */
};

/* Generous for C++ and Rust names, which reach hundreds of KiB. */
#define STACK_INPUT_DEFAULT_MAX_LINE (16ull << 20)

struct stack_input_limits {
	uint64_t max_line_bytes;  /* longest line of text; 0: STACK_INPUT_DEFAULT_MAX_LINE */
	uint64_t max_input_bytes; /* most bytes of text read; 0: no limit */
	size_t read_size;         /* bytes per read(2); 0: 1 MiB, and a regular file is mapped
	                           * 4 MiB at a time instead (tests use small ones) */
	bool time_order;          /* text for a flame chart: merge only repeats of the sample
	                           * before (see folded_reader_new()), so memory grows with them */
};

struct stack_input_info {
	enum stack_format format;
	uint64_t bytes;                        /* bytes read */
	uint64_t records;                      /* folded stack lines or perf script events */
	uint64_t skipped;                      /* malformed lines skipped */
	uint64_t first_skipped_line;           /* 1-based, 0 when none */
	char first_skipped[TEXT_EXCERPT_SIZE]; /* its text, see text_excerpt() */
	uint64_t error_line;                   /* the line an error is about, 1-based, 0 when none */
	char error_count[TEXT_EXCERPT_SIZE];   /* with -EOVERFLOW or -ERANGE: the count */
	struct kiln_read_info kiln;            /* .kiln input: cut short or not */
};

/* Tells the format of an input from data, its first size bytes (all of it
 * when eof). Returns a stack_format, or -EAGAIN when more bytes are needed
 * (a first line not complete yet). Binary data (a NUL byte, or control
 * bytes in more than 1 of 64 bytes) is STACK_FORMAT_UNKNOWN. */
int stack_format_sniff(const char *data, size_t size, bool eof);

/* "kiln", "folded", "perf script", "perf.data" or "unknown". */
const char *stack_format_name(enum stack_format f);

/* Reads path ("-" is stdin) as stack_input_read_fd() does. */
int stack_input_read(const char *path, const struct stack_input_limits *lim, folded_line_fn fn, void *ctx,
                     struct profile **out, struct stack_input_info *info);

/* Reads fd to its end (the caller closes it). Returns 0 with a new profile
 * in *out (the caller frees it), or, when fn is not NULL and the input is
 * folded stacks, with each stack line passed to fn(ctx, ...) and *out
 * NULL. Errors:
 *   -errno                  the input cannot be read
 *   -ENOMSG                 not a .kiln profile, folded stacks or perf script output
 *   -EPROTONOSUPPORT        a perf.data file
 *   -E2BIG                  a line longer than max_line_bytes (info->error_line)
 *   -EFBIG                  more than max_input_bytes of text
 *   -ESTALE                 a regular file got shorter while it was read
 *                           (another process truncated it; a mapped read
 *                           would have died of SIGBUS)
 *   -EOVERFLOW, -ERANGE     a folded count, or their sum, above FOLDED_MAX_COUNT
 *                           (info->error_line, info->error_count)
 *   a kiln_read() error     for a .kiln input (info->format says so)
 * info (may be NULL) gets the format and counts, also on errors. */
int stack_input_read_fd(int fd, const struct stack_input_limits *lim, folded_line_fn fn, void *ctx,
                        struct profile **out, struct stack_input_info *info);

#endif
