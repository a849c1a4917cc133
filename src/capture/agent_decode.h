/* agent_decode.h - the agent's ring records (agent/channel_format.h) as
 * events: the one place kiln reads the bytes a traced program writes into
 * its ring. The program owns that memory, so every record is untrusted:
 * each is checked against its type's size, stack records against the
 * trie received so far, and /proc maps text is parsed here
 * (maps_parse_line()) and handed on as mappings, never as text.
 *
 * An allocation whose stack comes one event late (KH_STACK_PENDING) is
 * held here and handed on with its stack: after the stack's new nodes,
 * when KH_REC_STACK_OF names it; with no stack (0) when anything else
 * comes first or the ring ends, unless the ring's pending frames give it.
 *
 * Nothing here allocates per record but the maps text being received and
 * a ring's small state; the caller owns the decoder and frees it with
 * agent_decoder_release().
 */
#ifndef KILN_CAPTURE_AGENT_DECODE_H
#define KILN_CAPTURE_AGENT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/channel_format.h"
#include "util/strbuf.h"
#include "util/vec.h"

enum agent_event_kind {
	AGENT_EV_PROCESS,   /* a new ring: pid, ppid, time (its start) */
	AGENT_EV_STACK,     /* new stack-trie nodes: first, parent, frames[nframes] (outermost first) */
	AGENT_EV_ALLOC,     /* time, addr, size, stack */
	AGENT_EV_FREE,      /* time, addr */
	AGENT_EV_REALLOC,   /* time, old_addr, addr, size, stack */
	AGENT_EV_MAPPINGS,  /* a complete copy of the executable file mappings: maps[nmaps] */
	AGENT_EV_EXEC,      /* the process is about to exec */
	AGENT_EV_FREERES,   /* at exit, libc frees its caches next */
	AGENT_EV_EXITING,   /* exit reached, the leak scan follows: time, max_rss_kb */
	AGENT_EV_EXIT,      /* the last record: time, max_rss_kb, untracked */
	AGENT_EV_ALLOCATOR, /* which allocator path the agent sees: allocator */
};

/* An executable file mapping of a process; path valid during the call. */
struct agent_mapping {
	uint64_t start, end, pgoff;
	const char *path;
};

/* One decoded event; the fields its kind names are set, the rest zero.
 * Pointers are valid during the callback only. */
struct agent_event {
	enum agent_event_kind kind;
	uint32_t pid, ppid;
	uint64_t time;
	uint64_t addr, old_addr, size;
	uint32_t stack;
	uint32_t first, parent, nframes;
	const uint64_t *frames;
	const struct agent_mapping *maps;
	size_t nmaps;
	uint64_t max_rss_kb;
	uint64_t untracked; /* calls the agent saw and could not record */
	struct agent_allocator {
		uint32_t path;   /* enum kh_alloc_path */
		uint32_t global; /* enum kh_global_alloc */
		uint32_t shim, methods;
		int32_t reason; /* a negative errno when refused */
		uint32_t candidates;
		uint64_t start_rss_kb;
	} allocator;
};

typedef void (*agent_event_fn)(void *ctx, uint32_t ring, const struct agent_event *ev);

struct agent_decode_ring {
	uint32_t nnodes; /* stack-trie nodes so far, the root included */
	bool holding;    /* an allocation waits for its stack */
	struct agent_event held;
	struct strbuf maps_in; /* maps text being received */
	VEC(struct agent_mapping) maps;
};

struct agent_decoder {
	VEC(struct agent_decode_ring) rings;
	agent_event_fn fn;
	void *ctx;
	uint64_t bad; /* records dropped as malformed */
};

void agent_decoder_init(struct agent_decoder *d, agent_event_fn fn, void *ctx);
void agent_decoder_release(struct agent_decoder *d);
/* A new ring (rings are numbered from 0 as they are found): its header,
 * the first size bytes of the ring file. */
void agent_decode_ring(struct agent_decoder *d, uint32_t ring, const void *header, size_t size);
/* One record of ring, size bytes (its header's size, checked by the
 * reader against what the ring holds). Malformed records are dropped and
 * counted in d->bad. */
void agent_decode_record(struct agent_decoder *d, uint32_t ring, const void *rec, size_t size);
/* The ring ends: an allocation still waiting for its stack is handed on,
 * with the stack of pending (the ring's first page, NULL when none) if it
 * holds one. */
void agent_decode_end(struct agent_decoder *d, uint32_t ring, const struct kh_pending *pending);

#endif
