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
	if (pp->events.n > 1) /* qsort and memmove of a NULL vector are undefined, even empty */
		qsort(pp->events.v, pp->events.n, sizeof(*pp->events.v), cmp_event);
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
