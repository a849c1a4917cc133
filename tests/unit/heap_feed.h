/* heap_feed.h - the agent's ring records into a heap analysis through the
 * decoder (capture/agent_decode.h) and cmd/heap_feed.c, as kiln heap does: for
 * the unit tests and the fuzz target, which build records by hand. One
 * decoder at a time, for the analysis last fed. */
#ifndef KILN_TESTS_HEAP_FEED_H
#define KILN_TESTS_HEAP_FEED_H

#include "analysis/heap.h"
#include "capture/agent_decode.h"
#include "cmd/heap_feed.h"

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
		agent_decoder_init(&feeder.d, heap_feed_event, h);
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
