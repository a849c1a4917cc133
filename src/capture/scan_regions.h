/* scan_regions.h - which mappings of a process the leak scan reads as
 * roots besides its modules and stacks, picked from /proc/PID/maps text
 * (the regions of the live image, src/agent/channel_format.h).
 *
 * memcheck scans every readable and writable mapping of the client but
 * its own heap; so does kiln: anonymous memory (pools mmap'ed by the
 * program: pymalloc's arenas, GCC's collected heap) and privately mapped
 * writable files. Left out: shared mappings (the channel's own files
 * among them), devices (reading one may hang; /dev/zero is memory), the
 * main stack (the agent scans it from its stack pointer), the brk heap
 * and glibc's other arena heaps, whose free chunks hold stale pointers
 * that memcheck never sees.
 */
#ifndef KILN_CAPTURE_SCAN_REGIONS_H
#define KILN_CAPTURE_SCAN_REGIONS_H

#include <stddef.h>

#include "agent/channel_format.h"
#include "util/vec.h"

/* glibc's non-main arena heaps: HEAP_MAX_SIZE on 64-bit, each reserved
 * whole and aligned to its size, the unused top PROT_NONE. */
#define SCAN_ARENA_HEAP_SIZE (64ull << 20)

struct scan_region {
	struct kh_live_region r;
	char *name; /* the mapping's path, NULL when anonymous; owned */
};
typedef VEC(struct scan_region) scan_region_vec;

/* Appends to out the regions to scan among the maps lines in text[0, len),
 * in address order. Lines that do not parse are skipped. */
void scan_regions_pick(const char *text, size_t len, scan_region_vec *out);
/* Reads /proc/PID/maps and picks from it. Returns 0 or -errno. */
int scan_regions_read(unsigned pid, scan_region_vec *out);
/* Frees the names and the array. Accepts an empty vector. */
void scan_regions_release(scan_region_vec *v);

#endif
