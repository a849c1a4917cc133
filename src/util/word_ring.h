/* word_ring.h - a bounded stream of 32-bit words from one thread to one
 * other (single producer, single consumer), for a pipeline of two stages.
 *
 * No lock on the hot path: the producer writes words into its slots and
 * publishes them in batches with a release store of its position; the
 * consumer reads up to the position it loaded with acquire, and gives the
 * slots back the same way. A side with nothing to do spins a little, then
 * sleeps on a futex until the other side moves: neither wastes a core the
 * machine's other work could use. The words a reader got are copies:
 * nothing the producer keeps is shared through the ring.
 */
#ifndef KILN_UTIL_WORD_RING_H
#define KILN_UTIL_WORD_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct word_ring {
	uint32_t *buf;
	uint64_t mask;    /* slots - 1 (a power of two) */
	uint64_t wake_at; /* words or slots ready that wake a sleeping side */
	/* the producer's: its position and what the consumer needs to wake it */
	_Alignas(64) _Atomic uint64_t tail; /* words published */
	_Atomic uint32_t tail_seq;          /* bumped when the tail moves and the consumer sleeps */
	_Atomic uint32_t reader_sleeps;
	_Atomic bool closed; /* no word will follow the tail */
	uint64_t put;        /* words written, published or not */
	uint64_t head_seen;  /* the consumer's position as last loaded */
	/* the consumer's */
	_Alignas(64) _Atomic uint64_t head; /* words given back */
	_Atomic uint32_t head_seq;          /* bumped when the head moves and the producer sleeps */
	_Atomic uint32_t writer_sleeps;
	uint64_t got;       /* words read, given back or not */
	uint64_t tail_seen; /* the producer's position as last loaded */
};

/* Makes r a ring of slots words (a power of two, at least 2). Returns 0 or
 * -ENOMEM. */
int word_ring_init(struct word_ring *r, size_t slots);
/* Frees r's slots; both sides must be done with it. Accepts a zeroed r. */
void word_ring_release(struct word_ring *r);

/* Producer: publishes the words written so far, waking the consumer if it
 * sleeps. */
void word_ring_publish(struct word_ring *r);
/* Producer: publishes and says that nothing follows; the consumer's
 * word_ring_get() returns false once it has read everything. */
void word_ring_close(struct word_ring *r);
/* Producer, slow path of word_ring_put(): publishes and waits for a slot. */
void word_ring_wait_room(struct word_ring *r);
/* Consumer: gives back the slots of the words read, waking the producer
 * if it waits for room. */
void word_ring_give(struct word_ring *r);
/* Consumer, slow path of word_ring_get(): gives back the words read and
 * waits for more; false when the ring is closed and all read. */
bool word_ring_wait_words(struct word_ring *r);

/* Producer: writes w, published with the next word_ring_publish() (or
 * at once when the ring is full). */
static inline void word_ring_put(struct word_ring *r, uint32_t w)
{
	if (r->put - r->head_seen > r->mask)
		word_ring_wait_room(r);
	r->buf[r->put & r->mask] = w;
	r->put++;
}

/* Producer: words written and not published yet. */
static inline uint64_t word_ring_pending(const struct word_ring *r)
{
	return r->put - atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Consumer: reads the next word into *w; false when the ring is closed
 * and every word was read. */
static inline bool word_ring_get(struct word_ring *r, uint32_t *w)
{
	if (r->got == r->tail_seen && !word_ring_wait_words(r))
		return false;
	*w = r->buf[r->got & r->mask];
	r->got++;
	/* slots go back in batches, so that a full ring's producer moves on */
	if (!(r->got & 1023))
		word_ring_give(r);
	return true;
}

#endif
