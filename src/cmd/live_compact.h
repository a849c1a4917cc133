/* live_compact.h - what kiln serve and kiln top, which record into one
 * profile for as long as they run, keep when they compact it
 * (profile_compact.h) besides the stacks their samples hold: the mappings
 * their recorders' address maps still name, and the threads that have a
 * sample or still run (their names serve the samples they take next).
 * The recorders forget processes and threads gone first. */
#ifndef KILN_CMD_LIVE_COMPACT_H
#define KILN_CMD_LIVE_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recorder.h"
#include "profile/profile.h"
#include "util/hashmap.h"

/* What one compaction of a profile takes (profile_compact()): the keep
 * flags of its stacks, mappings and threads, zeroed, and the maps of
 * their old ids to new. */
struct live_keep {
	uint8_t *ks, *km, *kt;
	uint32_t *smap, *mmap;
};

void live_keep_init(struct live_keep *k, const struct profile *p);
void live_keep_release(struct live_keep *k);

/* Whether process pid has ended (gone, or a zombie). */
bool live_proc_gone(pid_t pid);

/* r forgets the processes and threads gone (adding how many to *procs
 * and *threads) and marks the mappings its maps name in km (one flag per
 * profile mapping). */
void live_compact_recorder(struct recorder *r, uint8_t *km, uint64_t *procs, uint64_t *threads);

/* kt (one flag per profile thread): the threads with a tid in tids (any
 * value) or still running. */
void live_compact_threads(const struct profile *p, const struct hashmap *tids, uint8_t *kt);

#endif
