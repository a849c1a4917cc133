/* serve_budget.c - what keeps kiln serve's memory bounded (--max-memory).
 *
 * Accounting: the bytes serve holds (the window's ring, the profile's
 * tables, the recorders' tables and rings, and the closed segments' profiles the closer thread still holds) are summed
 * before every poll; while the sum is at the budget the recorders refuse
 * new samples unread (back-pressure, counted) rather than growing.
 *
 * Forgetting: at each segment start the profile keeps only what the
 * window, the running processes and their threads still name
 * (profile_compact()), the recorders drop the state of threads and child
 * processes gone, and the window's ring gives back slots it no longer
 * needs. The symbol caches (serve_symbolize.c) are bounded by their own
 * module count. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/proc_stat.h"
#include "cmd/live_compact.h"
#include "cmd/serve.h"
#include "symbols/symbols.h"

void serve_budget_measure(struct serve *s, struct serve_memory *m)
{
	m->window = sample_window_bytes(&s->win);
	m->profile = profile_bytes(s->p);
	m->recorders = s->procs.cap * sizeof(*s->procs.v);
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].r)
			m->recorders += recorder_bytes(s->procs.v[i].r);
	m->closing = serve_closer_pending_bytes(&s->closer);
	m->total = m->window + m->profile + m->recorders + m->closing;
}

void serve_budget_apply(struct serve *s)
{
	serve_budget_measure(s, &s->mem);
	uint64_t budget = s->a.max_memory;
	/* room is kept for the copy of the profile's tables the next segment
	 * start makes (the closed segment's, until the closer is done) */
	uint64_t need = s->mem.total + s->mem.profile;
	bool full = need >= budget;
	/* the ring may grow into what is left of the budget, no further */
	uint64_t room = full ? 0 : budget - need;
	sample_window_set_limit(&s->win, s->win.cap + (size_t)(room / sizeof(struct profile_sample)));
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].r)
			recorder_set_refusing(s->procs.v[i].r, full);
	if (full)
		s->mem_full_ticks++;
}

bool serve_budget_close_whole(struct serve *s, const struct profile *old)
{
	if (!serve_closer_pending(&s->closer))
		return true;
	struct serve_memory m;
	serve_budget_measure(s, &m);
	if (m.total + profile_bytes(old) < s->a.max_memory)
		return true;
	s->segments_unfinished++;
	return false;
}

struct profile *serve_budget_compact(struct serve *s)
{
	struct profile *p = s->p;
	serve_symbols_apply(&s->symbols, p); /* the names found so far go in the segment */
	struct live_keep k;
	live_keep_init(&k, p);
	sample_window_mark_stacks(&s->win, k.ks);
	for (size_t i = 0; i < s->procs.n; i++) {
		struct recorder *r = s->procs.v[i].r;
		if (!r)
			continue;
		live_compact_recorder(r, k.km, &s->maps_forgotten, &s->threads_forgotten);
	}
	struct hashmap win_tids;
	hashmap_init(&win_tids);
	for (size_t i = 0; i < s->win.n; i++)
		hashmap_put(&win_tids, sample_window_at(&s->win, i)->tid, 1);
	live_compact_threads(p, &win_tids, k.kt);
	hashmap_release(&win_tids);
	struct profile_compact_stats d;
	struct profile *old = NULL;
	profile_compact(p, &(struct profile_keep){k.ks, k.km, k.kt}, k.smap, k.mmap, &d, &old);
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].r)
			recorder_remap_mappings(s->procs.v[i].r, k.mmap);
	s->win.dropped += sample_window_rename_stacks(&s->win, k.smap);
	sample_window_trim(&s->win);
	serve_symbols_renamed(&s->symbols);
	s->compact_dropped.stacks += d.stacks;
	s->compact_dropped.locations += d.locations;
	s->compact_dropped.mappings += d.mappings;
	s->compact_dropped.threads += d.threads;
	s->compact_dropped.strings += d.strings;
	s->compactions++;
	live_keep_release(&k);
	return old;
}
