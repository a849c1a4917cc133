/* speedscope.c - speedscope's JSON from a profile (speedscope.h).
 *
 * JSON objects are unordered, so the frames are written last, once every
 * profile has named the ones it uses: one pass over the samples. */
#include "render/speedscope.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "profile/profile.h"
#include "render/stack_events.h"
#include "util/strbuf.h"

#define FLUSH_AT (256 * 1024)

struct writer {
	FILE *f;
	struct strbuf sb;
};

static void flush_some(struct writer *w)
{
	if (w->sb.len < FLUSH_AT)
		return;
	fwrite(w->sb.buf, 1, w->sb.len, w->f);
	strbuf_reset(&w->sb);
}

const char *speedscope_unit(const char *unit)
{
	static const char *const known[] = {"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(unit, known[i]))
			return known[i];
	return "none";
}

/* "comm tid" and suffix, or "thread tid" when the profile has no name for it. */
static void thread_label(struct strbuf *sb, const struct stack_events *se, const struct stack_thread *th,
                         const char *suffix)
{
	const char *name = stack_events_thread_name(se, th->tid);
	struct strbuf label = STRBUF_INIT;
	strbuf_addf(&label, "%s %" PRIu32 "%s", *name ? name : "thread", th->tid, suffix);
	strbuf_add_json_string(sb, strbuf_str(&label));
	strbuf_release(&label);
}

static int64_t thread_total(const struct stack_events *se, const struct stack_thread *th, size_t value)
{
	int64_t sum = 0;
	for (size_t i = th->first; i < th->first + th->n; i++) {
		int64_t v = se->p->samples.v[se->order.v[i]].values[value];
		if (v > 0 && sum <= INT64_MAX - v)
			sum += v;
	}
	return sum;
}

static void add_stack(struct writer *w, const uint32_t *ids, size_t n)
{
	strbuf_addch(&w->sb, '[');
	for (size_t k = 0; k < n; k++) {
		if (k)
			strbuf_addch(&w->sb, ',');
		strbuf_add_u64(&w->sb, ids[k]);
	}
	strbuf_addch(&w->sb, ']');
}

/* One sampled profile: consecutive samples with the same frames (stacks
 * of other addresses in the same functions and lines) are one sample of
 * their summed weight, which keeps the time order speedscope shows. */
static void write_sampled(struct writer *w, struct stack_events *se, const struct stack_thread *th, size_t value,
                          const char *unit)
{
	const struct profile_sample *s = se->p->samples.v;
	VEC(int64_t) weights = {0};
	VEC(uint32_t) last = {0};
	int64_t total = 0;
	strbuf_addstr(&w->sb, "{\"type\":\"sampled\",\"name\":");
	thread_label(&w->sb, se, th, "");
	strbuf_addf(&w->sb, ",\"unit\":\"%s\",\"samples\":[", unit);
	for (size_t i = th->first; i < th->first + th->n; i++) {
		const struct profile_sample *smp = &s[se->order.v[i]];
		int64_t v = smp->values[value];
		if (v <= 0 || total > INT64_MAX - v)
			continue;
		total += v;
		size_t n;
		const uint32_t *ids = stack_events_stack(se, smp->stack, &n);
		if (weights.n && n == last.n && (!n || !memcmp(ids, last.v, n * sizeof(*ids)))) {
			weights.v[weights.n - 1] += v;
			continue;
		}
		if (weights.n)
			strbuf_addch(&w->sb, ',');
		add_stack(w, ids, n);
		vec_push(&weights, v);
		vec_reserve(&last, n);
		if (n)
			memcpy(last.v, ids, n * sizeof(*ids));
		last.n = n;
		flush_some(w);
	}
	vec_free(&last);
	strbuf_addstr(&w->sb, "],\"weights\":[");
	for (size_t k = 0; k < weights.n; k++) {
		if (k)
			strbuf_addch(&w->sb, ',');
		strbuf_add_u64(&w->sb, (uint64_t)weights.v[k]); /* only positive weights are kept */
		flush_some(w);
	}
	strbuf_addf(&w->sb, "],\"startValue\":0,\"endValue\":%" PRId64 "}", total);
	vec_free(&weights);
}

struct evented {
	struct writer *w;
	bool any;
	uint64_t first, last;
};

static void ev_add(struct evented *e, char type, uint32_t frame, uint64_t at)
{
	if (!e->any)
		e->first = at;
	if (e->any)
		strbuf_addch(&e->w->sb, ',');
	strbuf_addstr(&e->w->sb, type == 'O' ? "{\"type\":\"O\",\"frame\":" : "{\"type\":\"C\",\"frame\":");
	strbuf_add_u64(&e->w->sb, frame);
	strbuf_addstr(&e->w->sb, ",\"at\":");
	strbuf_add_u64(&e->w->sb, at);
	strbuf_addch(&e->w->sb, '}');
	e->any = true;
	e->last = at;
	flush_some(e->w);
}

static void ev_open(void *ctx, uint32_t depth, uint32_t frame, uint64_t at)
{
	(void)depth;
	ev_add(ctx, 'O', frame, at);
}

static void ev_close(void *ctx, uint32_t depth, uint32_t frame, uint64_t at)
{
	(void)depth;
	ev_add(ctx, 'C', frame, at);
}

/* The thread over time, in ns after the profile's first sample. */
static void write_evented(struct writer *w, struct stack_events *se, size_t t)
{
	static const struct stack_events_ops ops = {ev_open, ev_close};
	struct evented e = {.w = w};
	strbuf_addstr(&w->sb, "{\"type\":\"evented\",\"name\":");
	/* the name says which of a thread's two profiles this is */
	thread_label(&w->sb, se, &se->threads.v[t], " (timeline)");
	strbuf_addstr(&w->sb, ",\"unit\":\"nanoseconds\",\"events\":[");
	stack_events_walk(se, t, &ops, &e);
	strbuf_addf(&w->sb, "],\"startValue\":%" PRIu64 ",\"endValue\":%" PRIu64 "}", e.first, e.last);
}

static void write_frames(struct writer *w, const struct stack_events *se)
{
	const struct profile *p = se->p;
	strbuf_addstr(&w->sb, "\"shared\":{\"frames\":[");
	for (size_t i = 0; i < se->frames.n; i++) {
		const struct stack_frame *fr = &se->frames.v[i];
		const char *name = profile_str(p, fr->function);
		strbuf_addstr(&w->sb, i ? ",{\"name\":" : "{\"name\":");
		strbuf_add_json_string(&w->sb, *name ? name : "[unknown]");
		if (fr->file) {
			strbuf_addstr(&w->sb, ",\"file\":");
			strbuf_add_json_string(&w->sb, profile_str(p, fr->file));
		}
		if (fr->line)
			strbuf_addf(&w->sb, ",\"line\":%" PRIu32, fr->line);
		strbuf_addch(&w->sb, '}');
		flush_some(w);
	}
	strbuf_addstr(&w->sb, "]}");
}

int speedscope_write(FILE *f, const struct profile *p, const struct speedscope_options *o)
{
	if (o->value >= p->value_types.n)
		return -EINVAL;
	struct stack_events se;
	stack_events_init(&se, p);
	struct writer w = {.f = f};
	const char *unit = speedscope_unit(profile_str(p, p->value_types.v[o->value].unit));

	/* the busiest thread's sampled profile opens first; a thread's
	 * profiles are its sampled one, then its timeline when it has one */
	size_t active = 0, at = 0;
	int64_t best = -1;
	for (size_t t = 0; t < se.threads.n; t++) {
		int64_t sum = thread_total(&se, &se.threads.v[t], o->value);
		if (sum > best) {
			best = sum;
			active = at;
		}
		at += se.threads.v[t].timed ? 2 : 1;
	}

	strbuf_addstr(&w.sb, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":");
	strbuf_add_json_string(&w.sb, o->exporter ? o->exporter : "kiln");
	strbuf_addstr(&w.sb, ",\"name\":");
	strbuf_add_json_string(&w.sb, o->name ? o->name : "kiln");
	strbuf_addf(&w.sb, ",\"activeProfileIndex\":%zu,\"profiles\":[", active);
	for (size_t t = 0; t < se.threads.n; t++) {
		if (t)
			strbuf_addch(&w.sb, ',');
		write_sampled(&w, &se, &se.threads.v[t], o->value, unit);
		if (se.threads.v[t].timed) {
			strbuf_addch(&w.sb, ',');
			write_evented(&w, &se, t);
		}
	}
	strbuf_addstr(&w.sb, "],");
	write_frames(&w, &se);
	strbuf_addstr(&w.sb, "}\n");
	fwrite(w.sb.buf, 1, w.sb.len, f);
	strbuf_release(&w.sb);
	stack_events_release(&se);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
