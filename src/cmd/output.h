/* output.h - how every command writes a file without destroying one.
 *
 * Whatever kiln writes (a profile, an SVG, folded stacks, JSON) goes first
 * to a temporary file beside its target, in the same directory so that the
 * rename that puts it in place is atomic. Until then the user's file is
 * untouched: a command that cannot start, or a drawing that fails half way,
 * leaves it as it was.
 *
 * Profiles are written while the command runs and must survive kill -9, so
 * they are put in place as soon as the command has really started
 * (output_place): an existing profile moves to FILE.old, as perf does with
 * perf.data.old, and the writer keeps writing through its open descriptor.
 * A file that exists and is not a kiln profile is never replaced unless the
 * user forces it.
 *
 * Paths that are not regular files (stdout as "-", /dev/null, a pipe) are
 * written in place: there is nothing to rename and nothing to keep.
 */
#ifndef KILN_CMD_OUTPUT_H
#define KILN_CMD_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output {
	char *path;  /* the target, as the user named it */
	char *tmp;   /* the temporary file beside it; NULL once placed or when direct */
	char *old;   /* where the previous profile went (path.old), or NULL */
	FILE *f;     /* text outputs: the stream to write to */
	int fd;      /* text outputs: the descriptor under f */
	int err;     /* the first write error of f, as a positive errno */
	bool direct; /* written in place: stdout, a device, a pipe */
	bool is_stdout;
	bool placed; /* profiles: tmp has become path */
};

/* A profile output: refuses with -EEXIST when path exists, is a regular
 * file with data and does not start with kiln's magic (unless force);
 * else creates the temporary file. Write the profile to output_name(o).
 * Returns 0 or -errno; on error o needs no release. */
int output_open_profile(struct output *o, const char *path, bool force);
/* The file a profile writer opens: the temporary file, or path itself when
 * it is written in place. */
const char *output_name(const struct output *o);
/* The command has started: an existing file at path moves to path.old and
 * the temporary file becomes path. Returns 0 or -errno (then nothing moved). */
int output_place(struct output *o);
/* Nothing worth keeping was written: removes the new file (temporary or
 * placed) and puts path.old back where it was. */
void output_discard(struct output *o);

/* A text output ("-" is stdout): o->f writes to a temporary file that
 * output_commit() renames over path. Returns 0 or -errno. */
int output_open_text(struct output *o, const char *path);
/* Flushes and closes o->f and puts the file in place. Returns 0, or the
 * first write error as -errno (-ENOSPC for a full disk), having removed
 * the temporary file so the old one stays. */
int output_commit(struct output *o);

/* The whole of sb written to path ("-": stdout) as output_open_text()
 * and output_commit() do, so a failed write leaves the previous file
 * whole. Returns 0 or -errno; the caller says what went wrong. */
struct strbuf;
int output_write_text(const char *path, const struct strbuf *sb);

/* Frees o's names; closes and removes anything not committed or placed.
 * Accepts a zeroed o. */
void output_release(struct output *o);

#endif
