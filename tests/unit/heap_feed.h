/* heap_feed.h - the agent's ring records into a heap analysis through the
 * decoder (capture/agent_decode.h), wired as cmd/heap.c wires them: for
 * the unit tests and the fuzz target, which build records by hand. One
 * decoder at a time, for the analysis last fed. */
#ifndef KILN_TESTS_HEAP_FEED_H
#define KILN_TESTS_HEAP_FEED_H

#include "analysis/heap.h"
#include "capture/agent_decode.h"

static void feed_event(void *ctx, uint32_t ring, const struct agent_event *ev)
{
	struct heap_analysis *h = ctx;
	switch (ev->kind) {
	case AGENT_EV_PROCESS:
		heap_on_process(h, ring, ev->pid, ev->ppid, ev->time);
		break;
	case AGENT_EV_STACK:
		heap_on_stack(h, ring, ev->first, ev->parent, ev->frames, ev->nframes);
		break;
	case AGENT_EV_ALLOC:
		heap_on_alloc(h, ring, ev->time, ev->addr, ev->size, ev->stack);
		break;
	case AGENT_EV_FREE:
		heap_on_free(h, ring, ev->time, ev->addr);
		break;
	case AGENT_EV_REALLOC:
		heap_on_realloc(h, ring, ev->time, ev->old_addr, ev->addr, ev->size, ev->stack);
		break;
	case AGENT_EV_MAPPINGS:
		for (size_t i = 0; i < ev->nmaps; i++) {
			struct heap_mapping m = {ev->maps[i].start, ev->maps[i].end, ev->maps[i].pgoff,
			                         ev->maps[i].path};
			heap_on_mappings(h, ring, &m, 1);
		}
		break;
	case AGENT_EV_EXEC:
		heap_on_exec(h, ring);
		break;
	case AGENT_EV_FREERES:
		heap_on_freeres(h, ring);
		break;
	case AGENT_EV_EXITING:
	case AGENT_EV_EXIT:
		heap_on_exit(h, ring, ev->time, ev->max_rss_kb, ev->kind == AGENT_EV_EXIT, ev->untracked);
		break;
	}
}

static struct {
	struct heap_analysis *h;
	struct agent_decoder d;
} feeder;

/* The decoder of h, a new one when h is not the analysis last fed. */
static inline struct agent_decoder *feed_decoder(struct heap_analysis *h)
{
	if (feeder.h != h) {
		if (feeder.h)
			agent_decoder_release(&feeder.d);
		agent_decoder_init(&feeder.d, feed_event, h);
		feeder.h = h;
	}
	return &feeder.d;
}

static inline void feed_ring(struct heap_analysis *h, uint32_t ring, const struct kh_ring_header *rh)
{
	agent_decode_ring(feed_decoder(h), ring, rh, sizeof(*rh));
}

static inline void feed_record(struct heap_analysis *h, uint32_t ring, const struct kh_rec_header *rec)
{
	agent_decode_record(feed_decoder(h), ring, rec, rec->size);
}

/* The ring ends with these pending frames (the ring's first page). */
static inline void feed_pending(struct heap_analysis *h, uint32_t ring, const struct kh_pending *pending)
{
	agent_decode_end(feed_decoder(h), ring, pending);
}

static inline void feed_end(struct heap_analysis *h, uint32_t ring, bool clean)
{
	agent_decode_end(feed_decoder(h), ring, NULL);
	heap_on_ring_end(h, ring, clean);
}

/* Forgets the decoder (before h is freed). */
static inline void feed_done(void)
{
	if (feeder.h)
		agent_decoder_release(&feeder.d);
	feeder.h = NULL;
}

#endif
