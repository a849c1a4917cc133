/* agent_decode.c - the agent's ring records as events (agent_decode.h). */
#include "capture/agent_decode.h"

#include <string.h>

#include "capture/maps_line.h"

void agent_decoder_init(struct agent_decoder *d, agent_event_fn fn, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->fn = fn;
	d->ctx = ctx;
}

void agent_decoder_release(struct agent_decoder *d)
{
	for (size_t i = 0; i < d->rings.n; i++) {
		strbuf_release(&d->rings.v[i].maps_in);
		vec_free(&d->rings.v[i].maps);
	}
	vec_free(&d->rings);
}

static struct agent_decode_ring *ring_of(struct agent_decoder *d, uint32_t ring)
{
	while (d->rings.n <= ring) {
		struct agent_decode_ring *r = vec_grow(&d->rings);
		r->nnodes = 1; /* the root */
	}
	return &d->rings.v[ring];
}

static void emit(struct agent_decoder *d, uint32_t ring, const struct agent_event *ev)
{
	if (d->fn)
		d->fn(d->ctx, ring, ev);
}

/* Hands on the held allocation under stack. */
static void release_held(struct agent_decoder *d, uint32_t ring, uint32_t stack)
{
	struct agent_decode_ring *r = ring_of(d, ring);
	struct agent_event ev = r->held;
	r->holding = false;
	ev.stack = stack;
	emit(d, ring, &ev);
}

void agent_decode_ring(struct agent_decoder *d, uint32_t ring, const void *header, size_t size)
{
	struct kh_ring_header h;
	if (size < sizeof(h)) {
		d->bad++;
		return;
	}
	memcpy(&h, header, sizeof(h));
	ring_of(d, ring);
	struct agent_event ev = {.kind = AGENT_EV_PROCESS, .pid = h.pid, .ppid = h.ppid, .time = h.start_ns};
	emit(d, ring, &ev);
}

/* New trie nodes, checked against the nodes so far: the agent numbers
 * them densely from 1, parents before children. */
static void decode_stack(struct agent_decoder *d, uint32_t ring, const void *rec, size_t size)
{
	struct kh_rec_stack s;
	struct agent_decode_ring *r = ring_of(d, ring);
	if (size < sizeof(s)) {
		d->bad++;
		return;
	}
	memcpy(&s, rec, sizeof(s));
	if (s.nframes > (size - sizeof(s)) / sizeof(uint64_t) || s.first != r->nnodes || s.parent >= r->nnodes ||
	    s.nframes > UINT32_MAX - r->nnodes) {
		d->bad++;
		return;
	}
	struct agent_event ev = {.kind = AGENT_EV_STACK,
	                         .first = s.first,
	                         .parent = s.parent,
	                         .nframes = s.nframes,
	                         .frames = (const uint64_t *)((const char *)rec + sizeof(s))};
	r->nnodes += s.nframes;
	emit(d, ring, &ev);
}

/* An allocation whose stack comes in the record after it is held until
 * that record names the stack (KH_REC_STACK_OF); any other goes out now. */
static void emit_or_hold(struct agent_decoder *d, struct agent_decode_ring *r, uint32_t ring,
                         const struct agent_event *ev)
{
	if (ev->stack == KH_STACK_PENDING) {
		r->held = *ev;
		r->holding = true;
	} else {
		emit(d, ring, ev);
	}
}

/* A complete copy of the maps text: its executable file mappings. */
static void decode_maps_end(struct agent_decoder *d, uint32_t ring)
{
	struct agent_decode_ring *r = ring_of(d, ring);
	vec_clear(&r->maps);
	char *text = r->maps_in.buf;
	size_t len = text ? r->maps_in.len : 0;
	struct maps_line ml;
	for (size_t at = 0; at < len; at += ml.next) {
		if (!maps_line_parse(text + at, len - at, &ml) || !maps_line_exec(&ml) || !ml.path_at)
			continue;
		char *path = text + at + ml.path_at;
		/* ends the path in place: its newline, or the NUL the buffer
		 * keeps past len */
		path[ml.path_len] = '\0';
		struct agent_mapping m = {ml.start, ml.end, ml.pgoff, path};
		vec_push(&r->maps, m);
	}
	struct agent_event ev = {.kind = AGENT_EV_MAPPINGS, .maps = r->maps.v, .nmaps = r->maps.n};
	emit(d, ring, &ev);
	strbuf_reset(&r->maps_in);
	vec_clear(&r->maps);
}

void agent_decode_record(struct agent_decoder *d, uint32_t ring, const void *rec, size_t size)
{
	struct kh_rec_header h;
	if (size < sizeof(h)) {
		d->bad++;
		return;
	}
	memcpy(&h, rec, sizeof(h));
	if (h.size != size) {
		d->bad++;
		return;
	}
	struct agent_decode_ring *r = ring_of(d, ring);
	/* only the stack's nodes come between an allocation and its stack;
	 * should anything else, the allocation counts without a stack */
	if (r->holding && h.type != KH_REC_STACK && h.type != KH_REC_STACK_OF)
		release_held(d, ring, 0);
	struct agent_event ev = {0};
	switch (h.type) {
	case KH_REC_STACK:
		decode_stack(d, ring, rec, size);
		return;
	case KH_REC_ALLOC: {
		struct kh_rec_alloc a;
		if (size < sizeof(a))
			break;
		memcpy(&a, rec, sizeof(a));
		ev = (struct agent_event){
		    .kind = AGENT_EV_ALLOC, .time = a.time, .addr = a.addr, .size = a.size, .stack = a.stack};
		emit_or_hold(d, r, ring, &ev);
		return;
	}
	case KH_REC_FREE: {
		struct kh_rec_free f;
		if (size < sizeof(f))
			break;
		memcpy(&f, rec, sizeof(f));
		ev = (struct agent_event){.kind = AGENT_EV_FREE, .time = f.time, .addr = f.addr};
		emit(d, ring, &ev);
		return;
	}
	case KH_REC_REALLOC: {
		struct kh_rec_realloc a;
		if (size < sizeof(a))
			break;
		memcpy(&a, rec, sizeof(a));
		ev = (struct agent_event){.kind = AGENT_EV_REALLOC,
		                          .time = a.time,
		                          .old_addr = a.old_addr,
		                          .addr = a.addr,
		                          .size = a.size,
		                          .stack = a.stack};
		emit_or_hold(d, r, ring, &ev);
		return;
	}
	case KH_REC_STACK_OF: {
		struct kh_rec_stack_of so;
		if (size < sizeof(so))
			break;
		memcpy(&so, rec, sizeof(so));
		if (r->holding)
			release_held(d, ring, so.stack);
		return;
	}
	case KH_REC_MAPS: {
		/* text padded with zeros to the record's 8-byte size */
		const char *text = (const char *)rec + sizeof(h);
		strbuf_add(&r->maps_in, text, strnlen(text, size - sizeof(h)));
		return;
	}
	case KH_REC_MAPS_END:
		decode_maps_end(d, ring);
		return;
	case KH_REC_EXEC:
		ev.kind = AGENT_EV_EXEC;
		emit(d, ring, &ev);
		return;
	case KH_REC_FREERES:
		ev.kind = AGENT_EV_FREERES;
		emit(d, ring, &ev);
		return;
	case KH_REC_SCAN_REQUEST:
	case KH_REC_EXIT: {
		struct kh_rec_exit x;
		if (size < sizeof(x))
			break;
		memcpy(&x, rec, sizeof(x));
		ev = (struct agent_event){.kind = h.type == KH_REC_EXIT ? AGENT_EV_EXIT : AGENT_EV_EXITING,
		                          .time = x.time,
		                          .max_rss_kb = x.max_rss_kb,
		                          .untracked = h.type == KH_REC_EXIT ? x.untracked : 0};
		emit(d, ring, &ev);
		return;
	}
	case KH_REC_ALLOCATOR: {
		struct kh_rec_allocator a;
		if (size < sizeof(a))
			break;
		memcpy(&a, rec, sizeof(a));
		ev.kind = AGENT_EV_ALLOCATOR;
		ev.allocator = (struct agent_allocator){a.path,   a.global,     a.shim,        a.methods,
		                                        a.reason, a.candidates, a.start_rss_kb};
		emit(d, ring, &ev);
		return;
	}
	default: /* padding, the peers' handshake (the channel answers it), a newer agent's kinds */
		return;
	}
	d->bad++;
}

void agent_decode_end(struct agent_decoder *d, uint32_t ring, const struct kh_pending *pending)
{
	struct agent_decode_ring *r = ring_of(d, ring);
	if (!r->holding)
		return;
	uint32_t n = pending ? __atomic_load_n(&pending->nframes, __ATOMIC_ACQUIRE) : 0;
	if (!n || n > KH_MAX_STACK || n > UINT32_MAX - r->nnodes) {
		release_held(d, ring, 0); /* its stack never came */
		return;
	}
	/* the agent is gone: its nodes are all here, and the stack's become
	 * new nodes after them, the whole stack from the root */
	uint64_t f[KH_MAX_STACK];
	for (uint32_t i = 0; i < n; i++)
		f[i] = pending->frames[n - 1 - i];
	struct agent_event ev = {.kind = AGENT_EV_STACK, .first = r->nnodes, .parent = 0, .nframes = n, .frames = f};
	r->nnodes += n;
	emit(d, ring, &ev);
	release_held(d, ring, ev.first + n - 1);
}
