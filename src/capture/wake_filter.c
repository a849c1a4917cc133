/* wake_filter.c - the filter of a cpu-wide wake-up event (see the header). */
#include "capture/wake_filter.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void wake_filter_init(struct wake_filter *f)
{
	memset(f, 0, sizeof(*f));
}

void wake_filter_release(struct wake_filter *f)
{
	vec_free(&f->tids);
}

static bool find(const struct wake_filter *f, uint32_t tid, size_t *at)
{
	for (size_t i = 0; i < f->tids.n; i++)
		if (f->tids.v[i] == tid) {
			*at = i;
			return true;
		}
	return false;
}

void wake_filter_add(struct wake_filter *f, uint32_t tid)
{
	size_t at;
	if (!tid || find(f, tid, &at))
		return;
	vec_push(&f->tids, tid);
	/* an id below the open end passes only where it was listed, and it
	 * was not: new to the list */
	if (!f->built || tid < f->from)
		f->changed = true;
}

void wake_filter_remove(struct wake_filter *f, uint32_t tid)
{
	size_t at;
	if (!find(f, tid, &at))
		return;
	f->tids.v[at] = f->tids.v[--f->tids.n];
	if (f->range || !f->built)
		f->changed = true; /* a list may fit again; or a retry after a refusal */
}

void wake_filter_refused(struct wake_filter *f)
{
	f->built = false;
}

static int cmp_tid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Writes one run of consecutive ids [a, b] as a term of the filter. */
static void add_run(struct strbuf *out, uint32_t a, uint32_t b)
{
	if (a == b)
		strbuf_addf(out, " || pid == %" PRIu32, a);
	else
		strbuf_addf(out, " || (pid >= %" PRIu32 " && pid <= %" PRIu32 ")", a, b);
}

int wake_filter_build(struct wake_filter *f, struct strbuf *out)
{
	strbuf_reset(out);
	if (!f->tids.n)
		return -EINVAL;
	f->changed = false;
	/* sorted, the order of thread ids in the list does not matter */
	if (f->tids.n > 1)
		qsort(f->tids.v, f->tids.n, sizeof(*f->tids.v), cmp_tid);
	size_t n = f->tids.n, top = n - 1;
	while (top && f->tids.v[top - 1] + 1 == f->tids.v[top])
		top--;
	/* the run that ends at the highest id opens upwards */
	strbuf_addf(out, "pid >= %" PRIu32, f->tids.v[top]);
	for (size_t i = 0; i < top && out->len <= WAKE_FILTER_MAX;) {
		size_t j = i;
		while (j + 1 < top && f->tids.v[j] + 1 == f->tids.v[j + 1])
			j++;
		add_run(out, f->tids.v[i], f->tids.v[j]);
		i = j + 1;
	}
	f->built = true;
	f->range = out->len > WAKE_FILTER_MAX;
	f->from = f->tids.v[top];
	if (!f->range)
		return 0;
	strbuf_reset(out);
	strbuf_addf(out, "pid >= %" PRIu32, f->tids.v[0]);
	f->from = f->tids.v[0];
	return 1;
}
