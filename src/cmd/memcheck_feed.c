/* memcheck_feed.c - the channel's memcheck records into the report
 * (memcheck_feed.h). */
#include <stdlib.h>

#include "cmd/memcheck_feed.h"
#include "util/vec.h"

/* The report's numbers are the agent's (channel_format.h). */
_Static_assert((int)MC_OVERFLOW == (int)KH_MEM_OVERFLOW && (int)MC_USE_AFTER_FREE == (int)KH_MEM_USE_AFTER_FREE &&
                   (int)MC_DOUBLE_FREE == (int)KH_MEM_DOUBLE_FREE && (int)MC_INVALID_FREE == (int)KH_MEM_INVALID_FREE &&
                   (int)MC_REALLOC_FREED == (int)KH_MEM_REALLOC_FREED &&
                   (int)MC_SLACK_DAMAGE == (int)KH_MEM_SLACK_DAMAGE &&
                   (int)MC_MISMATCHED_FREE == (int)KH_MEM_MISMATCHED_FREE,
               "memcheck kinds");
_Static_assert((int)MC_READ == (int)KH_MEM_READ && (int)MC_WRITE == (int)KH_MEM_WRITE &&
                   (int)MC_STOPPED == (int)KH_MEM_STOPPED && (int)MC_IN_BLOCK == (int)KH_MEM_IN_BLOCK &&
                   (int)MC_ON_STACK == (int)KH_MEM_ON_STACK && (int)MC_STATIC == (int)KH_MEM_STATIC,
               "memcheck flags");
_Static_assert((int)HEAP_LEAK_REACHABLE == (int)KH_LEAK_REACHABLE && (int)HEAP_LEAK_POSSIBLE == (int)KH_LEAK_POSSIBLE &&
                   (int)HEAP_LEAK_INDIRECT == (int)KH_LEAK_INDIRECT && (int)HEAP_LEAK_DEFINITE == (int)KH_LEAK_DEFINITE,
               "leak classes");

typedef VEC(struct mc_place) place_vec;

static void places(place_vec *v, const struct mc_frame *f, size_t n)
{
	v->n = 0;
	for (size_t i = 0; i < n; i++)
		vec_push(v, ((struct mc_place){f[i].addr, f[i].path, f[i].file_offset}));
}

struct mc_counts memcheck_feed(struct mc_report *r, const struct memcheck_errors *m)
{
	place_vec v = {0};
	size_t n = memcheck_errors_count(m);
	for (size_t i = 0; i < n; i++) {
		const struct mc_error *e = memcheck_errors_get(m, i);
		const struct kh_rec_mem_error *k = &e->rec;
		struct mc_error_info info = {
		    .kind = k->kind,
		    .flags = k->flags,
		    .addr = k->addr,
		    .block = k->block,
		    .block_size = k->block_size,
		    .tid = k->tid,
		    .alloc_tid = k->alloc_tid,
		    .free_tid = k->free_tid,
		    .n_free = k->n_free,
		};
		places(&v, e->frames, (size_t)k->n_access + k->n_alloc + k->n_free);
		mc_report_add_error(r, &info, e->pid, v.v, k->n_access, k->n_alloc);
	}
	const struct mc_leak *leaks;
	size_t nl = memcheck_errors_leaks(m, &leaks);
	for (size_t i = 0; i < nl; i++) {
		places(&v, leaks[i].frames, leaks[i].n_frames);
		mc_report_add_leak(r, leaks[i].cls, leaks[i].size, leaks[i].pid, v.v, leaks[i].n_frames);
	}
	vec_free(&v);
	struct mc_stats st;
	memcheck_errors_stats(m, &st);
	return (struct mc_counts){
	    .guarded = st.guarded,
	    .unguarded = st.unguarded,
	    .over_limit = st.over_limit,
	    .no_room = st.no_room,
	    .max_guarded = st.max_guarded,
	    .foreign_frees = st.foreign_frees,
	    .sample = st.sample,
	    .processes = st.processes,
	    .scanned = st.scanned,
	};
}
