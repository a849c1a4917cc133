/* segment.h - kiln serve's directory of .kiln segments: one file per
 * interval, named by when it started, so that `ls` sorts them in time
 * order and `kiln report` opens any of them (the open one as cut short).
 * Old segments go when they are older than the retention, and the oldest
 * go first while the directory is over its byte budget.
 */
#ifndef KILN_PROFILE_SEGMENT_H
#define KILN_PROFILE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_PREFIX "kiln-serve-"
#define SEGMENT_SUFFIX ".kiln"

struct segment_dir_stats {
	uint64_t files;   /* segments in the directory, the open one included */
	uint64_t bytes;   /* their size */
	uint64_t removed; /* removed by retention or the budget since segment_dir_init() */
};

struct segment_dir {
	char *dir;
	uint64_t retention_ns; /* 0: kept until the budget needs the room */
	uint64_t max_bytes;    /* 0: no budget */
	uint64_t removed;
};

/* Makes dir (and its parents) when missing. Returns 0 or -errno. */
int segment_dir_init(struct segment_dir *sd, const char *dir, uint64_t retention_ns, uint64_t max_bytes);
void segment_dir_release(struct segment_dir *sd);
/* The path of a segment started at wall_ns (CLOCK_REALTIME) with number
 * seq: malloc'ed, the caller frees it. */
char *segment_dir_path(const struct segment_dir *sd, uint64_t wall_ns, uint64_t seq);
/* Removes segments last written before now_wall_ns - retention, then the
 * oldest while the total is over the budget; never keep (the open
 * segment, may be NULL). Fills st (may be NULL) with what is left.
 * Returns how many were removed, or -errno when the directory cannot be
 * read. */
int segment_dir_prune(struct segment_dir *sd, uint64_t now_wall_ns, const char *keep, struct segment_dir_stats *st);

#endif
