/* kiln_file.h - the .kiln container: an append-only stream of checksummed,
 * zstd-compressed chunks that holds one profile (docs/file-format.md).
 *
 * The recorder writes as it goes: kiln_writer_flush() appends a chunk for
 * everything added to the profile since the last flush (strings, mappings,
 * threads, locations, stack nodes, samples, metadata), so a file cut short
 * by kill -9 still reads up to its last whole chunk. kiln_writer_finish()
 * appends the symbols (frames of every location), final thread and metadata
 * state and an end marker.
 */
#ifndef KILN_PROFILE_KILN_FILE_H
#define KILN_PROFILE_KILN_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct kiln_writer;

/* Creates (truncates) path and writes the file header. Returns 0 or -errno. */
int kiln_writer_open(struct kiln_writer **out, const char *path);
/* Appends what p gained since the last flush; cheap when nothing changed.
 * Returns 0 or -errno. */
int kiln_writer_flush(struct kiln_writer *w, const struct profile *p);
/* Flushes, then empties p->samples (profile_clear_samples): the samples
 * live in the file only, so a recording's memory does not grow with its
 * length. Later flushes and the finish go on from there. Returns 0 or
 * -errno (then p keeps the samples it had). */
int kiln_writer_stream(struct kiln_writer *w, struct profile *p);
/* Flushes, then writes symbols, final threads and metadata, and the end
 * chunk, and fsyncs. Returns 0 or -errno. */
int kiln_writer_finish(struct kiln_writer *w, const struct profile *p);
/* Closes the file (without finishing it) and frees w. Accepts NULL. */
void kiln_writer_free(struct kiln_writer *w);

struct kiln_read_info {
	uint32_t version;    /* format version of the file */
	bool complete;       /* the end chunk was read */
	bool truncated;      /* the file ended inside a chunk (cut short) */
	uint64_t chunks;     /* whole chunks read */
	uint64_t bad_offset; /* with -EBADMSG: where the damage starts */
};

/* Reads a whole profile, chunk by chunk: the header is checked from the
 * first bytes before anything else is read, and memory holds the profile
 * and one chunk, never the file. Returns 0, or:
 *   -ENOENT, -EACCES, ...   the file cannot be opened or read (errno)
 *   -EPROTO                 not a .kiln file (wrong magic)
 *   -EPROTONOSUPPORT        a perf.data file (its magic), not a .kiln file
 *   -ENOTSUP                written by a newer kiln than this one reads
 *   -EBADMSG                a checksum or structure error before any usable data
 * A file cut short returns 0 with info->truncated set and every whole chunk
 * applied; a corrupt chunk after good ones stops reading there the same way.
 * On success *out is a new profile the caller frees. info may be NULL. */
int kiln_read(const char *path, struct profile **out, struct kiln_read_info *info);
/* The same from memory (used by the fuzzer and tests). */
int kiln_read_mem(const void *data, size_t size, struct profile **out, struct kiln_read_info *info);
/* The same from a descriptor (a pipe too), read to its end; head holds the
 * nhead bytes already read from it (its first bytes; may be NULL, 0). The
 * caller closes fd. */
int kiln_read_fd(int fd, const void *head, size_t nhead, struct profile **out, struct kiln_read_info *info);

/* Whether buf (n bytes from the start of a file) begins with kiln's magic:
 * how a command tells a profile it may replace from a file it must not. */
bool kiln_has_magic(const void *buf, size_t n);

/* A short human description of a kiln_read error code. */
const char *kiln_read_strerror(int err);

#endif
