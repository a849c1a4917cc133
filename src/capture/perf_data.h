/* perf_data.h - reads a perf.data file (what `perf record` writes, magic
 * "PERFILE2") into a profile, as if kiln had recorded it.
 *
 * The file is untrusted: every offset and size is checked against the file
 * and the section it lies in, and a corrupt or cut file is an error that
 * says where, never a crash. The header, the attrs section (perf_event_attr
 * and sample ids) and the feature sections read (build-ids, hostname,
 * kernel release, command line, event names) are small and bounded; the
 * data section is read through one window of a few MiB, so memory grows
 * with the distinct stacks, not with the file.
 *
 * Records go through the recorder's own sample path (recorder_feed() and
 * recorder_feed_sample(), in replay mode): frame-pointer call chains as recorded, DWARF samples'
 * register and stack copies unwound by kiln's unwinder, mappings from
 * MMAP/MMAP2, threads from COMM/FORK/EXIT, losses from LOST; COMPRESSED
 * records (perf record -z) are decompressed a round at a time. Within each
 * round (FINISHED_ROUND) side-band records go before samples, as perf
 * orders them. Binaries are looked up at their recorded path when their
 * build-id matches the file's HEADER_BUILD_ID, else in perf's cache
 * (~/.debug/.build-id/xx/rest/elf). Names are not resolved here: the
 * caller symbolizes the profile (kernel frames only when info->same_machine,
 * from info->kallsyms when perf cached the kernel's symbols; otherwise they
 * are named [kernel.kallsyms]+0xADDR here).
 */
#ifndef KILN_CAPTURE_PERF_DATA_H
#define KILN_CAPTURE_PERF_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/recorder.h"
#include "profile/profile.h"

struct perf_data_info {
	char event[128];        /* the event read (the file's first one that is not a dummy) */
	bool dwarf;             /* DWARF call chains (register and stack copies) */
	bool same_machine;      /* recorded on this host, kernel release and boot */
	bool kernel_moved;      /* ... but the kernel was elsewhere (another boot, KASLR) */
	bool cut_short;         /* perf record did not finish the file (data size 0) */
	uint32_t events;        /* events (attrs) in the file */
	uint64_t other_samples; /* samples of other events, not read */
	uint64_t skipped;       /* samples or records too malformed to use */
	uint64_t build_ids;     /* binaries named in HEADER_BUILD_ID */
	uint64_t from_cache;    /* mapped files read from ~/.debug/.build-id */
	/* perf's copy of the kernel's symbols when it recorded (its build-id
	 * cache, same machine only), "" when none: for the caller's symbolizer */
	char kallsyms[4200];
	struct recorder_stats st;
	/* with -EBADMSG or -EPROTONOSUPPORT: what is wrong, and where */
	uint64_t error_offset;
	char error[160];
};

/* True when head (n bytes) starts like a perf.data file, in any of its
 * variants (also those perf_data_read_*() refuse: pipe mode, the other
 * byte order, the first version). */
bool perf_data_sniff(const void *head, size_t n);

/* Reads the perf.data file open on fd with pread (the file position is
 * not used or moved). Returns 0 with a new profile in *out (the caller
 * frees it), or:
 *   -ENOMSG           not a perf.data file
 *   -EPROTONOSUPPORT  a perf.data variant not read (info->error says which)
 *   -EBADMSG          corrupt or cut short (info->error, info->error_offset)
 *   -ESPIPE           fd is a pipe (perf.data is read by offset)
 *   -errno            a read error
 * info (may be NULL) is filled also on errors, as far as reading got. */
int perf_data_read_fd(int fd, struct profile **out, struct perf_data_info *info);
/* The same for a file held in memory (size bytes at data); for tests and
 * fuzzing. */
int perf_data_read_mem(const void *data, size_t size, struct profile **out, struct perf_data_info *info);

#endif
