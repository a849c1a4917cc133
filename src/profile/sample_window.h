/* sample_window.h - the last few minutes of samples in memory, for kiln
 * serve's views: a ring that grows as samples arrive, up to a limit the
 * caller sets from its memory budget. A sample that arrives while the ring
 * is full of samples still inside the window and may not grow is dropped
 * and counted: back-pressure never grows memory past the limit and never
 * silently shortens the window.
 */
#ifndef KILN_PROFILE_SAMPLE_WINDOW_H
#define KILN_PROFILE_SAMPLE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct sample_window {
	struct profile_sample *ring;
	size_t cap, head, n; /* ring slots; the oldest is ring[head] */
	size_t limit;        /* the most slots the ring may grow to */
	uint64_t span_ns;    /* how far back the window reaches */
	uint64_t dropped;    /* samples refused because the ring was full */
};

/* A window of span_ns holding at most limit samples (at least 1). */
void sample_window_init(struct sample_window *w, size_t limit, uint64_t span_ns);
/* Sets how many samples the ring may grow to; a ring already larger
 * keeps its slots until sample_window_trim(). */
void sample_window_set_limit(struct sample_window *w, size_t limit);
/* Gives back the slots well beyond the samples held (and beyond limit). */
void sample_window_trim(struct sample_window *w);
/* The bytes the ring takes on the heap. */
static inline size_t sample_window_bytes(const struct sample_window *w)
{
	return w->cap * sizeof(*w->ring);
}
void sample_window_release(struct sample_window *w);

/* The window's i-th sample, oldest first (i < w->n). */
static inline const struct profile_sample *sample_window_at(const struct sample_window *w, size_t i)
{
	return &w->ring[(w->head + i) % w->cap];
}
/* Forgets the samples older than now - span_ns (times as the samples'). */
void sample_window_expire(struct sample_window *w, uint64_t now);
/* Adds s; false (and counted in dropped) when the ring is full. */
bool sample_window_add(struct sample_window *w, const struct profile_sample *s);
/* Appends to p the samples taken at or after since; returns how many. */
size_t sample_window_copy(const struct sample_window *w, uint64_t since, struct profile *p);
/* Every sample whose stack is at or above first_stack is dropped (the
 * stack trie restarts from there); returns how many. */
size_t sample_window_forget_stacks(struct sample_window *w, uint32_t first_stack);

/* Sets live[stack] for every sample's stack (live: one flag per stack). */
void sample_window_mark_stacks(const struct sample_window *w, uint8_t *live);
/* Renames every sample's stack with map (old id -> new, after
 * profile_compact()); a sample whose stack map drops goes. Returns how
 * many went. */
size_t sample_window_rename_stacks(struct sample_window *w, const uint32_t *map);

#endif
