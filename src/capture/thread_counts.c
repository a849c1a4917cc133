/* thread_counts.c - per-thread counted against sampled events, for
 * attributing lost samples to threads (see thread_counts.h). */
#include "capture/thread_counts.h"

#include <math.h>
#include <stdlib.h>

void thread_counts_init(struct thread_counts *tc)
{
	hashmap_init(&tc->idx);
	tc->v.v = NULL;
	tc->v.n = tc->v.cap = 0;
}

void thread_counts_release(struct thread_counts *tc)
{
	hashmap_release(&tc->idx);
	vec_free(&tc->v);
}

struct thread_count *thread_counts_get(struct thread_counts *tc, uint32_t tid)
{
	uint64_t i;
	if (hashmap_get(&tc->idx, tid, &i))
		return &tc->v.v[i];
	hashmap_put(&tc->idx, tid, tc->v.n);
	struct thread_count *t = vec_grow(&tc->v);
	t->tid = tid;
	return t;
}

void thread_counts_sample(struct thread_counts *tc, uint32_t tid, uint64_t period)
{
	struct thread_count *t = thread_counts_get(tc, tid);
	t->sampled += period;
	t->samples++;
}

void thread_counts_read(struct thread_counts *tc, uint32_t tid, uint64_t value)
{
	struct thread_count *t = thread_counts_get(tc, tid);
	t->counted += value;
	t->reads++;
}

uint64_t thread_counts_read_total(const struct thread_counts *tc)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < tc->v.n; i++)
		sum += tc->v.v[i].counted;
	return sum;
}

static int by_lost(const void *a, const void *b)
{
	const struct thread_lost *x = a, *y = b;
	if (x->lost != y->lost)
		return x->lost > y->lost ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

size_t thread_counts_lost(const struct thread_counts *tc, uint64_t total_lost, struct thread_lost *out)
{
	uint64_t sampled = 0, samples = 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		sampled += tc->v.v[i].sampled;
		samples += tc->v.v[i].samples;
	}
	if (!samples || !total_lost)
		return 0;
	double mean_period = (double)sampled / (double)samples, sum = 0;
	double *est = calloc(tc->v.n ? tc->v.n : 1, sizeof(*est));
	if (!est)
		return 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		const struct thread_count *t = &tc->v.v[i];
		if (!t->reads || t->counted <= t->sampled)
			continue;
		double period = t->samples ? (double)t->sampled / (double)t->samples : mean_period;
		/* the time after a thread's last sample, under a period and
		 * half a period on average, is never sampled */
		double e = (double)(t->counted - t->sampled) / period - 0.5;
		est[i] = e > 0 ? e : 0;
		sum += est[i];
	}
	double scale = sum > (double)total_lost ? (double)total_lost / sum : 1.0;
	size_t n = 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		uint64_t lost = (uint64_t)floor(est[i] * scale + 0.5);
		if (lost)
			out[n++] = (struct thread_lost){tc->v.v[i].tid, lost};
	}
	free(est);
	qsort(out, n, sizeof(*out), by_lost);
	return n;
}
