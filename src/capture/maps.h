/* maps.h - which file is mapped where in each sampled process, over time.
 *
 * Fed by MMAP2, FORK and exec COMM records (and /proc/PID/maps when
 * attaching); asked "what covers address A in process P at time T" for
 * every frame of every sample. Entries carry a time range so records from
 * different CPUs' rings may be handled slightly out of order.
 */
#ifndef KILN_CAPTURE_MAPS_H
#define KILN_CAPTURE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/maps_line.h"
#include "profile/profile.h"
#include "util/hashmap.h"
#include "util/vec.h"

struct maps_entry {
	uint64_t start, end;
	uint64_t t_start, t_end; /* valid for t_start <= t < t_end */
	uint32_t mapping;        /* profile mapping id */
};

struct process_maps {
	uint32_t pid;
	VEC(struct maps_entry) entries; /* sorted by start */
	uint32_t last_hit;
	VEC(uint64_t) execs; /* times of its exec COMM records, as read */
};

struct maps {
	struct profile *profile;
	VEC(struct process_maps *) procs;
	struct hashmap index; /* pid -> procs index */
};

void maps_init(struct maps *m, struct profile *p);
void maps_release(struct maps *m);

/* A new executable mapping in pid at time t; adds a profile mapping. */
void maps_add(struct maps *m, uint32_t pid, uint64_t t, uint64_t start, uint64_t len, uint64_t pgoff, const char *path,
              const char *build_id);
/* pid forked from ppid at time t: it starts with a copy of ppid's maps. */
void maps_fork(struct maps *m, uint32_t ppid, uint32_t pid, uint64_t t);
/* pid executed a new program at time t: the mappings made before end. */
void maps_exec(struct maps *m, uint32_t pid, uint64_t t);
/* The time of pid's last exec at or before t (0 when none is known). */
uint64_t maps_exec_before(struct maps *m, uint32_t pid, uint64_t t);
/* The time of pid's first exec after t (0 when none is known yet). */
uint64_t maps_exec_after(struct maps *m, uint32_t pid, uint64_t t);
/* Decodes one /proc/PID/maps line (capture/maps_line.h; no newline
 * needed); false unless it is a maps line of an executable mapping. */
bool maps_parse_line(const char *line, struct maps_line *out);

/* Reads /proc/PID/maps (executable mappings only), valid from time 0.
 * Returns 0 or -errno. */
int maps_load_proc(struct maps *m, uint32_t pid);
/* Sets live[id] for every profile mapping an entry names (live has one
 * flag per profile mapping). */
void maps_mark(const struct maps *m, uint8_t *live);
/* Renames every entry's profile mapping with map (old id -> new id, after
 * profile_compact()); entries whose mapping map drops go. */
void maps_remap(struct maps *m, const uint32_t *map);
/* Forgets the processes gone(ctx, pid) says are gone: a long-running
 * recorder of many short-lived children must not keep their maps. Returns
 * how many went. */
size_t maps_forget(struct maps *m, bool (*gone)(void *ctx, uint32_t pid), void *ctx);
/* The bytes m holds on the heap. */
size_t maps_bytes(const struct maps *m);
/* True when pid has any entry. */
int maps_known(const struct maps *m, uint32_t pid);

/* The entry covering addr in pid at time t, or NULL. */
const struct maps_entry *maps_find(struct maps *m, uint32_t pid, uint64_t t, uint64_t addr);

#endif
