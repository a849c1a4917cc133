/* stack_events.c - frames, per-thread sample order and the open/close walk
 * the timeline exporters share (stack_events.h). */
#include "render/stack_events.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/offcpu_reason.h"

/* Sample ids by pid, tid and time; ctx is the samples. */
static int cmp_sample(const void *a, const void *b, void *ctx)
{
	const struct profile_sample *samples = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct profile_sample *x = &samples[i], *y = &samples[j];
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (i > j) - (i < j); /* stable: record order among equal times */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The sampling interval: from the recorded frequency, else the median gap
 * between a thread's consecutive samples, else 1 ms. */
static uint64_t find_interval(const struct stack_events *se)
{
	uint64_t hz = profile_get_meta_u64(se->p, "frequency", 0);
	if (hz > 0 && hz <= 1000000000)
		return 1000000000 / hz;
	VEC(uint64_t) gaps = {0};
	const struct profile_sample *s = se->p->samples.v;
	for (size_t t = 0; t < se->threads.n; t++) {
		const struct stack_thread *th = &se->threads.v[t];
		size_t from = th->first + th->n - th->timed;
		for (size_t i = from + 1; i < th->first + th->n; i++) {
			uint64_t g = s[se->order.v[i]].time - s[se->order.v[i - 1]].time;
			if (g > 0)
				vec_push(&gaps, g);
		}
	}
	uint64_t iv = 1000000;
	if (gaps.n) {
		qsort(gaps.v, gaps.n, sizeof(*gaps.v), cmp_u64);
		iv = gaps.v[gaps.n / 2];
	}
	vec_free(&gaps);
	return iv;
}

void stack_events_init(struct stack_events *se, const struct profile *p)
{
	memset(se, 0, sizeof(*se));
	se->p = p;
	hashmap_init(&se->frame_ids);
	vec_reserve(&se->order, p->samples.n);
	for (size_t i = 0; i < p->samples.n; i++)
		se->order.v[se->order.n++] = (uint32_t)i;
	if (se->order.n)
		qsort_r(se->order.v, se->order.n, sizeof(*se->order.v), cmp_sample, (void *)p->samples.v);
	for (size_t i = 0; i < se->order.n; i++) {
		const struct profile_sample *s = &p->samples.v[se->order.v[i]];
		struct stack_thread *th = se->threads.n ? &se->threads.v[se->threads.n - 1] : NULL;
		if (!th || th->tid != s->tid || th->pid != s->pid) {
			th = vec_grow(&se->threads);
			th->tid = s->tid;
			th->pid = s->pid;
			th->first = i;
		}
		th->n++;
		if (s->time) {
			th->timed++;
			if (!se->start || s->time < se->start)
				se->start = s->time;
		}
	}
	se->interval = find_interval(se);
	struct offcpu_values ov;
	offcpu_values_find(p, &ov);
	se->offcpu = ov.offcpu;
	se->runnable = ov.runnable;
}

void stack_events_release(struct stack_events *se)
{
	if (!se)
		return;
	vec_free(&se->frames);
	hashmap_release(&se->frame_ids);
	vec_free(&se->order);
	vec_free(&se->threads);
	vec_free(&se->locs);
	vec_free(&se->ids);
	vec_free(&se->prev);
}

static uint32_t frame_id(struct stack_events *se, const struct profile_frame *f)
{
	uint64_t key = (uint64_t)f->function << 32 | f->file, id;
	if (hashmap_get(&se->frame_ids, key, &id)) {
		struct stack_frame *sf = &se->frames.v[id];
		if (f->line && (!sf->line || f->line < sf->line))
			sf->line = f->line;
		return (uint32_t)id;
	}
	id = se->frames.n;
	vec_push(&se->frames, ((struct stack_frame){f->function, f->file, f->line, f->module}));
	hashmap_put(&se->frame_ids, key, id);
	return (uint32_t)id;
}

const uint32_t *stack_events_stack(struct stack_events *se, uint32_t node, size_t *n)
{
	const struct profile *p = se->p;
	se->locs.n = 0;
	se->ids.n = 0;
	for (uint32_t i = node; i != 0 && i < p->stacks.n; i = p->stacks.v[i].parent)
		vec_push(&se->locs, p->stacks.v[i].location);
	for (size_t i = se->locs.n; i-- > 0;) {
		const struct profile_location *l = &p->locations.v[se->locs.v[i]];
		if (!l->nframes) { /* unsymbolized: one nameless frame */
			struct profile_frame f = {0};
			vec_push(&se->ids, frame_id(se, &f));
			continue;
		}
		/* stored innermost first: the real function, then what was inlined */
		for (uint32_t j = l->nframes; j-- > 0;)
			vec_push(&se->ids, frame_id(se, &p->frames.v[l->first_frame + j]));
	}
	*n = se->ids.n;
	return se->ids.v;
}

static void close_down_to(const struct stack_events *se, size_t keep, uint64_t at, const struct stack_events_ops *ops,
                          void *ctx)
{
	for (size_t d = se->prev.n; d-- > keep;)
		ops->close(ctx, (uint32_t)d, se->prev.v[d], at);
}

/* How long a sample lasts, when it says so itself: the blocked time of an
 * off-CPU (or --wall) profile's interval; 0 for a sample of a moment. */
static uint64_t sample_length(const struct stack_events *se, const struct profile_sample *s)
{
	int64_t len = 0;
	if (se->offcpu >= 0 && s->values[se->offcpu] > 0)
		len += s->values[se->offcpu];
	if (se->runnable >= 0 && s->values[se->runnable] > 0)
		len += s->values[se->runnable];
	return (uint64_t)len;
}

void stack_events_walk(struct stack_events *se, size_t t, const struct stack_events_ops *ops, void *ctx)
{
	const struct stack_thread *th = &se->threads.v[t];
	const struct profile_sample *s = se->p->samples.v;
	size_t end = th->first + th->n;
	/* when the previous sample ends at the latest, and how much later the
	 * next may start and still continue it: an interval's samples are
	 * whole; a moment's stands for a sampling interval, give or take the
	 * timer's jitter (well under a quarter of it). A later next sample
	 * means the thread was preempted or blocked in between: counting that
	 * time for the sample would skew the slices' shares of CPU time by
	 * where the preemptions fell. */
	uint64_t prev_end = 0, slack = 0;
	se->prev.n = 0;
	for (size_t i = end - th->timed; i < end; i++) {
		const struct profile_sample *smp = &s[se->order.v[i]];
		uint64_t at = smp->time - se->start;
		size_t n;
		const uint32_t *ids = stack_events_stack(se, smp->stack, &n);
		bool gap = i > end - th->timed && at > prev_end + slack; /* not running in between */
		size_t keep = 0;
		while (!gap && keep < n && keep < se->prev.n && ids[keep] == se->prev.v[keep])
			keep++;
		close_down_to(se, keep, gap ? prev_end : at, ops, ctx);
		for (size_t d = keep; d < n; d++)
			ops->open(ctx, (uint32_t)d, ids[d], at);
		se->prev.n = 0;
		vec_reserve(&se->prev, n);
		if (n)
			memcpy(se->prev.v, ids, n * sizeof(*ids));
		se->prev.n = n;
		uint64_t len = sample_length(se, smp);
		prev_end = at + (len ? len : se->interval);
		slack = len ? 0 : se->interval / 4;
	}
	close_down_to(se, 0, prev_end, ops, ctx);
	se->prev.n = 0;
}

const char *stack_events_thread_name(const struct stack_events *se, uint32_t tid)
{
	const struct profile_thread *th = profile_find_thread(se->p, tid);
	return th ? profile_str(se->p, th->name) : "";
}
