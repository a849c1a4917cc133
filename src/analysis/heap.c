/* heap.c - heap findings from the agent's allocation events (heap.h). */
#include "analysis/heap_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/alloc_site.h"
#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/xalloc.h"

/* a + b on the heap's signed byte counts, wrapping as unsigned: the
 * sizes come from the profiled program, and no count of its may make
 * kiln's arithmetic undefined. */
static inline int64_t wrap_add(int64_t a, uint64_t b)
{
	return (int64_t)((uint64_t)a + b);
}

#define SERIES_STEP_NS     1000000ull /* one heap-size point per millisecond at most, at first */
#define SERIES_STEP_EVENTS 64         /* and one per 64 allocation events */

struct heap_analysis *heap_new(struct profile *p)
{
	struct heap_analysis *h = xcalloc(1, sizeof(*h));
	h->p = p;
	h->series_step = SERIES_STEP_NS;
	h->series_events = SERIES_STEP_EVENTS;
	h->tot.start_ns = UINT64_MAX;
	vec_grow(&h->leaks); /* entry 0: no leaks */
	return h;
}

struct profile *heap_analysis_profile(const struct heap_analysis *h)
{
	return h->p;
}

const struct alloc_rule *heap_alloc_rule(const struct heap_analysis *h)
{
	return h->rule;
}

const struct heap_totals *heap_get_totals(const struct heap_analysis *h)
{
	return &h->tot;
}

void heap_note_max_rss(struct heap_analysis *h, uint64_t max_rss_kb)
{
	if (max_rss_kb > h->tot.max_rss_kb)
		h->tot.max_rss_kb = max_rss_kb;
}

bool heap_has_stacks(const struct heap_analysis *h)
{
	for (size_t i = 0; i < h->procs.n; i++)
		if (h->procs.v[i].nnodes > 1)
			return true;
	return false;
}

const struct heap_process *heap_processes(const struct heap_analysis *h, size_t *n)
{
	if (n)
		*n = h->processes.n;
	return h->processes.v;
}

uint32_t heap_npids(const struct heap_analysis *h)
{
	return h->npids;
}

size_t heap_raw_site_count(const struct heap_analysis *h)
{
	return h->sites.n;
}

const struct heap_site *heap_raw_site(const struct heap_analysis *h, uint32_t i)
{
	return i < h->sites.n ? &h->sites.v[i] : NULL;
}

size_t heap_merged_count(const struct heap_analysis *h)
{
	return h->merged.n;
}

const struct heap_point *heap_series(const struct heap_analysis *h, size_t *n)
{
	*n = h->series.n;
	return h->series.v;
}

const struct heap_double_free *heap_double_frees(const struct heap_analysis *h, size_t *n)
{
	*n = h->double_frees.n;
	return h->double_frees.v;
}

void heap_set_address_hook(struct heap_analysis *h, void (*fn)(void *ctx, const char *path, uint64_t file_offset),
                           void *ctx)
{
	h->on_address = fn;
	h->on_address_ctx = ctx;
}

void heap_free(struct heap_analysis *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->procs.n; i++) {
		struct heap_proc *pr = &h->procs.v[i];
		vec_free(&pr->stack_sites);
		vec_free(&pr->node_ips);
		vec_free(&pr->node_parents);
		free(pr->live);
		free(pr->freed);
		strbuf_release(&pr->paths);
		keymap_release(&pr->seen);
		hashmap_release(&pr->told);
		vec_free(&pr->xmaps);
		vec_free(&pr->loc_ips);
	}
	vec_free(&h->procs);
	heap_processes_clear(h);
	vec_free(&h->sites);
	vec_free(&h->series);
	vec_free(&h->deltas);
	vec_free(&h->dirty);
	vec_free(&h->leaks);
	vec_free(&h->double_frees);
	if (!h->merged_is_sites)
		vec_free(&h->merged);
	vec_free(&h->groups);
	free(h);
}

const char *heap_class_name(int cls)
{
	switch (cls) {
	case HEAP_LEAK_REACHABLE:
		return "still reachable";
	case HEAP_LEAK_POSSIBLE:
		return "possibly lost";
	case HEAP_LEAK_INDIRECT:
		return "indirectly lost";
	case HEAP_LEAK_DEFINITE:
		return "definitely lost";
	default:
		return "not scanned";
	}
}

/* ---- live blocks: linear probing, backward-shift deletion ---- */

static struct heap_live *live_find(const struct heap_proc *pr, uint64_t addr)
{
	if (!pr->live_cap)
		return NULL;
	uint64_t m = pr->live_cap - 1, i = hash_u64(addr) & m;
	while (pr->live[i].addr) {
		if (pr->live[i].addr == addr)
			return &pr->live[i];
		i = (i + 1) & m;
	}
	return NULL;
}

static void live_grow(struct heap_proc *pr)
{
	struct heap_live *old = pr->live;
	uint64_t ocap = pr->live_cap;
	pr->live_cap = ocap ? ocap * 2 : 1024;
	pr->live = xcalloc(pr->live_cap, sizeof(*pr->live));
	uint64_t m = pr->live_cap - 1;
	for (uint64_t i = 0; i < ocap; i++) {
		if (!old[i].addr)
			continue;
		uint64_t j = hash_u64(old[i].addr) & m;
		while (pr->live[j].addr)
			j = (j + 1) & m;
		pr->live[j] = old[i];
	}
	free(old);
}

/* The slot of addr: its block, or the empty slot where it goes (then
 * counted in live_n: the caller fills it). One probe sequence for the
 * lookup and the insert. */
static struct heap_live *live_slot(struct heap_proc *pr, uint64_t addr)
{
	if ((pr->live_n + 1) * 4 > pr->live_cap * 3)
		live_grow(pr);
	uint64_t m = pr->live_cap - 1, i = hash_u64(addr) & m;
	while (pr->live[i].addr && pr->live[i].addr != addr)
		i = (i + 1) & m;
	if (!pr->live[i].addr)
		pr->live_n++;
	return &pr->live[i];
}

static void live_remove(struct heap_proc *pr, struct heap_live *slot)
{
	uint64_t m = pr->live_cap - 1, i = (uint64_t)(slot - pr->live), j = i;
	pr->live[i].addr = 0;
	pr->live_n--;
	for (;;) {
		j = (j + 1) & m;
		if (!pr->live[j].addr)
			break;
		uint64_t k = hash_u64(pr->live[j].addr) & m;
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		pr->live[i] = pr->live[j];
		pr->live[j].addr = 0;
		i = j;
	}
}

/* ---- leaks by class ---- */

const struct heap_leaks *heap_site_leaks(const struct heap_analysis *h, const struct heap_site *s)
{
	return &h->leaks.v[s->leaks < h->leaks.n ? s->leaks : 0];
}

uint64_t heap_site_leaked_bytes(const struct heap_analysis *h, const struct heap_site *s)
{
	const struct heap_leaks *l = heap_site_leaks(h, s);
	return l->bytes[0] + l->bytes[1] + l->bytes[2] + l->bytes[3] + l->bytes[4];
}

uint64_t heap_site_leaked_blocks(const struct heap_analysis *h, const struct heap_site *s)
{
	const struct heap_leaks *l = heap_site_leaks(h, s);
	return l->blocks[0] + l->blocks[1] + l->blocks[2] + l->blocks[3] + l->blocks[4];
}

uint32_t heap_site_view(const struct heap_analysis *h, uint32_t i)
{
	if (i >= h->sites.n)
		return UINT32_MAX;
	uint32_t m = h->merged_is_sites ? i : h->sites.v[i].link;
	if (!h->groups.n)
		return m;
	return m < h->merged.n ? h->merged.v[m].link : UINT32_MAX;
}

static struct heap_leaks *site_leaks_mut(struct heap_analysis *h, struct heap_site *s)
{
	if (!s->leaks) {
		vec_grow(&h->leaks);
		s->leaks = (uint32_t)(h->leaks.n - 1);
	}
	return &h->leaks.v[s->leaks];
}

/* ---- maps ---- */

static const char *xmap_path(const struct heap_proc *pr, const struct heap_xmap *m)
{
	return pr->paths.buf + m->path_off;
}

static uint64_t xmap_hash(uint64_t start, uint64_t end, uint64_t pgoff, const char *path)
{
	return hash_mix(hash_mix(start, end), hash_mix(pgoff, hash_bytes(path, strlen(path))));
}

struct xmap_key {
	const struct heap_proc *pr;
	const struct heap_mapping *m;
};

static bool xmap_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct heap_proc *pr = ctx;
	const struct heap_mapping *m = key;
	const struct heap_xmap *x = &pr->xmaps.v[id];
	return x->start == m->start && x->end == m->end && x->pgoff == m->pgoff && !strcmp(xmap_path(pr, x), m->path);
}

void heap_on_mappings(struct heap_analysis *h, uint32_t ring, const struct heap_mapping *m, size_t n)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	/* every copy is kept, each mapping once: libraries mapped later
	 * appear in later copies */
	for (size_t i = 0; i < n; i++) {
		const char *path = m[i].path ? m[i].path : "";
		struct heap_mapping k = m[i];
		k.path = path;
		uint64_t hash = xmap_hash(k.start, k.end, k.pgoff, path);
		if (keymap_find(&pr->seen, hash, xmap_eq, pr, &k) != KEYMAP_NONE)
			continue;
		struct heap_xmap x = {k.start, k.end, k.pgoff, pr->paths.len};
		strbuf_add(&pr->paths, path, strlen(path) + 1);
		keymap_add(&pr->seen, hash, (uint32_t)pr->xmaps.n);
		vec_push(&pr->xmaps, x);
	}
}

/* The executable's path of a process: its first executable file mapping
 * (a program is mapped below its libraries). A malloc'ed string, "" when
 * there is none. */
static char *proc_command(const struct heap_proc *pr)
{
	for (size_t i = 0; i < pr->xmaps.n; i++)
		if (xmap_path(pr, &pr->xmaps.v[i])[0] == '/')
			return xstrdup(xmap_path(pr, &pr->xmaps.v[i]));
	return xstrdup("");
}

/* Tells on_address about a code address seen for the first time. */
static void tell_new_address(struct heap_analysis *h, struct heap_proc *pr, uint64_t ip)
{
	/* the latest copy of the maps wins where ranges were reused */
	for (size_t i = pr->xmaps.n; i-- > 0;) {
		const struct heap_xmap *m = &pr->xmaps.v[i];
		if (ip >= m->start && ip < m->end) {
			const char *path = xmap_path(pr, m);
			if (*path == '/')
				h->on_address(h->on_address_ctx, path, ip - m->start + m->pgoff);
			return;
		}
	}
}

/* Tells on_address about a code address the first time it is seen. */
static void tell_address(struct heap_analysis *h, struct heap_proc *pr, uint64_t ip)
{
	uint64_t dummy;
	if (ip == UINT64_MAX || hashmap_get(&pr->told, ip, &dummy))
		return;
	hashmap_put(&pr->told, ip, 1);
	tell_new_address(h, pr, ip);
}

/* The location a code address of the live-copied process will have: its
 * index in loc_ips, where it is added the first time it is seen. */
static uint32_t live_location(struct heap_analysis *h, struct heap_proc *pr, uint64_t ip)
{
	uint64_t id;
	if (ip == UINT64_MAX) { /* the hashmap's empty key */
		if (!pr->loc_unknown) {
			vec_push(&pr->loc_ips, ip);
			pr->loc_unknown = (uint32_t)pr->loc_ips.n;
		}
		return pr->loc_unknown - 1;
	}
	if (hashmap_get(&pr->told, ip, &id))
		return (uint32_t)id;
	id = pr->loc_ips.n;
	vec_push(&pr->loc_ips, ip);
	hashmap_put(&pr->told, ip, id);
	if (h->on_address)
		tell_new_address(h, pr, ip);
	return (uint32_t)id;
}

/* ---- events ---- */

void heap_on_process(struct heap_analysis *h, uint32_t ring, uint32_t pid, uint32_t ppid, uint64_t start_ns)
{
	while (h->procs.n <= ring)
		vec_grow(&h->procs);
	struct heap_proc *pr = &h->procs.v[ring];
	if (!pr->nnodes) {
		pr->nnodes = 1; /* node 0: the root */
		/* into a profile still empty, the first process's nodes go as
		 * they come: its locations will be the first ones made */
		const struct profile *p = h->p;
		pr->live_copy = !h->live_copy_taken && p->stacks.n == 1 && !p->locations.n;
		h->live_copy_taken |= pr->live_copy;
	}
	pr->pid = pid;
	pr->ppid = ppid;
	while (h->processes.n <= ring)
		vec_grow(&h->processes);
	h->processes.v[ring].pid = pid;
	h->processes.v[ring].ppid = ppid;
	h->tot.processes++;
	if (start_ns < h->tot.start_ns)
		h->tot.start_ns = start_ns;
}

static uint64_t rel_time(struct heap_analysis *h, uint64_t t)
{
	uint64_t r = t > h->tot.start_ns ? t - h->tot.start_ns : 0;
	if (r < h->last_t)
		r = h->last_t; /* rings are read one after another: keep time monotonic */
	h->last_t = r;
	return r;
}

/* ---- the deltas, packed (heap.h) ---- */

static void put_varint(heap_byte_vec *b, uint64_t v)
{
	while (v >= 0x80) {
		vec_push(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	vec_push(b, (uint8_t)v);
}

static uint64_t get_varint(const uint8_t *b, size_t n, size_t *at)
{
	uint64_t v = 0;
	for (unsigned shift = 0; *at < n && shift < 64; shift += 7) {
		uint8_t c = b[(*at)++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	return v;
}

/* Appends a delta at point, which is at or after the last one's. */
static void delta_put(heap_byte_vec *b, uint32_t *last_point, const struct heap_delta *d)
{
	put_varint(b, d->point - *last_point);
	put_varint(b, d->site);
	put_varint(b, ((uint64_t)d->bytes << 1) ^ (uint64_t)(d->bytes >> 63));
	*last_point = d->point;
}

static bool delta_get(const uint8_t *b, size_t n, struct heap_delta_cursor *c, struct heap_delta *out)
{
	if (c->at >= n)
		return false;
	c->point += (uint32_t)get_varint(b, n, &c->at);
	out->point = c->point;
	out->site = (uint32_t)get_varint(b, n, &c->at);
	uint64_t z = get_varint(b, n, &c->at);
	out->bytes = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	return true;
}

bool heap_delta_next(const struct heap_analysis *h, struct heap_delta_cursor *c, struct heap_delta *out)
{
	return delta_get(h->deltas.v, h->deltas.n, c, out);
}

static void flush_dirty(struct heap_analysis *h, uint32_t point)
{
	for (size_t i = 0; i < h->dirty.n; i++) {
		struct heap_site *s = &h->sites.v[h->dirty.v[i].site];
		s->dirty = false;
		/* changes, not values: the chart needs no value per site to
		 * follow them, and a temporary block's site has none to keep */
		struct heap_delta d = {point, h->dirty.v[i].site,
		                       wrap_add(s->live_bytes, -(uint64_t)h->dirty.v[i].before)};
		if (d.bytes) {
			delta_put(&h->deltas, &h->deltas_point, &d);
			h->ndeltas++;
		}
	}
	vec_clear(&h->dirty);
}

/* The deltas of one new point being merged by series_thin(). */
struct thin_group {
	VEC(struct heap_delta) v;
	uint32_t *at; /* site -> its entry in v, when that entry is its */
};

static void thin_emit(struct heap_analysis *h, struct thin_group *g, heap_byte_vec *out)
{
	for (size_t i = 0; i < g->v.n; i++)
		if (g->v.v[i].bytes) { /* a block allocated and freed within the pair */
			delta_put(out, &h->deltas_point, &g->v.v[i]);
			h->ndeltas++;
		}
	vec_clear(&g->v);
}

/* Halves a full series: each pair of neighbouring points becomes the one
 * with the larger heap (a point holds the largest heap of its interval, so
 * the peak stays), and points come half as often from now on. The series
 * keeps the run's shape at an even resolution in bounded memory, however
 * many events come. The deltas by a point give the sites' bytes at its
 * largest heap: a pair's second point's deltas, when the first won, move
 * on to the next point, and one delta per site and point remains. Their
 * new points never decrease along the deltas, so each new point's deltas
 * are merged in a small group and packed again into a new stream. */
static void series_thin(struct heap_analysis *h)
{
	const struct heap_point *v = h->series.v;
	size_t n = h->series.n;
	struct thin_group g = {{0}, xcalloc(h->sites.n + 1, sizeof(*g.at))};
	heap_byte_vec out = {0};
	vec_reserve(&out, h->deltas.n / 2 + 16);
	struct heap_delta_cursor c = {0};
	struct heap_delta d;
	h->deltas_point = 0;
	h->ndeltas = 0;
	while (delta_get(h->deltas.v, h->deltas.n, &c, &d)) {
		bool lost = (d.point & 1) && v[d.point].bytes <= v[d.point - 1].bytes;
		d.point = d.point / 2 + (lost ? 1 : 0);
		if (g.v.n && g.v.v[0].point != d.point)
			thin_emit(h, &g, &out);
		uint32_t k = g.at[d.site];
		if (k < g.v.n && g.v.v[k].site == d.site) {
			g.v.v[k].bytes = wrap_add(g.v.v[k].bytes, (uint64_t)d.bytes);
			continue;
		}
		g.at[d.site] = (uint32_t)g.v.n;
		vec_push(&g.v, d);
	}
	thin_emit(h, &g, &out);
	vec_free(&g.v);
	free(g.at);
	vec_free(&h->deltas);
	h->deltas = out;
	for (size_t i = 0; i < n; i += 2) {
		const struct heap_point *a = &v[i], *b = i + 1 < n ? &v[i + 1] : a;
		h->series.v[i / 2] = b->bytes > a->bytes ? *b : *a;
	}
	h->series.n = (n + 1) / 2;
	h->series_step *= 2;
	h->series_events *= 2;
}

static void series_tick(struct heap_analysis *h, uint64_t rel)
{
	struct heap_point *last = h->series.n ? &h->series.v[h->series.n - 1] : NULL;
	uint64_t now = h->heap_now > 0 ? (uint64_t)h->heap_now : 0;
	/* a point per millisecond, and per 64 events: the agent's clock ticks
	 * coarsely, and a short run still gets a shape */
	if (!last || rel >= last->t + h->series_step || h->tot.events - last->ev >= h->series_events) {
		if (h->series.n >= HEAP_SERIES_MAX)
			series_thin(h); /* the changes not yet flushed belong to the new point */
		struct heap_point pt = {rel, h->tot.events, now};
		vec_push(&h->series, pt);
		flush_dirty(h, (uint32_t)(h->series.n - 1));
	} else if (now > last->bytes) {
		/* a point holds the largest heap of its interval, peaks included */
		last->bytes = now;
		flush_dirty(h, (uint32_t)(h->series.n - 1));
	}
}

/* delta: two's complement, as wrap_add() takes it */
static void site_change(struct heap_analysis *h, uint32_t site, uint64_t delta)
{
	struct heap_site *s = &h->sites.v[site];
	/* The value at the latest peak is the value before the first change after it. */
	if (s->snap_gen != h->peak_gen) {
		s->peak_bytes = s->live_bytes > 0 ? (uint64_t)s->live_bytes : 0;
		s->snap_gen = h->peak_gen;
	}
	if (!s->dirty) {
		s->dirty = true;
		struct heap_dirty d = {site, s->live_bytes};
		vec_push(&h->dirty, d);
	}
	s->live_bytes = wrap_add(s->live_bytes, delta);
}

static uint32_t site_new(struct heap_analysis *h, uint32_t ring, uint32_t agent_node)
{
	struct heap_site *s = vec_grow(&h->sites);
	if (!h->procs.v[ring].live_copy)
		h->other_sites++;
	s->proc = ring;
	s->agent_node = agent_node;
	s->snap_gen = h->peak_gen;
	return (uint32_t)(h->sites.n - 1);
}

/* The site of an agent stack node, made on its first allocation. */
static uint32_t site_of(struct heap_analysis *h, uint32_t ring, uint32_t node)
{
	struct heap_proc *pr = &h->procs.v[ring];
	if (node >= pr->nnodes)
		node = 0; /* a node we were never told about: count it at the root */
	while (pr->stack_sites.n <= node)
		vec_push(&pr->stack_sites, UINT32_MAX);
	if (pr->stack_sites.v[node] != UINT32_MAX)
		return pr->stack_sites.v[node];
	uint32_t s = site_new(h, ring, node);
	h->procs.v[ring].stack_sites.v[node] = s;
	return s;
}

static struct heap_freed *freed_slot(const struct heap_proc *pr, uint64_t addr)
{
	return pr->freed ? &pr->freed[hash_u64(addr) & (HEAP_FREED_SLOTS - 1)] : NULL;
}

static void double_free(struct heap_analysis *h, const struct heap_proc *pr, uint64_t addr, uint32_t site)
{
	h->tot.double_frees++;
	for (size_t i = 0; i < h->double_frees.n; i++)
		if (h->double_frees.v[i].site == site) {
			h->double_frees.v[i].count++;
			return;
		}
	if (h->double_frees.n < HEAP_DOUBLE_FREE_SITES) {
		struct heap_double_free d = {site, pr->pid, addr, 1};
		vec_push(&h->double_frees, d);
	}
}

void heap_on_alloc(struct heap_analysis *h, uint32_t ring, uint64_t t, uint64_t addr, uint64_t size, uint32_t stack)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	uint32_t site = site_of(h, ring, stack);
	pr = &h->procs.v[ring];
	struct heap_process *pt = &h->processes.v[ring];
	struct heap_live *slot = live_slot(pr, addr);
	if (slot->addr) {
		/* a free we never saw (should not happen): drop the stale block */
		h->heap_now = wrap_add(h->heap_now, -slot->size);
		pt->heap_now = wrap_add(pt->heap_now, -slot->size);
		site_change(h, slot->site, -slot->size);
	}
	struct heap_site *s = &h->sites.v[site];
	s->alloc_bytes += size;
	s->allocs++;
	pt->allocs++;
	pt->alloc_bytes += size;
	pt->heap_now = wrap_add(pt->heap_now, size);
	if (pt->heap_now > 0 && (uint64_t)pt->heap_now > pt->peak_bytes)
		pt->peak_bytes = (uint64_t)pt->heap_now;
	h->tot.allocs++;
	h->tot.alloc_bytes += size;
	*slot = (struct heap_live){addr, size, site, 0};
	struct heap_freed *fr = freed_slot(pr, addr);
	if (fr && addr && fr->addr == addr)
		fr->addr = 0; /* in use again: its next free is a free */
	site_change(h, site, size);
	h->heap_now = wrap_add(h->heap_now, size);
	h->tot.events++;
	uint64_t rel = rel_time(h, t);
	if (h->heap_now > 0 && (uint64_t)h->heap_now > h->tot.peak_bytes) {
		h->tot.peak_bytes = (uint64_t)h->heap_now;
		h->tot.peak_time = rel;
		h->tot.peak_event = h->tot.events;
		h->peak_gen++;
	}
	pr->last_alloc = addr;
	series_tick(h, rel);
}

void heap_on_free(struct heap_analysis *h, uint32_t ring, uint64_t t, uint64_t addr)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	struct heap_live *b = live_find(pr, addr);
	if (!b) {
		struct heap_freed *fr = freed_slot(pr, addr);
		if (fr && addr && fr->addr == addr)
			double_free(h, pr, addr, fr->site);
		/* libc's cleanup at exit frees what the loader allocated before
		 * any hook could see it: in every program, not the program's */
		else if (!pr->freeres)
			h->tot.unknown_frees++;
		return;
	}
	if (!pr->freed)
		pr->freed = xcalloc(HEAP_FREED_SLOTS, sizeof(*pr->freed));
	*freed_slot(pr, addr) = (struct heap_freed){addr, b->site};
	struct heap_site *s = &h->sites.v[b->site];
	struct heap_process *pt = &h->processes.v[ring];
	/* heaptrack's temporary: freed with no allocation since its own */
	if (addr == pr->last_alloc) {
		s->temporary++;
		h->tot.temporary++;
		pt->temporary++;
	}
	pr->last_alloc = 0;
	h->tot.frees++;
	pt->frees++;
	pt->heap_now = wrap_add(pt->heap_now, -b->size);
	h->tot.events++;
	h->heap_now = wrap_add(h->heap_now, -b->size);
	site_change(h, b->site, -b->size);
	live_remove(pr, b);
	series_tick(h, rel_time(h, t));
}

void heap_on_realloc(struct heap_analysis *h, uint32_t ring, uint64_t t, uint64_t old_addr, uint64_t addr,
                     uint64_t size, uint32_t stack)
{
	if (ring >= h->procs.n)
		return;
	/* as heaptrack: the old block is freed, a new one allocated */
	h->tot.reallocs++;
	heap_on_free(h, ring, t, old_addr);
	heap_on_alloc(h, ring, t, addr, size, stack);
}

void heap_on_stack(struct heap_analysis *h, uint32_t ring, uint32_t first, uint32_t parent, const uint64_t *f,
                   uint32_t n)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	if (!pr->nnodes)
		pr->nnodes = 1; /* the root */
	if (first != pr->nnodes || parent >= pr->nnodes || n > UINT32_MAX - pr->nnodes)
		return; /* out of order: never written so by the agent */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t up = i ? first + i - 1 : parent;
		if (pr->live_copy) {
			/* node k is the profile's node k: nothing to keep */
			profile_stack_append(h->p, up, live_location(h, pr, f[i]));
		} else {
			if (h->on_address)
				tell_address(h, pr, f[i]);
			if (!pr->node_ips.n) {
				vec_push(&pr->node_ips, 0); /* the root's */
				vec_push(&pr->node_parents, 0);
			}
			vec_push(&pr->node_ips, f[i]);
			vec_push(&pr->node_parents, up);
		}
		pr->nnodes++;
	}
}

void heap_on_exec(struct heap_analysis *h, uint32_t ring)
{
	if (ring < h->procs.n)
		h->procs.v[ring].exec = true;
}

void heap_on_freeres(struct heap_analysis *h, uint32_t ring)
{
	if (ring < h->procs.n)
		h->procs.v[ring].freeres = true;
}

void heap_on_exit(struct heap_analysis *h, uint32_t ring, uint64_t time, uint64_t max_rss_kb, bool last,
                  uint64_t untracked)
{
	if (ring >= h->procs.n)
		return;
	if (max_rss_kb > h->tot.max_rss_kb)
		h->tot.max_rss_kb = max_rss_kb;
	if (last) {
		h->procs.v[ring].exited = true;
		rel_time(h, time);
		h->tot.untracked += untracked;
	}
}

/* How much a path tells: a warning over a diverted shim over malloc;
 * within one, a Rust module's over a C one's (a C host's Rust plugin). */
static int path_rank(uint32_t path)
{
	return path == HEAP_PATH_MISSING || path == HEAP_PATH_REFUSED ? 3 : path == HEAP_PATH_SHIM ? 2 : 1;
}

void heap_on_allocator(struct heap_analysis *h, uint32_t ring, const struct heap_allocator *a)
{
	(void)ring;
	struct heap_allocator *t = &h->tot.alloc_path;
	uint64_t start = t->known ? t->start_rss_kb : a->start_rss_kb;
	bool rust_first = path_rank(a->path) == path_rank(t->path) && t->global == HEAP_GA_NONE;
	if (!t->known || path_rank(a->path) > path_rank(t->path) || rust_first)
		*t = *a;
	t->known = 1;
	t->start_rss_kb = start;
}

const char *heap_global_alloc_name(uint32_t global)
{
	static const char *const names[] = {NULL, "System", "jemalloc", "mimalloc", "custom", "unknown"};
	return global < sizeof(names) / sizeof(names[0]) ? names[global] : NULL;
}

/* The heap grew by at least this much and the allocations seen explain
 * less than a quarter of it: a custom allocator is likely. */
#define UNSEEN_MIN_KB (32u * 1024)

uint64_t heap_unseen_growth_kb(const struct heap_analysis *h)
{
	const struct heap_totals *t = &h->tot;
	if (!t->alloc_path.known || t->alloc_path.path == HEAP_PATH_SHIM || t->max_rss_kb <= t->alloc_path.start_rss_kb)
		return 0;
	uint64_t growth = t->max_rss_kb - t->alloc_path.start_rss_kb;
	if (growth < UNSEEN_MIN_KB || t->peak_bytes / 1024 >= growth / 4)
		return 0;
	return growth;
}

void heap_on_counted(struct heap_analysis *h, uint32_t processes, uint64_t allocs, uint64_t frees, uint64_t bytes,
                     const uint32_t *pids, uint32_t npids)
{
	struct heap_totals *t = &h->tot;
	t->counted_processes += processes;
	t->counted_allocs += allocs;
	t->counted_frees += frees;
	t->counted_bytes += bytes;
	for (uint32_t i = 0; i < npids && t->counted_npids < HEAP_COUNTED_PIDS; i++)
		t->counted_pids[t->counted_npids++] = pids[i];
}

static int cmp_block(const void *a, const void *b)
{
	const struct heap_block *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int heap_live_blocks(struct heap_analysis *h, uint32_t ring, struct heap_block **out, uint64_t *n)
{
	if (ring >= h->procs.n)
		return -EINVAL;
	struct heap_proc *pr = &h->procs.v[ring];
	struct heap_block *b = xmalloc((pr->live_n + 1) * sizeof(*b));
	uint64_t k = 0;
	for (uint64_t i = 0; i < pr->live_cap; i++)
		if (pr->live[i].addr) {
			b[k].addr = pr->live[i].addr;
			b[k].size = pr->live[i].size;
			k++;
		}
	qsort(b, k, sizeof(*b), cmp_block);
	*out = b;
	*n = k;
	return 0;
}

void heap_on_classes(struct heap_analysis *h, uint32_t ring, const struct heap_block *b, const uint8_t *cls, uint64_t n)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	for (uint64_t i = 0; i < n; i++) {
		struct heap_live *l = live_find(pr, b[i].addr);
		if (l && cls[i] <= HEAP_LEAK_DEFINITE)
			l->cls = cls[i];
	}
	pr->scanned = true;
	h->processes.v[ring].scanned = true;
	h->tot.scanned++;
}

void heap_on_ring_end(struct heap_analysis *h, uint32_t ring, bool clean)
{
	if (ring >= h->procs.n)
		return;
	struct heap_proc *pr = &h->procs.v[ring];
	/* no free comes any more: the table is for running processes */
	free(pr->freed);
	pr->freed = NULL;
	bool gone_by_exec = pr->exec && !pr->exited;
	struct heap_process *pt = &h->processes.v[ring];
	pt->exec = gone_by_exec;
	if (!clean && !gone_by_exec)
		h->tot.unclean++;
	for (uint64_t i = 0; i < pr->live_cap; i++) {
		const struct heap_live *l = &pr->live[i];
		if (!l->addr)
			continue;
		if (gone_by_exec) {
			h->tot.exec_bytes += l->size;
			h->tot.exec_blocks++;
			continue;
		}
		struct heap_site *s = &h->sites.v[l->site];
		struct heap_leaks *lk = site_leaks_mut(h, s);
		lk->bytes[l->cls] += l->size;
		lk->blocks[l->cls]++;
		h->tot.leaked_bytes += l->size;
		h->tot.leaked_blocks++;
		h->tot.class_bytes[l->cls] += l->size;
		h->tot.class_blocks[l->cls]++;
		pt->leaked_bytes += l->size;
		pt->leaked_blocks++;
		pt->class_bytes[l->cls] += l->size;
		pt->class_blocks[l->cls]++;
	}
}

/* ---- the profile ---- */

struct proc_map {
	uint64_t start, end;
	uint32_t id;
};

static int cmp_map(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Adds the executable mappings of a process to the profile; returns them sorted. */
static void add_mappings(struct profile *p, const struct heap_proc *pr, struct proc_map **out, size_t *nout)
{
	VEC(struct proc_map) maps = {0};
	for (size_t i = 0; i < pr->xmaps.n; i++) {
		const struct heap_xmap *x = &pr->xmaps.v[i];
		struct profile_mapping m = {0};
		m.pid = pr->pid;
		m.start = x->start;
		m.end = x->end;
		m.pgoff = x->pgoff;
		m.path = profile_intern(p, xmap_path(pr, x));
		struct proc_map pm = {x->start, x->end, profile_add_mapping(p, &m)};
		vec_push(&maps, pm);
	}
	if (maps.n)
		qsort(maps.v, maps.n, sizeof(*maps.v), cmp_map);
	*out = maps.v;
	*nout = maps.n;
}

static uint32_t map_lookup(const struct proc_map *m, size_t n, uint64_t addr)
{
	size_t l = 0, r = n;
	while (l < r) {
		size_t mid = (l + r) / 2;
		if (m[mid].end <= addr)
			l = mid + 1;
		else
			r = mid;
	}
	/* the last copy of the maps wins where ranges were reused */
	uint32_t found = PROFILE_NO_MAPPING;
	for (size_t i = l; i < n && m[i].start <= addr; i++)
		if (addr < m[i].end)
			found = m[i].id;
	return found;
}

static void merge_into(struct heap_analysis *h, struct heap_site *d, const struct heap_site *s)
{
	d->alloc_bytes += s->alloc_bytes;
	d->allocs += s->allocs;
	d->temporary += s->temporary;
	d->live_bytes = wrap_add(d->live_bytes, (uint64_t)s->live_bytes);
	d->peak_bytes += s->peak_bytes;
	if (!s->leaks)
		return;
	struct heap_leaks *dl = site_leaks_mut(h, d);
	const struct heap_leaks *sl = heap_site_leaks(h, s); /* after the grow: it may move */
	for (int c = 0; c < 5; c++) {
		dl->bytes[c] += sl->bytes[c];
		dl->blocks[c] += sl->blocks[c];
	}
}

/* Agent node k (0 < k < nnodes) of a process: its address and parent.
 * The live-copied process's are its profile node's (src, before
 * heap_finish(): a location there is an index in loc_ips). */
static uint64_t node_ip(const struct heap_proc *pr, const struct profile *src, uint32_t k)
{
	if (!pr->live_copy)
		return pr->node_ips.v[k];
	uint32_t loc = src->stacks.v[k].location;
	return loc < pr->loc_ips.n ? pr->loc_ips.v[loc] : UINT64_MAX;
}

static uint32_t node_parent(const struct heap_proc *pr, const struct profile *src, uint32_t k)
{
	return pr->live_copy ? src->stacks.v[k].parent : pr->node_parents.v[k];
}

/* Copies a process's stack trie (the agent's nodes, parents first) and
 * its mappings into p; memo[k] becomes agent node k's profile node. src
 * is the analysis's profile (node_ip()). */
static void copy_trie(struct profile *p, const struct profile *src, const struct heap_proc *pr, uint32_t *memo)
{
	struct proc_map *maps;
	size_t nmaps;
	add_mappings(p, pr, &maps, &nmaps);
	/* a million nodes share a few hundred addresses: remember the recent
	 * ones rather than search the maps and the location index */
	struct {
		uint64_t ip;
		uint32_t loc;
	} lc[1024];
	memset(lc, 0, sizeof(lc));
	/* The agent's nodes are distinct (parent, address) pairs, and distinct
	 * addresses of one process are distinct locations: into an empty trie
	 * they go without a lookup. */
	bool fresh = p->stacks.n == 1;
	profile_reserve(p, p->stacks.n + pr->nnodes, 0, 0);
	memo[0] = 0;
	for (uint32_t k = 1; k < pr->nnodes; k++) {
		uint64_t ip = node_ip(pr, src, k);
		uint32_t parent = node_parent(pr, src, k);
		size_t slot = hash_u64(ip) & (sizeof(lc) / sizeof(lc[0]) - 1);
		uint32_t loc;
		if (lc[slot].ip == ip + 1) {
			loc = lc[slot].loc;
		} else {
			loc = profile_location(p, map_lookup(maps, nmaps, ip), ip, PROFILE_LOC_USER);
			lc[slot].ip = ip + 1; /* +1: 0 marks an empty slot */
			lc[slot].loc = loc;
		}
		memo[k] =
		    fresh ? profile_stack_append(p, memo[parent], loc) : profile_stack_child(p, memo[parent], loc);
	}
	free(maps);
}

/* Makes the locations of the live-copied process, now that its maps are
 * complete. Its nodes already name them by their index in loc_ips, which
 * is their id when the profile had no location before; else they are
 * renamed. */
static void live_locations(struct profile *p, const struct heap_proc *pr)
{
	struct proc_map *maps;
	size_t nmaps;
	add_mappings(p, pr, &maps, &nmaps);
	uint32_t *id = xmalloc((pr->loc_ips.n + 1) * sizeof(*id));
	bool renamed = false;
	for (size_t i = 0; i < pr->loc_ips.n; i++) {
		uint64_t ip = pr->loc_ips.v[i];
		id[i] = profile_location(p, map_lookup(maps, nmaps, ip), ip, PROFILE_LOC_USER);
		renamed |= id[i] != i;
	}
	for (size_t k = 1; renamed && k < pr->nnodes; k++) {
		struct profile_stack_node *n = &p->stacks.v[k];
		if (n->location < pr->loc_ips.n)
			n->location = id[n->location];
	}
	free(id);
	free(maps);
}

/* Puts a process's stacks in the profile and sets its sites' nodes. */
static void proc_stacks(struct heap_analysis *h, uint32_t r, uint32_t **memo)
{
	struct heap_proc *pr = &h->procs.v[r];
	if (pr->live_copy) {
		live_locations(h->p, pr);
	} else {
		*memo = xreallocarray(*memo, pr->nnodes + 1, sizeof(**memo));
		copy_trie(h->p, h->p, pr, *memo);
	}
	for (size_t i = 0; i < h->sites.n; i++) {
		struct heap_site *s = &h->sites.v[i];
		if (s->proc != r)
			continue;
		if (s->agent_node >= pr->nnodes)
			s->node = 0;
		else
			s->node = pr->live_copy ? s->agent_node : (*memo)[s->agent_node];
	}
}

/* Gives smp the site's first leak class (the gravest) and adds a sample
 * of leaked values only for each further class (heap.h). */
typedef VEC(struct profile_sample) sample_vec;

static void split_leaks(const struct heap_analysis *h, const struct heap_site *s, struct profile_sample *smp,
                        sample_vec *extra)
{
	const struct heap_leaks *lk = heap_site_leaks(h, s);
	bool first = true;
	for (int c = HEAP_LEAK_DEFINITE; c >= 0; c--) {
		if (!lk->blocks[c])
			continue;
		if (first) {
			smp->cpu = (uint32_t)c;
			smp->values[HEAP_VALUE_LEAKED_SPACE] = (int64_t)lk->bytes[c];
			smp->values[HEAP_VALUE_LEAKED_OBJECTS] = (int64_t)lk->blocks[c];
			first = false;
			continue;
		}
		struct profile_sample x = {0};
		x.stack = smp->stack;
		x.pid = smp->pid;
		x.tid = smp->tid;
		x.cpu = (uint32_t)c;
		x.values[HEAP_VALUE_LEAKED_SPACE] = (int64_t)lk->bytes[c];
		x.values[HEAP_VALUE_LEAKED_OBJECTS] = (int64_t)lk->blocks[c];
		vec_push(extra, x);
	}
}

/* Sizes the merged sites for one entry per site and has the kernel hand
 * over their pages now (it zeroes each on first touch): run on a second
 * thread while the first copies the stack trie, the tens of megabytes a
 * run with a million distinct stacks needs cost no wall time. */
static void *reserve_merged(void *arg)
{
	struct heap_analysis *h = arg;
	size_t n = h->sites.n;
	vec_reserve(&h->merged, h->merged.n + n);
	memset(h->merged.v + h->merged.n, 0, n * sizeof(*h->merged.v));
	return NULL;
}

void heap_finish_sites(struct heap_analysis *h)
{
	struct profile *p = h->p;
	if (h->tot.start_ns == UINT64_MAX)
		h->tot.start_ns = 0;
	h->tot.end_ns = h->last_t;
	/* Usually every site is the live-copied process's: its sites are
	 * distinct stack nodes, so they are the merged sites. */
	bool alias = !h->other_sites && !h->merged.n;
	/* the trie copy below touches neither vector */
	pthread_t reserver;
	bool threaded = !alias && h->sites.n >= 65536 && pthread_create(&reserver, NULL, reserve_merged, h) == 0;
	uint32_t *memo = NULL;
	/* the live-copied process first: until its locations are made, the
	 * profile's nodes name them by index, which a copy into the trie must
	 * not match */
	for (uint32_t r = 0; r < h->procs.n; r++)
		if (h->procs.v[r].live_copy)
			proc_stacks(h, r, &memo);
	for (uint32_t r = 0; r < h->procs.n; r++)
		if (!h->procs.v[r].live_copy)
			proc_stacks(h, r, &memo);
	free(memo);
	/* the sites by agent node served the run only */
	for (size_t r = 0; r < h->procs.n; r++)
		vec_free(&h->procs.v[r].stack_sites);

	/* at most one merged site per site: sized once, not grown by
	 * copying tens of megabytes along the way */
	if (threaded)
		pthread_join(reserver, NULL);
	else if (!alias)
		reserve_merged(h);
	/* profile stack ids are dense: their merged site by direct index */
	uint32_t *by_node = NULL;
	if (!alias) {
		by_node = xmalloc((p->stacks.n + 1) * sizeof(*by_node));
		memset(by_node, 0xff, (p->stacks.n + 1) * sizeof(*by_node));
	}
	for (size_t i = 0; i < h->sites.n; i++) {
		struct heap_site *s = &h->sites.v[i];
		if (s->snap_gen != h->peak_gen)
			s->peak_bytes = s->live_bytes > 0 ? (uint64_t)s->live_bytes : 0;
		s->snap_gen = h->peak_gen;
		s->link = (uint32_t)i;
		if (!s->allocs || alias)
			continue;
		uint32_t m = s->node <= p->stacks.n ? by_node[s->node] : UINT32_MAX;
		if (m == UINT32_MAX) {
			struct heap_site *d = vec_grow(&h->merged);
			d->node = s->node;
			d->proc = s->proc;
			d->agent_node = s->agent_node;
			m = (uint32_t)(h->merged.n - 1);
			if (s->node <= p->stacks.n)
				by_node[s->node] = m;
		}
		s->link = m;
		merge_into(h, &h->merged.v[m], s);
	}
	free(by_node);
	if (alias) {
		h->merged.v = h->sites.v;
		h->merged.n = h->merged.cap = h->sites.n;
		h->merged_is_sites = true;
	}
	for (size_t i = 0; i < h->procs.n; i++) {
		profile_thread(p, h->procs.v[i].pid, h->procs.v[i].pid);
		struct heap_process *pt = &h->processes.v[i];
		if (!pt->command)
			pt->command = proc_command(&h->procs.v[i]);
	}

	heap_totals_meta(p, &h->tot);
	heap_processes_meta(p, h->processes.v, h->processes.n);
}

bool heap_samples_add(struct heap_analysis *h, size_t *at, size_t max)
{
	struct profile *p = h->p;
	size_t i = *at, end = max < h->sites.n - i ? i + max : h->sites.n;
	if (i >= h->sites.n)
		return false;
	sample_vec extra = {0}; /* the further leak classes' samples */
	for (; i < end; i++) {
		const struct heap_site *s = &h->sites.v[i];
		if (!s->allocs)
			continue;
		struct profile_sample smp = {0};
		smp.stack = s->node;
		smp.pid = h->procs.v[s->proc].pid;
		smp.tid = smp.pid;
		smp.values[HEAP_VALUE_ALLOC_SPACE] = (int64_t)s->alloc_bytes;
		smp.values[HEAP_VALUE_ALLOC_OBJECTS] = (int64_t)s->allocs;
		smp.values[HEAP_VALUE_PEAK_SPACE] = (int64_t)s->peak_bytes;
		smp.values[HEAP_VALUE_LEAKED_SPACE] = (int64_t)heap_site_leaked_bytes(h, s);
		smp.values[HEAP_VALUE_LEAKED_OBJECTS] = (int64_t)heap_site_leaked_blocks(h, s);
		smp.values[HEAP_VALUE_TEMPORARY] = (int64_t)s->temporary;
		if (s->leaks)
			split_leaks(h, s, &smp, &extra);
		profile_add_sample(p, &smp);
		/* right after the site's first: the file's reader merges a
		 * stack's samples in the order it meets them */
		for (size_t k = 0; k < extra.n; k++)
			profile_add_sample(p, &extra.v[k]);
		vec_clear(&extra);
	}
	vec_free(&extra);
	*at = i;
	return true;
}

void heap_finish(struct heap_analysis *h)
{
	heap_finish_sites(h);
	size_t at = 0;
	vec_reserve(&h->p->samples, h->p->samples.n + h->sites.n);
	while (heap_samples_add(h, &at, h->sites.n))
		;
}

static const struct heap_analysis *sort_h;
static enum heap_rank sort_by;

static uint64_t rank_key(const struct heap_analysis *h, const struct heap_site *s, enum heap_rank by)
{
	switch (by) {
	case HEAP_BY_PEAK:
		return s->peak_bytes;
	case HEAP_BY_LEAKED:
		return heap_site_leaked_bytes(h, s);
	case HEAP_BY_ALLOCS:
		return s->allocs;
	case HEAP_BY_TEMPORARY:
		return s->temporary;
	case HEAP_BY_DEFINITE:
		return heap_site_leaks(h, s)->bytes[HEAP_LEAK_DEFINITE] +
		       heap_site_leaks(h, s)->bytes[HEAP_LEAK_INDIRECT];
	}
	return 0;
}

/* Leaks list the lost (definitely, indirectly, possibly) first: still
 * reachable blocks, like the Rust runtime's, are not the user's leaks. */
static uint64_t lost_bytes(const struct heap_analysis *h, const struct heap_site *s)
{
	const struct heap_leaks *l = heap_site_leaks(h, s);
	return l->bytes[HEAP_LEAK_DEFINITE] + l->bytes[HEAP_LEAK_INDIRECT] + l->bytes[HEAP_LEAK_POSSIBLE] +
	       l->bytes[HEAP_LEAK_UNKNOWN];
}

uint64_t heap_program_allocs(const struct heap_analysis *h)
{
	if (!h->groups.n)
		return h->tot.allocs;
	uint64_t n = 0;
	for (size_t i = 0; i < h->groups.n; i++)
		if (!h->groups.v[i].runtime)
			n += h->groups.v[i].allocs;
	return n;
}

const struct heap_site *heap_sites(const struct heap_analysis *h, size_t *n)
{
	if (h->groups.n) {
		*n = h->groups.n;
		return h->groups.v;
	}
	*n = h->merged.n;
	return h->merged.v;
}

static int cmp_rank(const void *a, const void *b)
{
	size_t n;
	const struct heap_site *v = heap_sites(sort_h, &n);
	const struct heap_site *sa = &v[*(const uint32_t *)a];
	const struct heap_site *sb = &v[*(const uint32_t *)b];
	if (sort_by == HEAP_BY_LEAKED && lost_bytes(sort_h, sa) != lost_bytes(sort_h, sb))
		return lost_bytes(sort_h, sa) > lost_bytes(sort_h, sb) ? -1 : 1;
	uint64_t x = rank_key(sort_h, sa, sort_by);
	uint64_t y = rank_key(sort_h, sb, sort_by);
	if (x != y)
		return x > y ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* A pass that keeps the best `max` in a small sorted array: a full sort of
 * every site (hundreds of thousands with deep recursive code) for a top 5
 * would cost more than the rest of the summary. */
uint32_t heap_top_sites(const struct heap_analysis *h, enum heap_rank by, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;
	sort_h = h;
	sort_by = by;
	if (!max)
		return 0;
	size_t nv;
	const struct heap_site *v = heap_sites(h, &nv);
	for (uint32_t i = 0; i < nv; i++) {
		if (!rank_key(h, &v[i], by))
			continue;
		if (n == max && cmp_rank(&i, &out[n - 1]) >= 0)
			continue;
		uint32_t k = n < max ? n++ : n - 1;
		while (k > 0 && cmp_rank(&i, &out[k - 1]) < 0) {
			out[k] = out[k - 1];
			k--;
		}
		out[k] = i;
	}
	return n;
}

/* ---- site frames and groups ---- */

void heap_set_alloc_rule(struct heap_analysis *h, const struct alloc_rule *rule)
{
	h->rule = rule;
}

bool heap_site_frame(const struct profile *p, const struct alloc_rule *rule, uint32_t node, struct profile_frame *out,
                     bool *runtime)
{
	struct profile_frame *fr;
	size_t n = profile_stack_frames(p, node, &fr);
	size_t site, top;
	bool found = alloc_rule_site(rule, p, fr, n, &site, &top, runtime);
	if (found)
		*out = fr[site];
	free(fr);
	return found;
}

/* What makes a group; no padding, so that memcmp compares it. */
struct group_key {
	uint32_t function, file, line, module, pid;
	uint32_t found, runtime;
};

static uint64_t group_hash(const struct group_key *k)
{
	uint64_t x = hash_mix(hash_mix(k->function, k->file), ((uint64_t)k->line << 2) | k->runtime << 1 | k->found);
	return hash_mix(x, ((uint64_t)k->module << 32) | k->pid);
}

/* keymap_eq_fn: ctx the groups' keys. */
static bool group_key_eq(const void *ctx, const void *key, uint32_t id)
{
	return !memcmp(&((const struct group_key *)ctx)[id], key, sizeof(struct group_key));
}

/* The process of a merged site: its ring's, or (read from a file) the
 * entry its samples' pid found. */
static uint32_t site_pid(const struct heap_analysis *h, const struct heap_site *s)
{
	return s->proc < h->processes.n ? h->processes.v[s->proc].pid : 0;
}

/* The process a group names (heap_process_find), once per pid and module. */
static uint32_t group_process(const struct heap_analysis *h, struct hashmap *memo, const struct group_key *k)
{
	uint64_t key = (((uint64_t)k->module << 32) | k->pid) & ~(1ull << 63), v;
	if (hashmap_get(memo, key, &v))
		return (uint32_t)v;
	v = heap_process_find(h, k->pid, k->module ? profile_str(h->p, k->module) : "");
	hashmap_put(memo, key, v);
	return (uint32_t)v;
}

const struct heap_process *heap_site_process(const struct heap_analysis *h, const struct heap_site *s)
{
	return s->proc < h->processes.n ? &h->processes.v[s->proc] : NULL;
}

/* Which member's stack a group shows: the one that matters most. */
static bool better_member(const struct heap_analysis *h, const struct heap_site *a, const struct heap_site *b)
{
	uint64_t la = heap_site_leaked_bytes(h, a), lb = heap_site_leaked_bytes(h, b);
	if (la != lb)
		return la > lb;
	if (a->peak_bytes != b->peak_bytes)
		return a->peak_bytes > b->peak_bytes;
	return a->alloc_bytes > b->alloc_bytes;
}

void heap_group(struct heap_analysis *h)
{
	const struct profile *p = h->p;
	/* The site frame of every stack node at once: a node's own first user
	 * frame (its location's frames, innermost first), else its parent's.
	 * Parents have smaller ids than their children. Stacks share nodes and
	 * nodes share locations, so this is cheap even for a million stacks. */
	/* frame ids, NO_FRAME when none: 4 bytes a node, for a million nodes */
	enum { NO_FRAME = UINT32_MAX };
	uint32_t *loc_user = xmalloc((p->locations.n + 1) * sizeof(*loc_user));
	for (size_t l = 0; l < p->locations.n; l++) {
		const struct profile_location *loc = &p->locations.v[l];
		loc_user[l] = NO_FRAME;
		for (uint32_t k = 0; k < loc->nframes; k++)
			if (!alloc_rule_skips(h->rule, p, &p->frames.v[loc->first_frame + k])) {
				loc_user[l] = loc->first_frame + k;
				break;
			}
	}
	uint32_t *node_user = xmalloc((p->stacks.n + 1) * sizeof(*node_user));
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack_node *nd = &p->stacks.v[i];
		if (i == 0 || nd->location >= p->locations.n)
			node_user[i] = NO_FRAME;
		else if (loc_user[nd->location] != NO_FRAME)
			node_user[i] = loc_user[nd->location];
		else
			node_user[i] = nd->parent < i ? node_user[nd->parent] : NO_FRAME;
	}
	/* One process's sites are not another's, nor one module's another's
	 * (cc1's xmalloc is not the xmalloc of the libbfd that as loads):
	 * the key is the frame's function, file, line and module, and the pid.
	 * keys[g] is group g's key, which the index confirms. */
	struct keymap by_key;
	struct hashmap procs;
	keymap_init(&by_key);
	hashmap_init(&procs);
	vec_clear(&h->groups);
	VEC(struct group_key) keys = {0};
	for (size_t i = 0; i < h->merged.n; i++) {
		struct heap_site *m = &h->merged.v[i];
		struct profile_frame f = {0};
		bool runtime = false;
		struct group_key k;
		memset(&k, 0, sizeof(k));
		uint32_t fi = m->node < p->stacks.n ? node_user[m->node] : NO_FRAME;
		if (fi != NO_FRAME) {
			f = p->frames.v[fi];
			k.found = true;
		} else if (heap_site_frame(p, h->rule, m->node, &f, &runtime)) {
			k.found = true;
		}
		if (k.found) {
			k.function = f.function;
			k.file = f.file;
			k.line = f.line;
			k.module = f.module;
			k.runtime = runtime;
		}
		k.pid = site_pid(h, m);
		uint64_t hash = group_hash(&k);
		uint32_t g = keymap_find(&by_key, hash, group_key_eq, keys.v, &k);
		if (g == KEYMAP_NONE) {
			struct heap_site *d = vec_grow(&h->groups);
			d->node = m->node;
			d->proc = group_process(h, &procs, &k);
			d->runtime = runtime;
			g = (uint32_t)(h->groups.n - 1);
			keymap_add(&by_key, hash, g);
			vec_push(&keys, k);
		}
		struct heap_site *d = &h->groups.v[g];
		/* merged sites are whole stacks: compare before adding */
		bool take = !d->nstacks || better_member(h, m, &h->merged.v[d->link]);
		merge_into(h, d, m);
		d->nstacks++;
		if (take) {
			d->node = m->node;
			d->link = (uint32_t)i;
		}
		m->link = g;
	}
	keymap_release(&by_key);
	hashmap_release(&procs);
	vec_free(&keys);
	free(loc_user);
	free(node_user);
	/* distinct pids: the summary names the process of a site when more than one ran */
	struct hashmap pids;
	hashmap_init(&pids);
	h->npids = 0;
	for (size_t i = 0; i < h->processes.n; i++) {
		uint64_t dummy;
		if (!hashmap_get(&pids, h->processes.v[i].pid, &dummy)) {
			hashmap_put(&pids, h->processes.v[i].pid, 1);
			h->npids++;
		}
	}
	hashmap_release(&pids);
}

static void save_series(const struct heap_analysis *h, struct profile *p)
{
	uint32_t s = profile_add_series(p, "heap", "bytes");
	for (size_t i = 0; i < h->series.n; i++)
		profile_series_add(p, s, h->series.v[i].t, (int64_t)h->series.v[i].bytes);
}

void heap_save_series(struct heap_analysis *h)
{
	save_series(h, h->p);
}

int heap_snapshot(const struct heap_analysis *h, struct profile *out, size_t batch,
                  int (*flush)(void *ctx, struct profile *out), void *ctx)
{
	int rc = 0;
	uint32_t *memo = NULL;
	for (uint32_t r = 0; r < h->procs.n; r++) {
		const struct heap_proc *pr = &h->procs.v[r];
		memo = xreallocarray(memo, pr->nnodes + 1, sizeof(*memo));
		copy_trie(out, h->p, pr, memo);
		for (size_t i = 0; i < h->sites.n; i++) {
			const struct heap_site *s = &h->sites.v[i];
			if (s->proc != r || !s->allocs)
				continue;
			uint64_t live = s->live_bytes > 0 ? (uint64_t)s->live_bytes : 0;
			struct profile_sample smp = {0};
			smp.stack = s->agent_node < pr->nnodes ? memo[s->agent_node] : 0;
			smp.pid = pr->pid;
			smp.tid = smp.pid;
			smp.values[HEAP_VALUE_ALLOC_SPACE] = (int64_t)s->alloc_bytes;
			smp.values[HEAP_VALUE_ALLOC_OBJECTS] = (int64_t)s->allocs;
			smp.values[HEAP_VALUE_PEAK_SPACE] =
			    (int64_t)(s->snap_gen != h->peak_gen ? live : s->peak_bytes);
			smp.values[HEAP_VALUE_LEAKED_SPACE] = (int64_t)live; /* not freed yet */
			smp.values[HEAP_VALUE_TEMPORARY] = (int64_t)s->temporary;
			profile_add_sample(out, &smp);
			if (flush && !rc && out->samples.n >= batch)
				rc = flush(ctx, out);
		}
		profile_thread(out, pr->pid, pr->pid);
	}
	free(memo);
	struct heap_totals t = h->tot;
	t.end_ns = h->last_t;
	t.leaked_bytes = h->heap_now > 0 ? (uint64_t)h->heap_now : 0;
	heap_totals_meta(out, &t);
	/* each process's blocks still live count as not freed, as the run's */
	struct heap_process *pv = xcalloc(h->processes.n + 1, sizeof(*pv));
	for (size_t i = 0; i < h->processes.n; i++) {
		pv[i] = h->processes.v[i];
		pv[i].leaked_bytes = !pv[i].exec && pv[i].heap_now > 0 ? (uint64_t)pv[i].heap_now : 0;
		pv[i].command =
		    h->processes.v[i].command ? xstrdup(h->processes.v[i].command) : proc_command(&h->procs.v[i]);
	}
	heap_processes_meta(out, pv, h->processes.n);
	for (size_t i = 0; i < h->processes.n; i++)
		free(pv[i].command);
	free(pv);
	profile_set_meta(out, "heap_snapshot", "live blocks count as not freed: the run had not ended");
	save_series(h, out);
	return rc;
}
