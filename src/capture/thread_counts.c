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

size_t thread_counts_unreported(const struct thread_counts *tc, unsigned per_thread)
{
	size_t n = 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		const struct thread_count *t = &tc->v.v[i];
		if (!t->opened && (t->exited || t->reads) && t->reads < per_thread)
			n++;
	}
	return n;
}

size_t thread_counts_forget(struct thread_counts *tc, bool (*gone)(void *ctx, uint32_t tid), void *ctx)
{
	size_t k = 0, n = tc->v.n;
	for (size_t i = 0; i < n; i++) {
		const struct thread_count *t = &tc->v.v[i];
		if (!t->exited && !(gone && gone(ctx, t->tid)))
			tc->v.v[k++] = *t;
	}
	tc->v.n = k;
	/* rebuilt at its new size: a map keeps its slots, so churn would keep
	 * the largest it ever was */
	hashmap_release(&tc->idx);
	hashmap_init(&tc->idx);
	for (size_t i = 0; i < k; i++)
		hashmap_put(&tc->idx, tc->v.v[i].tid, i);
	if (tc->v.cap > 2 * k + 16) {
		tc->v.v = xreallocarray(tc->v.v, k + 8, sizeof(*tc->v.v));
		tc->v.cap = k + 8;
	}
	return n - k;
}

bool thread_counts_has(const struct thread_counts *tc, uint32_t tid)
{
	return hashmap_get(&tc->idx, tid, NULL);
}

size_t thread_counts_bytes(const struct thread_counts *tc)
{
	return hashmap_bytes(&tc->idx) + tc->v.cap * sizeof(*tc->v.v);
}

static int by_lost(const void *a, const void *b)
{
	const struct thread_lost *x = a, *y = b;
	if (x->lost != y->lost)
		return x->lost > y->lost ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Rounds x[0..n) to integers adding up to target (largest remainders). */
static void round_to_total(const double *x, size_t n, uint64_t target, uint64_t *out)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = (uint64_t)floor(x[i]);
		sum += out[i];
	}
	while (sum < target) {
		size_t best = n;
		double frac = 0;
		for (size_t i = 0; i < n; i++) {
			double f = x[i] - (double)out[i];
			if (f > frac) {
				frac = f;
				best = i;
			}
		}
		if (best == n)
			break;
		out[best]++;
		sum++;
	}
}

size_t thread_counts_lost(const struct thread_counts *tc, uint64_t total_lost, uint64_t dflt_period,
                          struct thread_lost *out)
{
	uint64_t sampled = 0, samples = 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		sampled += tc->v.v[i].sampled;
		samples += tc->v.v[i].samples;
	}
	double mean_period = samples ? (double)sampled / (double)samples : (double)dflt_period;
	if (!total_lost || mean_period <= 0 || !tc->v.n)
		return 0;
	double *short_by = calloc(tc->v.n, sizeof(double)), *x = calloc(tc->v.n, sizeof(double)), sum = 0, cap = 0;
	uint64_t *n_lost = calloc(tc->v.n, sizeof(uint64_t));
	size_t n = 0;
	if (!short_by || !x || !n_lost)
		goto out_free;
	for (size_t i = 0; i < tc->v.n; i++) {
		const struct thread_count *t = &tc->v.v[i];
		if (!t->reads || t->counted <= t->sampled)
			continue;
		double period = t->samples ? (double)t->sampled / (double)t->samples : mean_period;
		short_by[i] = (double)(t->counted - t->sampled) / period;
		/* up to a period after a thread's last sample is never sampled:
		 * only what is missing beyond that tells of a loss */
		x[i] = short_by[i] > 1.0 ? short_by[i] - 1.0 : 0;
		sum += x[i];
		cap += short_by[i];
	}
	if (sum <= 0)
		goto out_free;
	/* spread the exact count over the threads, in proportion, none
	 * beyond what it is short by */
	double want = (double)total_lost < cap ? (double)total_lost : cap, got = 0;
	for (size_t i = 0; i < tc->v.n; i++) {
		x[i] = x[i] * want / sum;
		if (x[i] > short_by[i])
			x[i] = short_by[i];
		got += x[i];
	}
	round_to_total(x, tc->v.n, (uint64_t)floor(got + 0.5), n_lost);
	for (size_t i = 0; i < tc->v.n; i++)
		if (n_lost[i])
			out[n++] = (struct thread_lost){tc->v.v[i].tid, n_lost[i]};
	qsort(out, n, sizeof(*out), by_lost);
out_free:
	free(short_by);
	free(x);
	free(n_lost);
	return n;
}
