/* test_profile_compact.c - shrinking a long-running profile to what is
 * still named (profile/profile_compact), as kiln serve does at each
 * segment with its window (profile/sample_window) and its recorders'
 * address maps (capture/maps): what is kept reads as before under its new
 * ids, and many distinct addresses, processes and threads over many
 * segments stay under a bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/maps.h"
#include "profile/profile_compact.h"
#include "profile/sample_window.h"

static void name_location(struct profile *p, uint32_t loc, const char *fn)
{
	struct profile_frame f[2] = {
	    {.function = profile_intern(p, "inlined_helper"), .line = 7, .inlined = true},
	    {.function = profile_intern(p, fn), .file = profile_intern(p, "src/main.rs"), .line = 3},
	};
	profile_set_location_frames(p, loc, f, 2);
}

static void test_keeps_what_is_named(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	profile_set_meta(p, "event", "cpu-clock");
	struct profile_mapping m1 = {.pid = 1, .start = 0x1000, .end = 0x9000, .path = profile_intern(p, "/bin/a")};
	struct profile_mapping m2 = {.pid = 2, .start = 0x1000, .end = 0x9000, .path = profile_intern(p, "/bin/b")};
	uint32_t a = profile_add_mapping(p, &m1), b = profile_add_mapping(p, &m2);
	uint32_t la = profile_location(p, a, 0x1100, PROFILE_LOC_USER);
	uint32_t lb = profile_location(p, b, 0x1200, PROFILE_LOC_USER);
	uint32_t lk = profile_location(p, PROFILE_NO_MAPPING, 0xffff0000, PROFILE_LOC_KERNEL);
	name_location(p, la, "a_main");
	name_location(p, lb, "b_main");
	uint32_t sa = profile_stack_child(p, profile_stack_child(p, 0, la), lk);
	uint32_t sb = profile_stack_child(p, 0, lb);
	profile_thread(p, 10, 1)->name = profile_intern(p, "worker-a");
	profile_thread(p, 20, 2)->name = profile_intern(p, "worker-b");
	profile_add_sample(p, &(struct profile_sample){.stack = sa, .tid = 10, .pid = 1, .values = {1}});
	profile_add_sample(p, &(struct profile_sample){.stack = sb, .tid = 20, .pid = 2, .values = {1}});

	uint8_t ks[8] = {0}, km[2] = {0}, kt[2] = {1, 0};
	ks[sa] = 1;
	uint32_t smap[8], mmap_[2];
	struct profile_compact_stats d;
	size_t nstacks = p->stacks.n;
	struct profile *old = NULL;
	profile_compact(p, &(struct profile_keep){ks, km, kt}, smap, mmap_, &d, &old);
	/* the old contents, whole, for the caller to finish (a segment's end) */
	assert_non_null(old);
	assert_int_equal(old->stacks.n, nstacks);
	assert_int_equal(old->samples.n, 2);
	assert_int_equal(old->threads.n, 2);
	assert_int_equal(old->stacks.v[sb].location, lb);
	profile_free(old);

	assert_int_equal(d.stacks, 1);
	assert_int_equal(d.locations, 1);
	assert_int_equal(d.mappings, 1);
	assert_int_equal(d.threads, 1);
	assert_true(d.strings >= 3); /* /bin/b, b_main, worker-b */
	assert_int_equal(p->stacks.n, nstacks - 1);
	assert_int_equal(smap[sb], PROFILE_COMPACT_DROPPED);
	assert_int_equal(mmap_[b], PROFILE_COMPACT_DROPPED);
	assert_int_not_equal(mmap_[a], PROFILE_COMPACT_DROPPED);
	/* the kept stack reads as before: leaf kernel frame, then a_main's */
	uint32_t leaf = smap[sa];
	const struct profile_location *l = &p->locations.v[p->stacks.v[leaf].location];
	assert_int_equal(l->address, 0xffff0000);
	assert_int_equal(l->kind, PROFILE_LOC_KERNEL);
	const struct profile_location *root = &p->locations.v[p->stacks.v[p->stacks.v[leaf].parent].location];
	assert_int_equal(root->address, 0x1100);
	assert_string_equal(profile_str(p, p->mappings.v[root->mapping].path), "/bin/a");
	assert_int_equal(root->nframes, 2);
	assert_string_equal(profile_str(p, p->frames.v[root->first_frame + 1].function), "a_main");
	assert_string_equal(profile_str(p, p->frames.v[root->first_frame + 1].file), "src/main.rs");
	assert_true(p->frames.v[root->first_frame].inlined);
	/* samples renamed, the dropped stack's gone; the rest stays */
	assert_int_equal(p->samples.n, 1);
	assert_int_equal(p->samples.v[0].stack, leaf);
	assert_int_equal(p->threads.n, 1);
	assert_string_equal(profile_str(p, profile_find_thread(p, 10)->name), "worker-a");
	assert_null(profile_find_thread(p, 20));
	assert_string_equal(profile_get_meta(p, "event"), "cpu-clock");
	assert_string_equal(profile_str(p, p->value_types.v[0].type), "samples");
	/* the indexes work after: the same location and node are found again */
	assert_int_equal(profile_location(p, mmap_[a], 0x1100, PROFILE_LOC_USER),
	                 p->stacks.v[p->stacks.v[leaf].parent].location);
	assert_int_equal(profile_stack_child(p, p->stacks.v[leaf].parent, p->stacks.v[leaf].location), leaf);
	profile_free(p);
}

#define SEGMENTS    300
#define PER_SEGMENT 64 /* distinct addresses, threads: one process per segment */
#define WINDOW_SEGS 2  /* the window spans two segments */

struct gone_ctx {
	uint32_t first_alive;
};

static bool gone_fn(void *ctx, uint32_t pid)
{
	return pid < ((struct gone_ctx *)ctx)->first_alive;
}

/* Every segment a new process with a new mapping, new threads and new
 * addresses, as `kiln serve --all` sees short-lived processes for days:
 * what the profile holds stays bounded by the window. */
static void test_bounded_over_segments(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	struct maps maps;
	maps_init(&maps, p);
	struct sample_window w;
	sample_window_init(&w, 1 << 16, WINDOW_SEGS * 1000);
	size_t max_loc = 0, max_map = 0, max_thr = 0, max_str = 0, max_stk = 0;
	for (uint32_t seg = 1; seg <= SEGMENTS; seg++) {
		uint32_t pid = 1000 + seg;
		char path[64], name[32];
		snprintf(path, sizeof(path), "/opt/app-%u/bin/job", seg);
		uint64_t base = 0x400000 + (uint64_t)seg * 0x100000;
		maps_add(&maps, pid, seg * 1000, base, 0x10000, 0, path, NULL);
		for (uint32_t k = 0; k < PER_SEGMENT; k++) {
			uint64_t t = (uint64_t)seg * 1000 + k;
			uint32_t tid = pid * 100 + k;
			snprintf(name, sizeof(name), "job-%u-%u", seg, k);
			profile_thread(p, tid, pid)->name = profile_intern(p, name);
			const struct maps_entry *e = maps_find(&maps, pid, t, base + 0x10 * k);
			assert_non_null(e);
			uint32_t loc = profile_location(p, e->mapping, base + 0x10 * k, PROFILE_LOC_USER);
			snprintf(name, sizeof(name), "fn_%u_%u", seg, k);
			name_location(p, loc, name);
			uint32_t node = profile_stack_child(p, 0, loc);
			struct profile_sample x = {
			    .stack = node, .tid = tid, .pid = pid, .time = t, .values = {(int64_t)k}};
			assert_true(sample_window_add(&w, &x));
		}
		/* the segment ends: the window moves on, processes of older
		 * segments are gone, and the profile keeps what is named */
		sample_window_expire(&w, (uint64_t)seg * 1000 + PER_SEGMENT);
		struct gone_ctx g = {pid - WINDOW_SEGS};
		maps_forget(&maps, gone_fn, &g);
		uint8_t *ks = calloc(p->stacks.n, 1), *km = calloc(p->mappings.n + 1, 1),
		        *kt = calloc(p->threads.n + 1, 1);
		uint32_t *smap = malloc(p->stacks.n * sizeof(*smap)),
		         *mmap_ = malloc((p->mappings.n + 1) * sizeof(*mmap_));
		sample_window_mark_stacks(&w, ks);
		maps_mark(&maps, km);
		for (size_t i = 0; i < p->threads.n; i++)
			kt[i] = p->threads.v[i].pid >= pid - WINDOW_SEGS;
		profile_compact(p, &(struct profile_keep){ks, km, kt}, smap, mmap_, NULL, NULL);
		maps_remap(&maps, mmap_);
		assert_int_equal(sample_window_rename_stacks(&w, smap), 0);
		free(ks);
		free(km);
		free(kt);
		free(smap);
		free(mmap_);
		/* every sample of the window still names its own address */
		for (size_t i = 0; i < w.n; i++) {
			const struct profile_sample *x = &w.ring[(w.head + i) % w.cap];
			const struct profile_location *l = &p->locations.v[p->stacks.v[x->stack].location];
			uint64_t xbase = 0x400000 + (uint64_t)(x->pid - 1000) * 0x100000;
			assert_int_equal(l->address, xbase + 0x10 * (uint64_t)x->values[0]);
			char want[64];
			snprintf(want, sizeof(want), "/opt/app-%u/bin/job", x->pid - 1000);
			assert_string_equal(profile_str(p, p->mappings.v[l->mapping].path), want);
		}
		/* the new segment's process still maps its code */
		assert_non_null(maps_find(&maps, pid, (uint64_t)seg * 1000 + 1, base));
		max_loc = p->locations.n > max_loc ? p->locations.n : max_loc;
		max_map = p->mappings.n > max_map ? p->mappings.n : max_map;
		max_thr = p->threads.n > max_thr ? p->threads.n : max_thr;
		max_str = strtab_count(&p->strings) > max_str ? strtab_count(&p->strings) : max_str;
		max_stk = p->stacks.n > max_stk ? p->stacks.n : max_stk;
	}
	/* bounded by the window (WINDOW_SEGS + 1 segments' worth at most),
	 * not by the SEGMENTS * PER_SEGMENT ever seen */
	size_t bound = (WINDOW_SEGS + 1) * PER_SEGMENT;
	assert_true(max_loc <= bound);
	assert_true(max_stk <= bound + 1);
	assert_true(max_thr <= bound);
	assert_true(max_map <= WINDOW_SEGS + 1);
	assert_true(max_str <= 4 * bound);
	assert_true(maps.procs.n <= WINDOW_SEGS + 1);
	sample_window_release(&w);
	maps_release(&maps);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keeps_what_is_named),
	    cmocka_unit_test(test_bounded_over_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
