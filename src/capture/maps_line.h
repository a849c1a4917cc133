/* maps_line.h - the one decoder of a /proc/PID/maps line, shared by kiln
 * (capture/maps.c), libkiln-agent.so (agent_maps.c) and libkiln-qemu.so
 * (kiln_qemu.c): allocation-free, no stdio, no locale, async-signal-safe
 * (kiln_decode, CMakeLists.txt).
 *
 *   start-end perms offset dev inode [path]
 *   7f12a000-7f12c000 r-xp 00002000 08:01 1234    /usr/lib/libc.so.6
 */
#ifndef KILN_CAPTURE_MAPS_LINE_H
#define KILN_CAPTURE_MAPS_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct maps_line {
	uint64_t start, end, pgoff;
	uint64_t inode;  /* 0 for anonymous memory */
	char perms[4];   /* "r-xp" */
	size_t path_at;  /* where the path starts in the line; 0 when it has none */
	size_t path_len; /* its length, up to the newline or the line's end */
	size_t next;     /* where the next line starts (past the newline), or len */
};

/* Decodes the line at text[0..len) (a newline, if any, ends it). False
 * when it is not a maps line; out->next is set either way, so a caller
 * walks a whole buffer line by line. */
bool maps_line_parse(const char *text, size_t len, struct maps_line *out);

/* True for a mapping of executable code (perms "..x."). */
static inline bool maps_line_exec(const struct maps_line *l)
{
	return l->perms[2] == 'x';
}

#endif
