/* wake_filter.c - the filter of a cpu-wide wake-up event (see the header). */
#include "capture/wake_filter.h"

#include <errno.h>
#include <inttypes.h>
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
	f->changed = true;
}

void wake_filter_remove(struct wake_filter *f, uint32_t tid)
{
	size_t at;
	if (!find(f, tid, &at))
		return;
	f->tids.v[at] = f->tids.v[--f->tids.n];
	f->changed = true;
}

int wake_filter_build(struct wake_filter *f, struct strbuf *out)
{
	strbuf_reset(out);
	if (!f->tids.n)
		return -EINVAL;
	f->changed = false;
	uint32_t lo = f->tids.v[0], hi = f->tids.v[0];
	for (size_t i = 1; i < f->tids.n; i++) {
		lo = f->tids.v[i] < lo ? f->tids.v[i] : lo;
		hi = f->tids.v[i] > hi ? f->tids.v[i] : hi;
	}
	strbuf_addf(out, "pid >= %" PRIu32, hi);
	for (size_t i = 0; i < f->tids.n && out->len <= WAKE_FILTER_MAX; i++)
		if (f->tids.v[i] != hi)
			strbuf_addf(out, " || pid == %" PRIu32, f->tids.v[i]);
	if (out->len <= WAKE_FILTER_MAX)
		return 0;
	strbuf_reset(out);
	strbuf_addf(out, "pid >= %" PRIu32, lo);
	return 1;
}
