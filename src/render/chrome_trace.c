/* chrome_trace.c - Trace Event Format JSON from a profile (chrome_trace.h).
 *
 * A thread's complete events are written sorted by start, callers before
 * callees, so that viewers which nest slices in file order (equal starts
 * are common: a new stack opens every frame at one time) nest them right. */
#include "render/chrome_trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "render/stack_events.h"
#include "util/strbuf.h"

#define FLUSH_AT (256 * 1024)

struct span {
	uint64_t start, end; /* microseconds from the first sample */
	uint32_t depth, frame;
};

struct lane {
	VEC(struct span) spans;
	VEC(uint64_t) opened; /* by depth: when the frame open there started */
};

static void lane_open(void *ctx, uint32_t depth, uint32_t frame, uint64_t at)
{
	(void)frame;
	struct lane *l = ctx;
	vec_reserve(&l->opened, (size_t)depth + 1);
	while (l->opened.n <= depth)
		l->opened.v[l->opened.n++] = 0;
	l->opened.v[depth] = at;
}

/* Slices are whole microseconds, start and end each rounded down: viewers
 * add ts and dur in doubles, and with fractions (0.001 has no exact
 * binary value) a slice could end an ulp after its next sibling starts or
 * after its caller ends. DevTools then drops the slice (4 of 13 of a test
 * program's hot function, once). Integers add exactly, and rounding both
 * ends down keeps every nesting and every meeting of slices.
 * A slice of no time (samples within one microsecond) is left out: then
 * the slices at one depth never share a start, and sorting by start and
 * depth puts every caller before its callees. */
static void lane_close(void *ctx, uint32_t depth, uint32_t frame, uint64_t at)
{
	struct lane *l = ctx;
	uint64_t start = l->opened.v[depth] / 1000, end = at / 1000;
	if (end == start)
		return;
	vec_push(&l->spans, ((struct span){start, end, depth, frame}));
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->depth > y->depth) - (x->depth < y->depth);
}

/* Events are separated by ",\n", written before each but the first. */
static void add_event_start(struct strbuf *sb, bool *any)
{
	if (*any)
		strbuf_addstr(sb, ",\n");
	*any = true;
}

static void add_meta_event(struct strbuf *sb, bool *any, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	add_event_start(sb, any);
	strbuf_addf(sb,
	            "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"args\":{\"name\":", what,
	            pid, tid);
	strbuf_add_json_string(sb, name);
	strbuf_addstr(sb, "}}");
}

/* A process's name: its main thread's, else its first thread's. */
static const char *process_name(const struct stack_events *se, size_t t)
{
	uint32_t pid = se->threads.v[t].pid;
	const char *name = stack_events_thread_name(se, pid);
	for (size_t i = t; !*name && i < se->threads.n && se->threads.v[i].pid == pid; i++)
		name = stack_events_thread_name(se, se->threads.v[i].tid);
	return *name ? name : "process";
}

/* Each frame's part of its events, escaped once: "name", "cat" and "args"
 * and the closing brace. Frame i's is text[at[i] .. at[i + 1]). */
struct frame_json {
	struct strbuf text;
	VEC(size_t) at;
};

static void frame_json_build(struct frame_json *fj, const struct stack_events *se)
{
	const struct profile *p = se->p;
	for (size_t i = 0; i < se->frames.n; i++) {
		const struct stack_frame *fr = &se->frames.v[i];
		const char *name = profile_str(p, fr->function);
		vec_push(&fj->at, fj->text.len);
		strbuf_addstr(&fj->text, "\"name\":");
		strbuf_add_json_string(&fj->text, *name ? name : "[unknown]");
		strbuf_addstr(&fj->text, ",\"cat\":");
		strbuf_add_json_string(&fj->text, fr->module ? profile_str(p, fr->module) : "unknown");
		if (fr->file) {
			strbuf_addstr(&fj->text, ",\"args\":{\"file\":");
			strbuf_add_json_string(&fj->text, profile_str(p, fr->file));
			if (fr->line)
				strbuf_addf(&fj->text, ",\"line\":%" PRIu32, fr->line);
			strbuf_addch(&fj->text, '}');
		}
		strbuf_addch(&fj->text, '}');
	}
	vec_push(&fj->at, fj->text.len);
}

static void write_lane(FILE *f, struct strbuf *sb, bool *any, struct stack_events *se, size_t t, struct lane *l,
                       const struct frame_json *fj)
{
	static const struct stack_events_ops ops = {lane_open, lane_close};
	const struct stack_thread *th = &se->threads.v[t];
	l->spans.n = 0;
	stack_events_walk(se, t, &ops, l);
	if (l->spans.n)
		qsort(l->spans.v, l->spans.n, sizeof(*l->spans.v), cmp_span);
	char lane[64]; /* the same for every event of the lane */
	int lane_len = snprintf(lane, sizeof(lane),
	                        "{\"ph\":\"X\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"ts\":", th->pid, th->tid);
	for (size_t i = 0; i < l->spans.n; i++) {
		const struct span *s = &l->spans.v[i];
		add_event_start(sb, any);
		strbuf_add(sb, lane, (size_t)lane_len);
		strbuf_add_u64(sb, s->start);
		strbuf_addstr(sb, ",\"dur\":");
		strbuf_add_u64(sb, s->end - s->start);
		strbuf_addch(sb, ',');
		strbuf_add(sb, fj->text.buf + fj->at.v[s->frame], fj->at.v[s->frame + 1] - fj->at.v[s->frame]);
		if (sb->len >= FLUSH_AT) {
			fwrite(sb->buf, 1, sb->len, f);
			strbuf_reset(sb);
		}
	}
}

int chrome_trace_write(FILE *f, const struct profile *p)
{
	struct stack_events se;
	stack_events_init(&se, p);
	if (!se.start) {
		stack_events_release(&se);
		return -ENODATA;
	}
	/* every frame first, so that each has its final line */
	for (size_t i = 0; i < p->samples.n; i++) {
		size_t n;
		stack_events_stack(&se, p->samples.v[i].stack, &n);
	}
	struct frame_json fj = {0};
	frame_json_build(&fj, &se);
	struct strbuf sb = STRBUF_INIT;
	struct lane l = {0};
	bool any = false, named = false;
	uint32_t named_pid = 0;
	/* the events first: what tells the file apart is at its start */
	strbuf_addstr(&sb, "{\"traceEvents\":[\n");
	for (size_t t = 0; t < se.threads.n; t++) {
		const struct stack_thread *th = &se.threads.v[t];
		if (!th->timed)
			continue;
		if (!named || named_pid != th->pid)
			add_meta_event(&sb, &any, "process_name", th->pid, th->pid, process_name(&se, t));
		named = true;
		named_pid = th->pid;
		const char *name = stack_events_thread_name(&se, th->tid);
		add_meta_event(&sb, &any, "thread_name", th->pid, th->tid, *name ? name : "thread");
		write_lane(f, &sb, &any, &se, t, &l, &fj);
	}
	strbuf_addstr(&sb, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{");
	static const char *const keys[] = {"command", "event", "hostname", "kiln_version"};
	bool first = true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = profile_get_meta(p, keys[i]);
		if (!v)
			continue;
		strbuf_addf(&sb, "%s\"%s\":", first ? "" : ",", keys[i]);
		strbuf_add_json_string(&sb, v);
		first = false;
	}
	strbuf_addstr(&sb, "}}\n");
	fwrite(sb.buf, 1, sb.len, f);
	strbuf_release(&sb);
	strbuf_release(&fj.text);
	vec_free(&fj.at);
	vec_free(&l.spans);
	vec_free(&l.opened);
	stack_events_release(&se);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
