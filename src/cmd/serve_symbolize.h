/* serve_symbolize.h - kiln serve's symbolizer thread: names the locations
 * the recorders add, shortly after they first appear, so that no HTTP
 * request waits on a symbol table. The loop hands over copies of its new
 * locations (with their mappings) and later copies the names back into its
 * profile; the thread never sees the loop's profile. The symbolizer (its
 * caches keyed by build-id, bounded) is shared with the segment closer
 * under its own lock, which the loop never takes. */
#ifndef KILN_CMD_SERVE_SYMBOLIZE_H
#define KILN_CMD_SERVE_SYMBOLIZE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "symbols/symbols.h"

/* The symbol cache's bound: modules (binaries and libraries, by build-id)
 * held at once; the least recently used beyond it are freed. */
#define SERVE_SYMBOL_MODULES 256

struct serve_sym_batch;

struct serve_symbols {
	pthread_t thread;
	bool inited, started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	struct serve_sym_batch *todo, *done; /* lists, oldest first */
	bool stop;
	struct symbolizer_stats stats; /* the symbolizer's, as of its last use */
	/* the symbolizer, under sym_lock: the thread's and the closer's */
	pthread_mutex_t sym_lock;
	struct symbolizer *sym;
	/* the thread's own */
	const char *gate; /* KILN_TEST_SERVE_SYMBOLIZE_GATE: a FIFO the first batch waits on for a line */
	/* the loop's own */
	uint64_t generation; /* location ids sent before a compaction name nothing after it */
	size_t sent;         /* the loop's locations below this index were sent */
	uint64_t pending;    /* locations sent and not yet named in the loop's profile */
};

/* Starts the thread; 0 or -errno. */
int serve_symbols_start(struct serve_symbols *ss);
/* Sends the locations p gained since the last call (without frames) to be
 * named. Never waits on the thread. */
void serve_symbols_send(struct serve_symbols *ss, struct profile *p);
/* Copies into p the names the thread found (and the build-ids it read for
 * mappings that had none). Never waits on the thread. */
void serve_symbols_apply(struct serve_symbols *ss, struct profile *p);
/* p's location and mapping ids were renamed (a compaction): what is on its
 * way is dropped, and the locations still without frames are sent again
 * (the caches answer them). */
void serve_symbols_renamed(struct serve_symbols *ss);
/* Names the locations of p that have none, with the shared caches, on the
 * caller's thread (the closer's: it waits for the lock). */
void serve_symbols_resolve(struct serve_symbols *ss, struct profile *p);
/* The cache's counts, as of its last use; never waits on a lookup. */
void serve_symbols_get_stats(struct serve_symbols *ss, struct symbolizer_stats *st);
/* Ends the thread and frees everything. Accepts one never started. */
void serve_symbols_release(struct serve_symbols *ss);

#endif
