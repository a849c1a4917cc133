/* memcheck_errors.h - the agent's memcheck mode, kiln's side: collects the
 * heap errors the agents report (KH_REC_MEM_ERROR) and their counts
 * (KH_REC_MEM_STATS) from the channel, the blocks live at exit
 * (KH_REC_MEM_LIVE) with the leak scan's classes (the heap mode's
 * handshake: agent_channel_ops.live_blocks and leak_classes), and places every frame of their
 * stacks in the file that was mapped there (from the maps the process
 * sent), so a view can name it with the symbolizer after the process is
 * gone.
 */
#ifndef KILN_CAPTURE_MEMCHECK_ERRORS_H
#define KILN_CAPTURE_MEMCHECK_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/channel_format.h"
#include "capture/agent_channel.h"

/* A frame's place: path is NULL when no file was mapped there (or no maps
 * came). Strings live as long as the memcheck_errors. */
struct mc_frame {
	uint64_t addr;
	const char *path;
	uint64_t file_offset;
};

struct mc_error {
	struct kh_rec_mem_error rec; /* as the agent sent it; rec.h unused */
	uint32_t pid;
	uint32_t ring;           /* the channel's ring (one per process image) */
	struct mc_frame *frames; /* rec.n_access + rec.n_alloc + rec.n_free of them */
	int placed;              /* the frames were placed with the process's maps */
};

/* A block live when its process exited (KH_REC_MEM_LIVE) and the leak
 * scan's verdict on it. */
struct mc_leak {
	uint64_t addr, size;
	uint32_t tid, pid, ring;
	uint8_t cls;             /* enum kh_leak_class: KH_LEAK_UNKNOWN until the scan answered */
	int placed;              /* the frames were placed with the process's maps */
	uint32_t n_frames;       /* the allocation stack, innermost first */
	struct mc_frame *frames; /* n_frames of them */
};

/* The agents' counts, summed over processes. */
struct mc_stats {
	uint64_t guarded, unguarded, evicted;
	uint64_t over_limit, no_room; /* of unguarded: --max-guarded reached; no room or mapping */
	uint64_t max_guarded;         /* the largest limit a process had */
	uint64_t foreign_frees;       /* frees of the real allocator's blocks the agents looked at */
	uint32_t sample;              /* --sample's N (0, 1: all guarded) */
	uint32_t processes;           /* rings seen */
	uint32_t counted;             /* processes that sent their counts (they exited through the agent) */
	uint32_t scanned;             /* processes whose leak scan answered */
};

struct memcheck_errors;

struct memcheck_errors *memcheck_errors_new(void);
/* Accepts NULL. */
void memcheck_errors_free(struct memcheck_errors *m);
/* The callbacks to hand agent_channel_poll(); valid while m lives. */
const struct agent_channel_ops *memcheck_errors_ops(struct memcheck_errors *m);
/* The errors in the order they were read; valid until the next poll. */
size_t memcheck_errors_count(const struct memcheck_errors *m);
const struct mc_error *memcheck_errors_get(const struct memcheck_errors *m, size_t i);
void memcheck_errors_stats(const struct memcheck_errors *m, struct mc_stats *out);
/* The blocks live at exit, every class, in the order read; valid until
 * the next poll. */
size_t memcheck_errors_leaks(const struct memcheck_errors *m, const struct mc_leak **out);

/* The decoder of one error record's payload, for tests and fuzzing:
 * 0 when rec (size bytes in all) is a whole KH_REC_MEM_ERROR whose frame
 * counts fit its size, -EINVAL else. */
int memcheck_error_check(const struct kh_rec_header *rec);
/* The same for a KH_REC_MEM_LIVE record. */
int memcheck_live_check(const struct kh_rec_header *rec);

#endif
