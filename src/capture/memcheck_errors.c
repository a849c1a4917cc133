/* memcheck_errors.c - collects the memcheck mode's error records and
 * places their frames in the mapped files (memcheck_errors.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/maps_line.h"
#include "capture/memcheck_errors.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct mc_map {
	uint64_t start, end, pgoff;
	char *path;
};

struct mc_ring {
	uint32_t pid;
	struct strbuf text; /* the maps text being sent */
	VEC(struct mc_map) maps;
	VEC(size_t) live; /* its blocks in memcheck_errors.leaks; sorted by address once asked for */
};

struct memcheck_errors {
	VEC(struct mc_ring) rings;
	VEC(struct mc_error) errors;
	VEC(struct mc_leak) leaks;
	struct mc_stats st;
	struct agent_channel_ops ops;
};

static struct mc_ring *ring_get(struct memcheck_errors *m, uint32_t ring)
{
	while (m->rings.n <= ring) {
		struct mc_ring *r = vec_grow(&m->rings);
		r->text = (struct strbuf)STRBUF_INIT;
	}
	return &m->rings.v[ring];
}

/* Newest first: a later text tells what was loaded since. */
static const struct mc_map *map_find(const struct mc_ring *r, uint64_t addr)
{
	for (size_t i = r->maps.n; i-- > 0;)
		if (addr >= r->maps.v[i].start && addr < r->maps.v[i].end)
			return &r->maps.v[i];
	return NULL;
}

static void maps_take(struct mc_ring *r)
{
	const char *t = strbuf_str(&r->text);
	size_t len = strlen(t);
	struct maps_line l;
	for (size_t at = 0; at < len; at += l.next) {
		bool ok = maps_line_parse(t + at, len - at, &l);
		if (!l.next)
			break;
		if (!ok || !maps_line_exec(&l) || !l.path_at || t[at + l.path_at] != '/')
			continue;
		struct mc_map *mp = vec_grow(&r->maps);
		mp->start = l.start;
		mp->end = l.end;
		mp->pgoff = l.pgoff;
		mp->path = xstrndup(t + at + l.path_at, l.path_len);
	}
	strbuf_reset(&r->text);
}

static void frames_place(const struct mc_ring *r, struct mc_frame *f, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct mc_map *mp = map_find(r, f[k].addr);
		if (mp) {
			f[k].path = mp->path;
			f[k].file_offset = f[k].addr - mp->start + mp->pgoff;
		}
	}
}

static void place(struct memcheck_errors *m, uint32_t ring)
{
	struct mc_ring *r = ring_get(m, ring);
	if (!r->maps.n)
		return;
	for (size_t i = 0; i < r->live.n; i++) {
		struct mc_leak *l = &m->leaks.v[r->live.v[i]];
		if (!l->placed) {
			frames_place(r, l->frames, l->n_frames);
			l->placed = 1;
		}
	}
	for (size_t i = 0; i < m->errors.n; i++) {
		struct mc_error *e = &m->errors.v[i];
		if (e->placed || e->ring != ring)
			continue;
		frames_place(r, e->frames, (size_t)e->rec.n_access + e->rec.n_alloc + e->rec.n_free);
		e->placed = 1;
	}
}

int memcheck_error_check(const struct kh_rec_header *rec)
{
	if (rec->type != KH_REC_MEM_ERROR || rec->size < sizeof(struct kh_rec_mem_error))
		return -EINVAL;
	const struct kh_rec_mem_error *e = (const struct kh_rec_mem_error *)rec;
	uint64_t n = (uint64_t)e->n_access + e->n_alloc + e->n_free;
	if (n > 3 * KH_MEM_FRAMES || sizeof(*e) + n * sizeof(uint64_t) > rec->size)
		return -EINVAL;
	return 0;
}

int memcheck_live_check(const struct kh_rec_header *rec)
{
	if (rec->type != KH_REC_MEM_LIVE || rec->size < sizeof(struct kh_rec_mem_live))
		return -EINVAL;
	const struct kh_rec_mem_live *l = (const struct kh_rec_mem_live *)rec;
	if (l->n_frames > KH_MEM_FRAMES || sizeof(*l) + (size_t)l->n_frames * sizeof(uint64_t) > rec->size)
		return -EINVAL;
	return 0;
}

static void live_take(struct memcheck_errors *m, uint32_t ring, struct mc_ring *r, const struct kh_rec_header *rec)
{
	if (memcheck_live_check(rec))
		return;
	const struct kh_rec_mem_live *src = (const struct kh_rec_mem_live *)rec;
	vec_push(&r->live, m->leaks.n);
	struct mc_leak *l = vec_grow(&m->leaks);
	l->addr = src->addr;
	l->size = src->size;
	l->tid = src->tid;
	l->pid = r->pid;
	l->ring = ring;
	l->n_frames = src->n_frames;
	l->frames = xcalloc(l->n_frames ? l->n_frames : 1, sizeof(*l->frames));
	const uint64_t *f = (const uint64_t *)(src + 1);
	for (uint32_t k = 0; k < l->n_frames; k++)
		l->frames[k].addr = f[k];
}

static int by_addr(const void *a, const void *b, void *leaks)
{
	const struct mc_leak *l = leaks;
	uint64_t x = l[*(const size_t *)a].addr, y = l[*(const size_t *)b].addr;
	return x < y ? -1 : x > y;
}

/* The scan asks for the process's live blocks: sorted by address. */
static int cb_live_blocks(void *ctx, uint32_t ring, struct kh_live_block **out, uint64_t *n)
{
	struct memcheck_errors *m = ctx;
	struct mc_ring *r = ring_get(m, ring);
	if (r->live.n)
		qsort_r(r->live.v, r->live.n, sizeof(*r->live.v), by_addr, m->leaks.v);
	struct kh_live_block *b = xmalloc((r->live.n + 1) * sizeof(*b));
	for (size_t i = 0; i < r->live.n; i++) {
		const struct mc_leak *l = &m->leaks.v[r->live.v[i]];
		b[i] = (struct kh_live_block){l->addr, l->size};
	}
	*out = b;
	*n = r->live.n;
	return 0;
}

static void cb_leak_classes(void *ctx, uint32_t ring, const struct kh_live_block *b, const uint8_t *cls, uint64_t n)
{
	struct memcheck_errors *m = ctx;
	struct mc_ring *r = ring_get(m, ring);
	/* the image is the one cb_live_blocks made: same order */
	for (uint64_t i = 0; i < n && i < r->live.n; i++) {
		struct mc_leak *l = &m->leaks.v[r->live.v[i]];
		if (l->addr == b[i].addr && cls[i] <= KH_LEAK_DEFINITE)
			l->cls = cls[i];
	}
	m->st.scanned++;
}

static void cb_ring_new(void *ctx, uint32_t ring, const struct kh_ring_header *h)
{
	struct memcheck_errors *m = ctx;
	ring_get(m, ring)->pid = h->pid;
	m->st.processes++;
}

static void cb_record(void *ctx, uint32_t ring, const struct kh_rec_header *rec)
{
	struct memcheck_errors *m = ctx;
	struct mc_ring *r = ring_get(m, ring);
	switch (rec->type) {
	case KH_REC_MAPS: {
		size_t len = rec->size - sizeof(*rec);
		const char *text = (const char *)(rec + 1);
		strbuf_add(&r->text, text, strnlen(text, len));
		break;
	}
	case KH_REC_MAPS_END:
		maps_take(r);
		place(m, ring);
		break;
	case KH_REC_MEM_ERROR: {
		if (memcheck_error_check(rec))
			break;
		const struct kh_rec_mem_error *src = (const struct kh_rec_mem_error *)rec;
		struct mc_error *e = vec_grow(&m->errors);
		e->rec = *src;
		e->pid = r->pid;
		e->ring = ring;
		size_t n = (size_t)src->n_access + src->n_alloc + src->n_free;
		const uint64_t *f = (const uint64_t *)(src + 1);
		e->frames = xcalloc(n ? n : 1, sizeof(*e->frames));
		for (size_t k = 0; k < n; k++)
			e->frames[k].addr = f[k];
		break;
	}
	case KH_REC_MEM_LIVE:
		live_take(m, ring, r, rec);
		break;
	case KH_REC_MEM_STATS:
		if (rec->size >= sizeof(struct kh_rec_mem_stats)) {
			const struct kh_rec_mem_stats *s = (const struct kh_rec_mem_stats *)rec;
			m->st.guarded += s->guarded;
			m->st.unguarded += s->unguarded;
			m->st.evicted += s->evicted;
			m->st.over_limit += s->over_limit;
			m->st.no_room += s->no_room;
			m->st.foreign_frees += s->foreign_frees;
			if (s->max_guarded > m->st.max_guarded)
				m->st.max_guarded = s->max_guarded;
			m->st.sample = s->sample;
			m->st.counted++;
		}
		break;
	default:
		break;
	}
}

static void cb_ring_end(void *ctx, uint32_t ring, const struct kh_pending *pending, bool clean)
{
	(void)pending;
	(void)clean;
	struct memcheck_errors *m = ctx;
	place(m, ring);
}

struct memcheck_errors *memcheck_errors_new(void)
{
	struct memcheck_errors *m = xcalloc(1, sizeof(*m));
	m->ops.ctx = m;
	m->ops.ring_new = cb_ring_new;
	m->ops.record = cb_record;
	m->ops.live_blocks = cb_live_blocks;
	m->ops.leak_classes = cb_leak_classes;
	m->ops.ring_end = cb_ring_end;
	return m;
}

void memcheck_errors_free(struct memcheck_errors *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->rings.n; i++) {
		struct mc_ring *r = &m->rings.v[i];
		for (size_t k = 0; k < r->maps.n; k++)
			free(r->maps.v[k].path);
		vec_free(&r->maps);
		vec_free(&r->live);
		strbuf_release(&r->text);
	}
	vec_free(&m->rings);
	for (size_t i = 0; i < m->errors.n; i++)
		free(m->errors.v[i].frames);
	vec_free(&m->errors);
	for (size_t i = 0; i < m->leaks.n; i++)
		free(m->leaks.v[i].frames);
	vec_free(&m->leaks);
	free(m);
}

const struct agent_channel_ops *memcheck_errors_ops(struct memcheck_errors *m)
{
	return &m->ops;
}

size_t memcheck_errors_count(const struct memcheck_errors *m)
{
	return m->errors.n;
}

const struct mc_error *memcheck_errors_get(const struct memcheck_errors *m, size_t i)
{
	return i < m->errors.n ? &m->errors.v[i] : NULL;
}

void memcheck_errors_stats(const struct memcheck_errors *m, struct mc_stats *out)
{
	*out = m->st;
}

size_t memcheck_errors_leaks(const struct memcheck_errors *m, const struct mc_leak **out)
{
	*out = m->leaks.v;
	return m->leaks.n;
}
