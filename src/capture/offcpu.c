/* offcpu.c - pairs switch-outs with switch-ins into off-CPU intervals. */
#include "capture/offcpu.h"

#include <stdlib.h>

void offcpu_pairer_init(struct offcpu_pairer *pp)
{
	memset(pp, 0, sizeof(*pp));
	hashmap_init(&pp->index);
}

void offcpu_pairer_release(struct offcpu_pairer *pp)
{
	vec_free(&pp->events);
	vec_free(&pp->scratch);
	vec_free(&pp->threads);
	hashmap_release(&pp->index);
}

void offcpu_pairer_add(struct offcpu_pairer *pp, const struct offcpu_event *ev)
{
	vec_push(&pp->events, *ev);
	if (ev->time > pp->seen[1])
		pp->seen[1] = ev->time;
}

/* By time; at one time a stack before its switch-out before a switch-in
 * before a wake-up (one at the very switch-out splits nothing). */
static int cmp_event(const void *a, const void *b)
{
	const struct offcpu_event *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* Merges the ordered runs a[lo..mid) and a[mid..hi) into out[lo..hi),
 * the first run's first at equal keys. */
static void merge_runs(const struct offcpu_event *a, size_t lo, size_t mid, size_t hi, struct offcpu_event *out)
{
	size_t x = lo, y = mid, o = lo;
	while (x < mid && y < hi)
		out[o++] = cmp_event(&a[y], &a[x]) < 0 ? a[y++] : a[x++];
	while (x < mid)
		out[o++] = a[x++];
	while (y < hi)
		out[o++] = a[y++];
}

/* The end of the ordered run that starts at i. */
static size_t run_end(const struct offcpu_event *a, size_t i, size_t n)
{
	while (++i < n && cmp_event(&a[i - 1], &a[i]) <= 0)
		;
	return i;
}

/* Sorts the buffered events by cmp_event. They come as a few runs
 * already in order (each ring's records in turn, the last flush's rest),
 * merged pairwise into a scratch array kept between flushes: qsort takes
 * and frees a buffer of its own at every call, pages new to the process
 * each time, and a first touch of a page is what costs most under some
 * hypervisors (~12 us a page measured). Stable, so equal events keep the
 * order they came in. */
static void sort_events(struct offcpu_pairer *pp)
{
	size_t n = pp->events.n;
	if (run_end(pp->events.v, 0, n) == n)
		return;
	vec_reserve(&pp->scratch, n);
	for (;;) {
		struct offcpu_event *a = pp->events.v;
		size_t runs = 0;
		for (size_t i = 0; i < n; runs++) {
			size_t mid = run_end(a, i, n);
			size_t hi = mid < n ? run_end(a, mid, n) : n;
			merge_runs(a, i, mid, hi, pp->scratch.v);
			i = hi;
		}
		/* the merged array becomes the events, the old one the scratch */
		struct offcpu_event *v = pp->events.v;
		size_t cap = pp->events.cap;
		pp->events.v = pp->scratch.v;
		pp->events.cap = pp->scratch.cap;
		pp->scratch.v = v;
		pp->scratch.cap = cap;
		if (runs == 1)
			return;
	}
}

static struct offcpu_thread_state *thread_state(struct offcpu_pairer *pp, const struct offcpu_event *ev)
{
	uint64_t i;
	if (!hashmap_get(&pp->index, ev->tid, &i)) {
		i = pp->threads.n;
		struct offcpu_thread_state *t = vec_grow(&pp->threads);
		t->tid = ev->tid;
		hashmap_put(&pp->index, ev->tid, i);
	}
	struct offcpu_thread_state *t = &pp->threads.v[i];
	if (ev->pid) /* a wake-up's record names the woken thread only */
		t->pid = ev->pid;
	return t;
}

static void emit_interval(struct offcpu_thread_state *t, uint64_t start, uint64_t end, offcpu_emit_fn emit, void *ctx)
{
	uint64_t wake = t->wake_time;
	t->wake_time = 0;
	/* the stack belongs to this switch-out when it was taken after the
	 * previous switch-in: else its sample was lost */
	bool own = t->stack_time && t->stack_time <= start && t->stack_time >= t->in_time;
	struct offcpu_interval iv = {
	    .tid = t->tid,
	    .pid = t->pid,
	    .cpu = t->cpu,
	    .stack = own ? t->stack : 0,
	    .start = start,
	    .end = end,
	    .preempted = t->preempt,
	};
	if (!t->preempt && wake > start && wake < end) {
		/* blocked until woken, then runnable until it got a cpu */
		iv.end = wake;
		emit(ctx, &iv);
		iv.start = wake;
		iv.end = end;
		iv.preempted = true;
		iv.woken = true;
	}
	emit(ctx, &iv);
}

static void pair_one(struct offcpu_pairer *pp, const struct offcpu_event *ev, offcpu_emit_fn emit, void *ctx)
{
	uint64_t known;
	if (ev->kind == OFFCPU_EV_WAKE) {
		/* Only the first wake-up after a blocking switch-out made the
		 * thread runnable: one of a thread on a cpu, preempted (it was
		 * runnable all along) or already woken changes nothing, and one
		 * of a thread never seen going off cannot end its block. */
		if (!hashmap_get(&pp->index, ev->tid, &known))
			return;
		struct offcpu_thread_state *w = &pp->threads.v[known];
		if (w->out_time && !w->preempt && !w->wake_time && ev->time >= w->out_time)
			w->wake_time = ev->time;
		return;
	}
	struct offcpu_thread_state *t = thread_state(pp, ev);
	switch (ev->kind) {
	case OFFCPU_EV_STACK:
		t->stack = ev->stack;
		t->stack_time = ev->time;
		break;
	case OFFCPU_EV_OUT:
		t->cpu = ev->cpu;
		t->preempt = ev->preempt;
		if (t->early_in > ev->time) {
			/* its switch-in came through a ring read earlier */
			emit_interval(t, ev->time, t->early_in, emit, ctx);
			t->in_time = t->early_in;
			t->early_in = 0;
			t->out_time = 0;
			break;
		}
		t->early_in = 0;
		t->wake_time = 0;
		t->out_time = ev->time; /* an older one left open lost its switch-in */
		break;
	case OFFCPU_EV_IN:
		if (t->out_time && t->out_time <= ev->time) {
			emit_interval(t, t->out_time, ev->time, emit, ctx);
			t->out_time = 0;
			t->in_time = ev->time;
		} else {
			t->early_in = ev->time;
		}
		break;
	default:
		break;
	}
}

void offcpu_pairer_flush(struct offcpu_pairer *pp, bool final, uint64_t end, offcpu_emit_fn emit, void *ctx)
{
	uint64_t horizon = final ? UINT64_MAX : pp->seen[0];
	if (pp->events.n > 1)
		sort_events(pp);
	size_t i = 0;
	for (; i < pp->events.n && pp->events.v[i].time <= horizon; i++)
		pair_one(pp, &pp->events.v[i], emit, ctx);
	if (i && i < pp->events.n)
		memmove(pp->events.v, pp->events.v + i, (pp->events.n - i) * sizeof(*pp->events.v));
	pp->events.n -= i;
	pp->seen[0] = pp->seen[1];
	if (!final)
		return;
	for (size_t k = 0; k < pp->threads.n; k++) {
		struct offcpu_thread_state *t = &pp->threads.v[k];
		if (t->out_time && t->out_time < end) {
			emit_interval(t, t->out_time, end, emit, ctx);
			t->out_time = 0;
			t->in_time = end;
		}
	}
}
