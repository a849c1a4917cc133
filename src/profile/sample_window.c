/* sample_window.c - the in-memory ring of recent samples (sample_window.h). */
#include "profile/sample_window.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define WINDOW_MIN_SLOTS 1024 /* the ring starts (and trims down to) this, or limit */

/* Moves the ring's samples into a ring of cap slots (cap >= n), oldest first. */
static void resize(struct sample_window *w, size_t cap)
{
	struct profile_sample *r = xcalloc(cap, sizeof(*r));
	for (size_t i = 0; i < w->n; i++)
		r[i] = w->ring[(w->head + i) % w->cap];
	free(w->ring);
	w->ring = r;
	w->cap = cap;
	w->head = 0;
}

void sample_window_init(struct sample_window *w, size_t limit, uint64_t span_ns)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit ? limit : 1;
	w->cap = w->limit < WINDOW_MIN_SLOTS ? w->limit : WINDOW_MIN_SLOTS;
	w->ring = xcalloc(w->cap, sizeof(*w->ring));
	w->span_ns = span_ns;
}

void sample_window_set_limit(struct sample_window *w, size_t limit)
{
	w->limit = limit ? limit : 1;
}

void sample_window_trim(struct sample_window *w)
{
	size_t want = w->n + w->n / 4;
	if (want < WINDOW_MIN_SLOTS)
		want = WINDOW_MIN_SLOTS;
	if (want > w->limit)
		want = w->limit > w->n ? w->limit : w->n;
	if (!want)
		want = 1;
	if (want < w->cap)
		resize(w, want);
}

void sample_window_release(struct sample_window *w)
{
	free(w->ring);
	memset(w, 0, sizeof(*w));
}

void sample_window_expire(struct sample_window *w, uint64_t now)
{
	uint64_t cut = now > w->span_ns ? now - w->span_ns : 0;
	while (w->n && w->ring[w->head].time < cut) {
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
}

bool sample_window_add(struct sample_window *w, const struct profile_sample *s)
{
	if (w->n == w->cap) {
		if (w->cap >= w->limit) {
			w->dropped++;
			return false;
		}
		/* in steps of an eighth: a ring near its limit overshoots little */
		size_t step = w->cap / 8 > WINDOW_MIN_SLOTS ? w->cap / 8 : WINDOW_MIN_SLOTS;
		resize(w, w->limit - w->cap < step ? w->limit : w->cap + step);
	}
	w->ring[(w->head + w->n) % w->cap] = *s;
	w->n++;
	return true;
}

size_t sample_window_copy(const struct sample_window *w, uint64_t since, struct profile *p)
{
	size_t k = 0;
	vec_reserve(&p->samples, p->samples.n + w->n);
	for (size_t i = 0; i < w->n; i++) {
		const struct profile_sample *s = sample_window_at(w, i);
		if (s->time < since)
			continue;
		p->samples.v[p->samples.n++] = *s;
		k++;
	}
	return k;
}

size_t sample_window_forget_stacks(struct sample_window *w, uint32_t first_stack)
{
	size_t kept = 0, n = w->n;
	for (size_t i = 0; i < n; i++) {
		const struct profile_sample *s = sample_window_at(w, i);
		if (s->stack < first_stack)
			w->ring[(w->head + kept++) % w->cap] = *s;
	}
	w->n = kept;
	return n - kept;
}

void sample_window_mark_stacks(const struct sample_window *w, uint8_t *live)
{
	for (size_t i = 0; i < w->n; i++)
		live[sample_window_at(w, i)->stack] = 1;
}

size_t sample_window_rename_stacks(struct sample_window *w, const uint32_t *map)
{
	size_t kept = 0, n = w->n;
	for (size_t i = 0; i < n; i++) {
		struct profile_sample s = w->ring[(w->head + i) % w->cap];
		s.stack = map[s.stack];
		if (s.stack != UINT32_MAX)
			w->ring[(w->head + kept++) % w->cap] = s;
	}
	w->n = kept;
	return n - kept;
}
