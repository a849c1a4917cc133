/* pprof_read.h - reads a pprof profile (profile.proto, as go tool pprof,
 * Go's runtime/pprof, Parca, Pyroscope and kiln export write it; gzip-
 * compressed or raw) into a profile, so kiln's views show profiles from
 * elsewhere.
 *
 * The bytes are untrusted: every length is checked against what is left
 * (util/protobuf.h), every id and string index must name something in the
 * file, the uncompressed size is capped, and a cut or corrupt file is an
 * error that says what is wrong, never a crash.
 *
 * What comes in: sample types as value types (at most PROFILE_MAX_VALUES),
 * each Sample as one sample (its locations leaf first become a stack),
 * Locations with their Lines as frames (innermost first, all but the last
 * inlined), Functions' names and files, Mappings (the module of each
 * frame), the labels "thread"/"thread_name" (a string), "thread_id"/"tid"
 * and "pid" (numbers) as the sample's thread, time_nanos and
 * duration_nanos as start_time and duration_ns, a CPU period_type as the
 * sampling frequency, the first comment as the command, and the default
 * sample type (or pprof's default, the last) as default_value.
 */
#ifndef KILN_CAPTURE_PPROF_READ_H
#define KILN_CAPTURE_PPROF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

/* The most uncompressed bytes read by default: 1 GiB. */
#define PPROF_DEFAULT_MAX_BYTES (1ULL << 30)

struct pprof_read_info {
	bool gzip;       /* the file was gzip-compressed */
	uint64_t bytes;  /* uncompressed size of the message */
	char error[200]; /* with -EBADMSG or -EFBIG: what is wrong */
};

/* True when head (n bytes, the start of a file) looks like a pprof
 * profile: gzip's magic, or a raw message starting with one of
 * profile.proto's fields and holding the control bytes text never has. */
bool pprof_sniff(const void *head, size_t n);

/* Reads a pprof profile from data (size bytes), uncompressing it first
 * when it is gzip, reading at most max_bytes uncompressed (0: the
 * default). Returns 0 with a new profile in *out (the caller frees it),
 * or -EBADMSG (not a valid pprof profile; info->error says why), -EFBIG
 * (larger than max_bytes) or -ENOMEM. info may be NULL. */
int pprof_read_mem(const void *data, size_t size, uint64_t max_bytes, struct profile **out,
                   struct pprof_read_info *info);
/* The same for the file at path: also -errno when it cannot be read. */
int pprof_read_file(const char *path, uint64_t max_bytes, struct profile **out, struct pprof_read_info *info);

#endif
