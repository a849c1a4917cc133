/* qemu_count.h - reads what libkiln-qemu.so wrote for one process
 * (capture/qemu_format.h) into a profile: one sample per instruction and
 * call path, the call path's frames being the call instructions, root
 * first, and the leaf the instruction itself. Its values are the
 * instruction's executions and, from kiln cache, its simulated events.
 */
#ifndef KILN_CAPTURE_QEMU_COUNT_H
#define KILN_CAPTURE_QEMU_COUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/qemu_format.h"

struct profile;

/* Event 0 is the instructions (Ir); event 1 + k is enum kq_cache_event k;
 * the last, QEMU_COUNT_CALLS, the calls that entered a function (charged
 * to its entry instruction under the path the call made). */
#define QEMU_COUNT_CALLS  (1 + KQ_CACHE_EVENTS)
#define QEMU_COUNT_EVENTS (2 + KQ_CACHE_EVENTS)

struct qemu_count_info {
	int pid, ppid;
	bool complete;                      /* the process wrote "end": it exited through qemu */
	bool cache;                         /* the file has cache events */
	unsigned geometry[9];               /* I1, D1, LL: size, assoc, line */
	char exec_path[4096];               /* "" unless the process exec'ed (outside qemu) */
	uint64_t totals[QEMU_COUNT_EVENTS]; /* every event summed over the process */
};

/* Reads path and adds its samples to p: event i adds into value index
 * value_of[i] of each sample (-1: not kept; two events may share one
 * value). p's mappings gain the process's guest mappings, so that
 * symbols_resolve_profile() names the locations. Returns 0, -errno when
 * the file cannot be read, or -EPROTO when it is not one of the plugin's
 * files or is malformed (a line with ids it has not defined). */
int qemu_count_add(struct profile *p, const char *path, const int value_of[QEMU_COUNT_EVENTS],
                   struct qemu_count_info *info);
/* The same from an open stream (the fuzzer's memory); the caller closes f. */
int qemu_count_add_stream(struct profile *p, FILE *f, const int value_of[QEMU_COUNT_EVENTS],
                          struct qemu_count_info *info);

/* One "t" line of the plugin's feed (qemu_format.h): a block's
 * instructions as offsets in the file path (pointing into the line). */
struct qemu_feed_block {
	uint64_t offset[512]; /* of each instruction */
	uint32_t n;
	const char *path;
	size_t path_len;
};

/* Parses one feed line of len bytes (no newline); 0, or -EPROTO when it is
 * not a well-formed "t" line. */
int qemu_feed_parse(const char *line, size_t len, struct qemu_feed_block *b);

/* The addresses in a DIR/PID.last file (qemu_format.h): each thread's
 * last translated block's last instruction, up to max into pcs. Returns how
 * many, or -errno. */
int qemu_count_last(const char *path, uint64_t *pcs, size_t max);

#endif
