/* test_heap_analysis.c - analysis/heap.c on synthetic agent records:
 * totals, heaptrack's temporaries, the per-site value at the peak, leaks
 * with scan classes, exec'd images, the live-block table under many random
 * allocations and frees, the stacks the profile gets from one process's
 * trie copied as it runs and from others' copied at the end, and the JSON
 * and chart renderers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/heap_int.h"
#include "profile/kiln_file.h"
#include "render/heap.h"
#include "heap_feed.h"

static struct kh_ring_header ring_header(uint32_t pid)
{
	struct kh_ring_header h;
	memset(&h, 0, sizeof(h));
	h.magic = KH_MAGIC;
	h.version = KH_VERSION;
	h.pid = pid;
	h.start_ns = 1000;
	return h;
}

/* Sends trie nodes first... with frames f (outermost first) under parent. */
static void stack_frames(struct heap_analysis *h, uint32_t ring, uint32_t first, uint32_t parent, const uint64_t *f,
                         uint32_t n)
{
	struct {
		struct kh_rec_stack s;
		uint64_t f[4];
	} r;
	memset(&r, 0, sizeof(r));
	r.s.h.type = KH_REC_STACK;
	r.s.h.size = sizeof(r.s) + n * sizeof(uint64_t);
	r.s.first = first;
	r.s.parent = parent;
	r.s.nframes = n;
	memcpy(r.f, f, n * sizeof(uint64_t));
	feed_record(h, ring, &r.s.h);
}

/* Sends trie nodes first (outer, 0x9999) and first+1 (pc) under parent. */
static void stack(struct heap_analysis *h, uint32_t ring, uint32_t first, uint32_t parent, uint64_t pc)
{
	const uint64_t f[] = {0x9999, pc};
	stack_frames(h, ring, first, parent, f, 2);
}

/* A profile with the heap values, as kiln heap makes it. */
static struct profile *heap_profile(void)
{
	struct profile *p = profile_new();
	static const char *const names[HEAP_NVALUES] = {"alloc_space",  "alloc_objects",  "peak_space",
	                                                "leaked_space", "leaked_objects", "temporary_objects"};
	for (int i = 0; i < HEAP_NVALUES; i++)
		profile_add_value_type(p, names[i], "bytes");
	profile_set_meta(p, "event", "heap");
	return p;
}

static void alloc(struct heap_analysis *h, uint32_t ring, uint64_t t, uint64_t addr, uint64_t size, uint32_t st)
{
	struct kh_rec_alloc r = {{KH_REC_ALLOC, sizeof(r)}, 1000 + t, addr, size, 1, st};
	feed_record(h, ring, &r.h);
}

static void hfree(struct heap_analysis *h, uint32_t ring, uint64_t t, uint64_t addr)
{
	struct kh_rec_free r = {{KH_REC_FREE, sizeof(r)}, 1000 + t, addr, 1, 0};
	feed_record(h, ring, &r.h);
}

static void test_totals_peak_temporary(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(42);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000); /* nodes 1 (0x9999), 2 (0x1000) */
	stack(h, 0, 3, 1, 0x2000); /* nodes 3 (0x9999 under 1), 4 (0x2000) */
	alloc(h, 0, 1, 0xa0, 100, 2);
	alloc(h, 0, 2, 0xb0, 50, 4);
	hfree(h, 0, 3, 0xb0); /* right after its allocation: temporary */
	hfree(h, 0, 4, 0xa0); /* not: b came in between */
	alloc(h, 0, 5, 0xc0, 500, 2);
	hfree(h, 0, 6, 0xc0); /* temporary */
	alloc(h, 0, 7, 0xd0, 10, 4);
	hfree(h, 0, 8, 0xeeee); /* never allocated */
	struct kh_rec_realloc rr = {{KH_REC_REALLOC, sizeof(rr)}, 1009, 0xd0, 0xe0, 30, 1, 4};
	feed_record(h, 0, &rr.h);

	struct heap_block *b;
	uint64_t n;
	assert_int_equal(heap_live_blocks(h, 0, &b, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].addr, 0xe0);
	uint8_t cls = HEAP_LEAK_DEFINITE;
	heap_on_classes(h, 0, b, &cls, 1);
	free(b);
	feed_end(h, 0, true);
	heap_finish(h);

	const struct heap_totals *t = &h->tot;
	assert_int_equal(t->allocs, 5);
	assert_int_equal(t->frees, 4);
	assert_int_equal(t->reallocs, 1);
	assert_int_equal(t->temporary, 3); /* b, c, and d freed by the realloc right after it */
	assert_int_equal(t->alloc_bytes, 100 + 50 + 500 + 10 + 30);
	assert_int_equal(t->peak_bytes, 500);
	assert_int_equal(t->peak_time, 5);
	assert_int_equal(t->unknown_frees, 1);
	assert_int_equal(t->leaked_bytes, 30);
	assert_int_equal(t->leaked_blocks, 1);
	assert_int_equal(t->class_bytes[HEAP_LEAK_DEFINITE], 30);

	/* two stacks, two merged sites; the first held all 500 bytes at the peak */
	assert_true(h->merged_is_sites); /* one process: its sites are the merged ones */
	assert_int_equal(h->merged.n, 2);
	assert_int_equal(p->stacks.v[h->merged.v[0].node].depth, 2);
	assert_int_equal(p->stacks.v[h->merged.v[1].node].depth, 3);
	uint32_t top[2];
	assert_int_equal(heap_top_sites(h, HEAP_BY_PEAK, top, 2), 1);
	assert_int_equal(h->merged.v[top[0]].peak_bytes, 500);
	assert_int_equal(heap_top_sites(h, HEAP_BY_LEAKED, top, 2), 1);
	assert_int_equal(heap_site_leaked_bytes(h, &h->merged.v[top[0]]), 30);
	assert_int_equal(p->samples.n, 2);
	int64_t alloc_space = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		alloc_space += p->samples.v[i].values[HEAP_VALUE_ALLOC_SPACE];
	assert_int_equal(alloc_space, 690);
	assert_int_equal(profile_get_meta_u64(p, "heap_peak_bytes", 0), 500);

	struct heap_render_opts o = {.top = 5, .command = "test"};
	struct strbuf sb = STRBUF_INIT;
	heap_render_json(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "\"definitely_lost\":{\"bytes\":30,\"blocks\":1}"));
	strbuf_reset(&sb);
	heap_render_chart(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "peak 500 bytes"));
	assert_non_null(strstr(strbuf_str(&sb), "</svg>"));
	strbuf_reset(&sb);
	heap_render_text(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "definitely lost:    30 bytes in 1 blocks"));
	strbuf_release(&sb);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* Agent node k of a process copied at the end: its address and parent. */
static uint64_t agent_ip(const struct heap_proc *pr, uint32_t k)
{
	assert_false(pr->live_copy);
	assert_true(k < pr->node_ips.n);
	return pr->node_ips.v[k];
}

static uint32_t agent_parent(const struct heap_proc *pr, uint32_t k)
{
	assert_false(pr->live_copy);
	assert_true(k < pr->node_parents.n);
	return pr->node_parents.v[k];
}

/* Asserts that a site's profile stack holds its agent stack's addresses;
 * the process copied as it ran keeps no nodes: its are the profile's. */
static void assert_same_stack(const struct heap_analysis *h, const struct heap_site *s)
{
	const struct profile *p = h->p;
	const struct heap_proc *pr = &h->procs.v[s->proc];
	if (pr->live_copy) {
		assert_int_equal(s->node, s->agent_node);
		assert_int_equal(pr->node_ips.n, 0);
		return;
	}
	uint32_t a = s->agent_node, n = s->node;
	for (; a; a = agent_parent(pr, a), n = p->stacks.v[n].parent) {
		assert_int_not_equal(n, 0);
		const struct profile_location *l = &p->locations.v[p->stacks.v[n].location];
		assert_true(l->address == agent_ip(pr, a));
	}
	assert_int_equal(n, 0);
}

/* The first process to start goes into the profile as it runs, here ring
 * 1; ring 0 is copied at the end. Their sites with the same stack merge,
 * and every site keeps its own addresses, even when the profile had a
 * location before and the live copy's locations are renamed. */
static void test_stacks_into_profile(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header r1 = ring_header(11), r0 = ring_header(10);
	feed_ring(h, 1, &r1);
	feed_ring(h, 0, &r0);
	assert_true(h->procs.v[1].live_copy);
	assert_false(h->procs.v[0].live_copy);
	const uint64_t a[] = {0x9999, 0x2000}, b[] = {0x9999, 0x1000}, c[] = {UINT64_MAX}, d[] = {0x1000},
	               e[] = {0x2000};
	stack_frames(h, 1, 1, 0, a, 2); /* 1: 0x9999, 2: 0x2000 */
	stack_frames(h, 1, 3, 1, b, 2); /* 3: 0x9999, 4: 0x1000 under 1 */
	stack_frames(h, 1, 5, 2, c, 1); /* 5: an unknown frame under 2 */
	stack_frames(h, 0, 1, 0, a, 1); /* 1: 0x9999 */
	stack_frames(h, 0, 2, 1, d, 1); /* 2: 0x1000 under 1 */
	stack_frames(h, 0, 3, 1, e, 1); /* 3: 0x2000 under 1: ring 1's node 2 */
	alloc(h, 1, 1, 0x10, 100, 2);
	alloc(h, 1, 2, 0x20, 10, 4);
	alloc(h, 1, 3, 0x30, 1, 5);
	alloc(h, 0, 4, 0x10, 1000, 2);
	alloc(h, 0, 5, 0x20, 200, 3);
	profile_location(p, PROFILE_NO_MAPPING, 0x7777, PROFILE_LOC_USER);
	feed_end(h, 0, true);
	feed_end(h, 1, true);
	heap_finish(h);

	assert_int_equal(h->sites.n, 5);
	for (size_t i = 0; i < h->sites.n; i++)
		assert_same_stack(h, &h->sites.v[i]);
	assert_false(h->merged_is_sites);
	assert_int_equal(h->merged.n, 4);
	assert_int_equal(p->samples.n, 5);
	const struct heap_site *ring1_2 = &h->sites.v[0], *ring0_3 = &h->sites.v[4];
	assert_int_equal(ring1_2->node, ring0_3->node);
	assert_int_equal(ring1_2->link, ring0_3->link); /* their merged site */
	assert_int_equal(h->merged.v[ring1_2->link].alloc_bytes, 300);
	int64_t alloc_space = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		alloc_space += p->samples.v[i].values[HEAP_VALUE_ALLOC_SPACE];
		assert_int_equal(p->samples.v[i].stack, h->sites.v[i].node);
	}
	assert_int_equal(alloc_space, 1311);
	feed_done();
	heap_free(h);
	profile_free(p);
}

static void stack_of(struct heap_analysis *h, uint32_t ring, uint32_t stack)
{
	struct kh_rec_stack_of r = {{KH_REC_STACK_OF, sizeof(r)}, stack, 0};
	feed_record(h, ring, &r.h);
}

/* An allocation whose stack follows (KH_STACK_PENDING) is held until its
 * KH_REC_STACK_OF names the stack, new nodes coming between; one that
 * never gets its stack counts at the root, when anything else comes first
 * or the ring ends, unless the ring's pending frames give it. */
static void test_pending_stacks(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(3);
	feed_ring(h, 0, &rh);
	alloc(h, 0, 1, 0x10, 100, KH_STACK_PENDING);
	assert_int_equal(h->tot.allocs, 0); /* held */
	stack(h, 0, 1, 0, 0x1000);          /* nodes 1, 2 */
	stack_of(h, 0, 2);
	assert_int_equal(h->tot.allocs, 1);
	struct kh_rec_realloc rr = {{KH_REC_REALLOC, sizeof(rr)}, 1002, 0x10, 0x20, 300, 1, KH_STACK_PENDING};
	feed_record(h, 0, &rr.h);
	stack_of(h, 0, 2); /* a stack known already: no nodes between */
	alloc(h, 0, 3, 0x30, 7, KH_STACK_PENDING);
	hfree(h, 0, 4, 0x30); /* never written so by the agent */
	alloc(h, 0, 5, 0x40, 9, KH_STACK_PENDING);
	static struct kh_pending none, two = {2, 0, {0x3000, 0x9999}};
	feed_pending(h, 0, &none);
	feed_end(h, 0, false); /* the stack never came */
	/* a process that died before naming the stack: kiln takes its frames */
	struct kh_ring_header rh1 = ring_header(4);
	feed_ring(h, 1, &rh1);
	alloc(h, 1, 6, 0x50, 11, KH_STACK_PENDING);
	feed_pending(h, 1, &two);
	feed_end(h, 1, false);
	heap_finish(h);

	assert_int_equal(h->tot.allocs, 5);
	assert_int_equal(h->tot.reallocs, 1);
	assert_int_equal(h->tot.frees, 2);
	assert_int_equal(h->tot.temporary, 2); /* the first block (by the realloc) and the 7 bytes */
	assert_int_equal(h->tot.leaked_bytes, 300 + 9 + 11);
	assert_int_equal(h->sites.n, 3);
	const struct heap_site *dead = &h->sites.v[2];
	const struct heap_proc *pr1 = &h->procs.v[1];
	assert_int_equal(dead->proc, 1);
	assert_int_equal(dead->alloc_bytes, 11);
	assert_int_equal(agent_ip(pr1, dead->agent_node), 0x3000);
	assert_int_equal(agent_ip(pr1, agent_parent(pr1, dead->agent_node)), 0x9999);
	assert_int_equal(agent_parent(pr1, agent_parent(pr1, dead->agent_node)), 0);
	const struct heap_site *s = &h->sites.v[0], *root = &h->sites.v[1];
	assert_int_equal(s->agent_node, 2);
	assert_int_equal(s->allocs, 2);
	assert_int_equal(s->alloc_bytes, 400);
	assert_int_equal(heap_site_leaked_bytes(h, s), 300);
	assert_int_equal(root->agent_node, 0);
	assert_int_equal(root->allocs, 2);
	assert_int_equal(root->alloc_bytes, 16);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* A free of a block never seen counts, unless libc's cleanup at exit
 * (KH_REC_FREERES) makes it: those are the loader's blocks from before the
 * agent, in every program. */
static void test_freeres_frees(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(8);
	feed_ring(h, 0, &rh);
	hfree(h, 0, 1, 0x100);
	struct kh_rec_header fr = {KH_REC_FREERES, sizeof(fr)};
	feed_record(h, 0, &fr);
	hfree(h, 0, 2, 0x200);
	hfree(h, 0, 3, 0x300);
	feed_end(h, 0, true);
	heap_finish(h);
	assert_int_equal(h->tot.unknown_frees, 1);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* A free of an address freed before and not allocated again is a double
 * free, named by the block's allocation site, not a free of a block made
 * before tracking; once allocated again, its free is an ordinary one. */
static void test_double_free(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(8);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000); /* node 2 */
	stack(h, 0, 3, 0, 0x2000); /* node 4 */
	alloc(h, 0, 1, 0x100, 10, 2);
	hfree(h, 0, 2, 0x100);
	hfree(h, 0, 3, 0x100); /* double */
	hfree(h, 0, 3, 0);     /* address 0 marks an empty slot of the table: never a double free */
	alloc(h, 0, 4, 0x100, 20, 4);
	hfree(h, 0, 5, 0x100); /* a free again */
	hfree(h, 0, 6, 0x500); /* never seen: made before tracking */
	hfree(h, 0, 7, 0x100); /* double, of the second block */
	hfree(h, 0, 8, 0x100); /* and again */
	feed_end(h, 0, true);
	heap_finish(h);
	assert_int_equal(h->tot.double_frees, 3);
	assert_int_equal(h->tot.unknown_frees, 2);
	assert_int_equal(h->tot.frees, 2);
	assert_int_equal(h->double_frees.n, 2);
	assert_int_equal(h->sites.v[h->double_frees.v[0].site].agent_node, 2);
	assert_int_equal(h->double_frees.v[0].count, 1);
	assert_int_equal(h->sites.v[h->double_frees.v[1].site].agent_node, 4);
	assert_int_equal(h->double_frees.v[1].count, 2);
	assert_int_equal(h->double_frees.v[1].addr, 0x100);
	struct heap_render_opts o = {.top = 5, .command = "test"};
	struct strbuf sb = STRBUF_INIT;
	heap_render_text(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "double frees:          3"));
	assert_non_null(strstr(strbuf_str(&sb), "#2 2 double frees, the first of 0x100 in process 8"));
	strbuf_reset(&sb);
	heap_render_json(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "\"unknown_frees\":2,\"double_frees\":3,"));
	strbuf_release(&sb);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* A program that ran but allocated nothing through malloc gets a hint. */
static void test_no_malloc_hint(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(8);
	feed_ring(h, 0, &rh);
	feed_end(h, 0, true);
	heap_finish(h);
	struct heap_render_opts o = {.top = 5, .command = "test"};
	struct strbuf sb = STRBUF_INIT;
	heap_render_text(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "the program allocated nothing through malloc"));
	assert_non_null(strstr(strbuf_str(&sb), "own allocator"));
	strbuf_reset(&sb);
	heap_render_json(&sb, h, &o);
	assert_non_null(strstr(strbuf_str(&sb), "\"notes\":[\"the program allocated nothing through malloc"));
	strbuf_release(&sb);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* An image that exec'd leaves no leaks: its memory went with the exec. */
static void test_exec_is_not_a_leak(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(7);
	feed_ring(h, 0, &rh);
	alloc(h, 0, 1, 0x10, 64, 0);
	struct kh_rec_header ex = {KH_REC_EXEC, sizeof(ex)};
	feed_record(h, 0, &ex);
	feed_end(h, 0, false);
	heap_finish(h);
	assert_int_equal(h->tot.leaked_blocks, 0);
	assert_int_equal(h->tot.exec_blocks, 1);
	assert_int_equal(h->tot.unclean, 0);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* Maps text comes in records padded to 8 bytes: the padding must not end
 * up inside the text, where a NUL hid every mapping after the first short
 * piece (a flaky "[unknown]" ld.so in test_heap_view). */
static void maps_piece(struct heap_analysis *h, const char *text)
{
	uint64_t buf[64] = {0};
	struct kh_rec_header *r = (struct kh_rec_header *)buf;
	size_t len = strlen(text);
	r->type = KH_REC_MAPS;
	r->size = (uint32_t)((sizeof(*r) + len + 7) & ~(size_t)7);
	memcpy(r + 1, text, len);
	feed_record(h, 0, r);
}

static void test_maps_pieces(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(7);
	feed_ring(h, 0, &rh);
	maps_piece(h, "00400000-00401000 r-xp 00000000 08:01 11 /bin/one\n"); /* 51 bytes: padded */
	maps_piece(h, "7f0000000000-7f0000001000 r-xp 00000000 08:01 12 /lib/two.so\n");
	struct kh_rec_header end = {KH_REC_MAPS_END, sizeof(end)};
	feed_record(h, 0, &end);
	const struct heap_proc *pr = &h->procs.v[0];
	assert_int_equal(pr->xmaps.n, 2); /* the padding hid nothing */
	assert_string_equal(pr->paths.buf + pr->xmaps.v[0].path_off, "/bin/one");
	assert_int_equal(pr->xmaps.v[1].start, 0x7f0000000000ull);
	assert_string_equal(pr->paths.buf + pr->xmaps.v[1].path_off, "/lib/two.so");
	feed_end(h, 0, true);
	heap_finish(h);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* The live table (backward-shift deletion) against a plain array. */
static void test_live_table_random(void **state)
{
	(void)state;
	enum { SLOTS = 4096, OPS = 200000 };
	struct profile *p = profile_new();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(9);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000);
	static uint64_t size_of[SLOTS];
	memset(size_of, 0, sizeof(size_of));
	uint64_t seed = 12345, live = 0, live_n = 0, peak = 0;
	for (int i = 0; i < OPS; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t k = (uint32_t)(seed >> 33) % SLOTS;
		/* addresses collide in the hash's low bits on purpose */
		uint64_t addr = 0x100000 + (uint64_t)k * 4096;
		if (size_of[k]) {
			hfree(h, 0, (uint64_t)i, addr);
			live -= size_of[k];
			live_n--;
			size_of[k] = 0;
		} else {
			size_of[k] = 1 + (seed >> 50) % 100;
			alloc(h, 0, (uint64_t)i, addr, size_of[k], 2);
			live += size_of[k];
			live_n++;
			if (live > peak)
				peak = live;
		}
	}
	assert_int_equal(h->procs.v[0].live_n, live_n);
	feed_end(h, 0, true);
	heap_finish(h);
	assert_int_equal(h->tot.leaked_bytes, live);
	assert_int_equal(h->tot.leaked_blocks, live_n);
	assert_int_equal(h->tot.peak_bytes, peak);
	assert_int_equal(h->tot.unknown_frees, 0);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* Points of an SVG path's d attribute: its numbers in pairs. */
static size_t path_points(const char *svg, const char *cls, size_t nth, double *xy, size_t max)
{
	char key[64];
	snprintf(key, sizeof(key), "<path class=\"%s\"", cls);
	const char *at = svg;
	for (size_t i = 0; at && i <= nth; i++)
		at = strstr(i ? at + 1 : at, key);
	if (!at)
		return 0;
	at = strstr(at, " d=\"M");
	size_t n = 0;
	char *end;
	for (at += 5; n < max; at = end) {
		while (*at == ' ' || *at == 'L')
			at++;
		double v = strtod(at, &end);
		if (end == at)
			break;
		xy[n++] = v;
	}
	return n;
}

/* With every site drawn (at most six), the stacked layers add up to the
 * total heap in every column: the chart follows each site's changes. */
static void chart_layers_add_up(int OPS)
{
	enum { SITES = 4, SLOTS = 64, COLS = 600 };
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(5);
	feed_ring(h, 0, &rh);
	for (uint32_t k = 0; k < SITES; k++)
		stack(h, 0, 1 + 2 * k, 0, 0x1000 + k); /* site k: node 2 + 2k */
	uint64_t t = 1;
	for (uint32_t k = 0; k < SITES; k++) /* held to the end: every site is in the peak */
		alloc(h, 0, t++, 0x900000 + k * 16, 8 + k, 2 + 2 * k);
	static uint64_t size_of[SLOTS];
	memset(size_of, 0, sizeof(size_of));
	uint64_t seed = 99;
	for (int i = 0; i < OPS; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t k = (uint32_t)(seed >> 33) % SLOTS;
		uint64_t addr = 0x100000 + (uint64_t)k * 64;
		/* a drift up then down, so the heap has a shape */
		bool grow = (seed >> 20) % 100 < (i < OPS / 2 ? 60u : 40u);
		if (size_of[k] && (!grow || (seed >> 40) % 2)) {
			hfree(h, 0, t++, addr);
			size_of[k] = 0;
		} else if (!size_of[k]) {
			size_of[k] = 1 + (seed >> 50) % 1000;
			alloc(h, 0, t++, addr, size_of[k], 2 + 2 * (k % SITES));
		}
	}
	feed_end(h, 0, true);
	heap_finish(h);

	struct heap_render_opts o = {.top = 5, .command = "test"};
	struct strbuf sb = STRBUF_INIT;
	heap_render_chart(&sb, h, &o);
	static double total[2 * COLS], top[2 + 4 * COLS];
	assert_int_equal(path_points(strbuf_str(&sb), "total", 0, total, 2 * COLS), 2 * COLS);
	/* the last layer drawn lies on all the others: its upper edge first */
	assert_int_equal(path_points(strbuf_str(&sb), "site", SITES - 1, top, 2 + 4 * COLS), 2 + 4 * COLS);
	assert_null(strstr(strstr(strbuf_str(&sb), "<path class=\"total\""), "<path class=\"site\""));
	for (size_t c = 0; c < COLS; c++)
		assert_true(top[2 + 2 * c + 1] == total[2 * c + 1]);
	strbuf_release(&sb);
	feed_done();
	heap_free(h);
	profile_free(p);
}

static void test_chart_layers_add_up(void **state)
{
	(void)state;
	chart_layers_add_up(20000);
}

/* The same after the series was thinned several times. */
static void test_chart_layers_add_up_thinned(void **state)
{
	(void)state;
	chart_layers_add_up(2000000);
}

/* Ten million events make a series of at most HEAP_SERIES_MAX points that
 * still has half as many, keeps the one short peak in the middle of the
 * run at its height, and stays in order. */
static void test_series_bounded(void **state)
{
	(void)state;
	enum { PAIRS = 5000000 };
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(5);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000);
	uint64_t t = 1;
	size_t most = 0;
	for (uint32_t i = 0; i < PAIRS; i++) {
		alloc(h, 0, t++, 0x100000, 16 + i % 64, 2);
		if (i == PAIRS / 2 + 17) {
			alloc(h, 0, t++, 0x900000, 1 << 20, 2);
			hfree(h, 0, t++, 0x900000);
		}
		hfree(h, 0, t++, 0x100000);
		if (h->series.n > most)
			most = h->series.n;
	}
	feed_end(h, 0, true);
	heap_finish(h);
	assert_true(most <= HEAP_SERIES_MAX);
	assert_true(h->series.n >= HEAP_SERIES_MAX / 2);
	assert_int_equal(h->tot.peak_bytes, (1 << 20) + 16 + (PAIRS / 2 + 17) % 64);
	uint64_t top = 0;
	for (size_t i = 0; i < h->series.n; i++) {
		if (h->series.v[i].bytes > top)
			top = h->series.v[i].bytes;
		if (i) {
			assert_true(h->series.v[i].t >= h->series.v[i - 1].t);
			assert_true(h->series.v[i].ev > h->series.v[i - 1].ev);
		}
	}
	assert_int_equal(top, h->tot.peak_bytes);
	/* the deltas, one per site and point at most, replay the sites' bytes */
	assert_true(h->ndeltas <= 2 * h->series.n);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* The packed deltas, thinned many times over, still replay every site's
 * bytes: summed by site they give its live bytes, their points never
 * decrease, and the sites' bytes at each point never exceed the heap
 * there (the heap is the sum of the sites). Sizes span one byte to
 * gigabytes, so each varint length is exercised, and frees of big blocks
 * make negative deltas. */
static void test_deltas_replay(void **state)
{
	(void)state;
	enum { ROUNDS = 400000, SITES = 3 };
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(9);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000); /* nodes 1, 2 */
	stack(h, 0, 3, 1, 0x2000); /* nodes 3, 4 */
	stack(h, 0, 5, 1, 0x3000); /* nodes 5, 6 */
	static const uint32_t node[SITES] = {2, 4, 6};
	uint64_t t = 1, seed = 7;
	for (uint32_t i = 0; i < ROUNDS; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t k = (uint32_t)(seed >> 33) % SITES;
		uint64_t size = 1ull << ((seed >> 40) % 34);
		uint64_t addr = 0x1000000ull + (uint64_t)(i % 512) * 16;
		if (i >= 512)
			hfree(h, 0, t++, addr);
		alloc(h, 0, t++, addr, size, node[k]);
	}
	int64_t sum[SITES + 1] = {0};
	struct heap_delta_cursor c = {0};
	struct heap_delta d;
	uint32_t last = 0;
	size_t n = 0;
	while (heap_delta_next(h, &c, &d)) {
		assert_true(d.point >= last);
		assert_true(d.site < h->sites.n);
		last = d.point;
		sum[d.site] += d.bytes;
		n++;
	}
	assert_int_equal(n, h->ndeltas);
	assert_true(h->series.n <= HEAP_SERIES_MAX);
	/* the changes since the last point are not flushed yet: add them */
	for (size_t i = 0; i < h->dirty.n; i++)
		sum[h->dirty.v[i].site] += h->sites.v[h->dirty.v[i].site].live_bytes - h->dirty.v[i].before;
	for (size_t i = 0; i < h->sites.n; i++)
		assert_int_equal(sum[i], h->sites.v[i].live_bytes);
	/* replayed point by point, the sites never hold more than the heap */
	int64_t cur = 0;
	c = (struct heap_delta_cursor){0};
	bool more = heap_delta_next(h, &c, &d);
	for (size_t i = 0; i < h->series.n; i++) {
		for (; more && d.point <= i; more = heap_delta_next(h, &c, &d))
			cur += d.bytes;
		assert_true(cur <= (int64_t)h->series.v[i].bytes);
	}
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* The summary from the file equals the summary at the end of the run:
 * a site with blocks in three leak classes, temporaries, a second site;
 * written to a .kiln file, read back, made an analysis again. */
static void test_view_from_file(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header rh = ring_header(7);
	feed_ring(h, 0, &rh);
	stack(h, 0, 1, 0, 0x1000); /* nodes 1, 2 */
	stack(h, 0, 3, 1, 0x2000); /* nodes 3, 4 */
	alloc(h, 0, 1, 0xa0, 10, 2);
	alloc(h, 0, 2, 0xb0, 20, 2);
	alloc(h, 0, 3, 0xc0, 40, 2);
	alloc(h, 0, 4, 0xd0, 8, 4);
	hfree(h, 0, 5, 0xd0); /* temporary */
	alloc(h, 0, 6, 0xe0, 100, 4);
	struct heap_block *b;
	uint64_t n;
	assert_int_equal(heap_live_blocks(h, 0, &b, &n), 0);
	assert_int_equal(n, 4);
	uint8_t cls[4] = {HEAP_LEAK_DEFINITE, HEAP_LEAK_INDIRECT, HEAP_LEAK_REACHABLE, HEAP_LEAK_REACHABLE};
	heap_on_classes(h, 0, b, cls, n);
	free(b);
	struct kh_rec_exit x = {{KH_REC_EXIT, sizeof(x)}, 1000 + 7, 0, 0, 3};
	feed_record(h, 0, &x.h);
	feed_end(h, 0, true);
	/* two fork children of a sandboxed host only counted, twice told */
	const uint32_t pids[] = {41, 42};
	heap_on_counted(h, 1, 5, 2, 300, pids, 1);
	heap_on_counted(h, 1, 1, 0, 8, pids + 1, 1);
	assert_int_equal(h->tot.untracked, 3);
	assert_int_equal(h->tot.counted_processes, 2);
	assert_int_equal(h->tot.counted_npids, 2);
	heap_finish(h);
	profile_name_unsymbolized(p);
	/* one site has three classes: two more samples carry them */
	assert_int_equal(p->samples.n, 2 + 2);

	char path[] = "/tmp/kiln-test-heapview-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct kiln_writer *w = NULL;
	assert_int_equal(kiln_writer_open(&w, path), 0);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	kiln_writer_free(w);
	struct profile *r = NULL;
	struct kiln_read_info info = {0};
	assert_int_equal(kiln_read(path, &r, &info), 0);
	unlink(path);
	assert_true(heap_profile_is(r));
	struct heap_analysis *v = heap_from_profile(r);
	assert_non_null(v);
	assert_int_equal(v->tot.temporary, 1);
	assert_int_equal(v->tot.class_blocks[HEAP_LEAK_REACHABLE], 2);
	assert_int_equal(v->tot.scanned, 1);
	assert_int_equal(v->tot.untracked, 3);
	assert_int_equal(v->tot.counted_processes, 2);
	assert_int_equal(v->tot.counted_allocs, 6);
	assert_int_equal(v->tot.counted_frees, 2);
	assert_int_equal(v->tot.counted_bytes, 308);
	assert_int_equal(v->tot.counted_npids, 2);
	assert_int_equal(v->tot.counted_pids[1], 42);

	struct heap_render_opts o = {.top = 5, .command = "test"};
	struct strbuf run = STRBUF_INIT, file = STRBUF_INIT;
	heap_group(h);
	heap_group(v);
	heap_render_json(&run, h, &o);
	heap_render_json(&file, v, &o);
	assert_string_equal(strbuf_str(&file), strbuf_str(&run));
	assert_non_null(strstr(strbuf_str(&file), "\"definitely_lost_bytes\":10,\"indirectly_lost_bytes\":20"));
	assert_non_null(strstr(strbuf_str(&file), "\"untracked\":3,\"counted_only\":{\"processes\":2,\"allocations\":6,"
	                                          "\"frees\":2,\"bytes\":308,\"pids\":[41,42]"));
	strbuf_reset(&run);
	strbuf_reset(&file);
	heap_render_text(&run, h, &o);
	heap_render_text(&file, v, &o);
	assert_string_equal(strbuf_str(&file), strbuf_str(&run));
	assert_non_null(strstr(strbuf_str(&file), "(pid 41 42)"));
	strbuf_release(&run);
	strbuf_release(&file);
	heap_free(v);
	profile_free(r);
	feed_done();
	heap_free(h);
	profile_free(p);
}

/* A heap profile of format 1 (four value types, one sample per site, no
 * class per sample, fewer totals) still makes a summary. */
static void test_view_from_old_profile(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	static const char *const names[4] = {"alloc_space", "alloc_objects", "peak_space", "leaked_space"};
	for (int i = 0; i < 4; i++)
		profile_add_value_type(p, names[i], "bytes");
	profile_set_meta(p, "event", "heap");
	profile_set_meta_u64(p, "heap_allocations", 3);
	profile_set_meta_u64(p, "heap_definitely_lost_bytes", 8);
	uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, 0x1234, PROFILE_LOC_USER);
	struct profile_sample smp = {0};
	smp.stack = profile_stack_child(p, 0, loc);
	smp.values[0] = 24;
	smp.values[1] = 3;
	smp.values[2] = 16;
	smp.values[3] = 8;
	profile_add_sample(p, &smp);
	profile_name_unsymbolized(p);
	struct heap_analysis *v = heap_from_profile(p);
	assert_non_null(v);
	assert_int_equal(v->tot.allocs, 3);
	assert_int_equal(v->tot.scanned, 1);
	size_t n;
	const struct heap_site *s = heap_sites(v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].allocs, 3);
	assert_int_equal(heap_site_leaked_bytes(v, &s[0]), 8);
	assert_int_equal(heap_site_leaks(v, &s[0])->bytes[HEAP_LEAK_UNKNOWN], 8);
	struct heap_render_opts o = {.top = 5, .command = "old"};
	struct strbuf sb = STRBUF_INIT;
	heap_group(v);
	heap_render_text(&sb, v, &o);
	assert_non_null(strstr(strbuf_str(&sb), "definitely lost:    8 bytes"));
	assert_non_null(strstr(strbuf_str(&sb), "8 bytes in 0 blocks not freed"));
	strbuf_release(&sb);
	heap_free(v);
	/* not a heap profile: no view */
	profile_set_meta(p, "event", "cpu-clock");
	assert_null(heap_from_profile(p));
	profile_free(p);
}

/* The site rule: the user's wrapper is a site until --alloc-fn names it,
 * matched against the whole name; a bad regex is refused. The common
 * wrappers (xmalloc, g_malloc0, sqlite3Malloc, PyObject_Malloc, ...) are
 * skipped by default. */
static void test_alloc_rule(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct profile_frame fr[4] = {0};
	const char *const fn[4] = {"main", "make_table", "tbl_alloc", "malloc"};
	for (int i = 0; i < 4; i++) {
		fr[i].function = profile_intern(p, fn[i]);
		fr[i].file = profile_intern(p, "w.c");
	}
	fr[3].file = 0;
	size_t site, top;
	bool runtime;
	assert_true(alloc_rule_site(NULL, p, fr, 4, &site, &top, &runtime));
	assert_int_equal(site, 2); /* tbl_alloc */
	assert_int_equal(top, 0);
	struct alloc_rule *r = alloc_rule_new();
	char why[128];
	assert_int_equal(alloc_rule_add(r, "tbl_all", why, sizeof(why)), 0); /* not the whole name */
	assert_true(alloc_rule_site(r, p, fr, 4, &site, &top, &runtime));
	assert_int_equal(site, 2);
	assert_int_equal(alloc_rule_add(r, "x?tbl_alloc|pool_.*", why, sizeof(why)), 0);
	assert_true(alloc_rule_site(r, p, fr, 4, &site, &top, &runtime));
	assert_int_equal(site, 1); /* make_table */
	assert_false(runtime);
	assert_int_equal(alloc_rule_add(r, "(", why, sizeof(why)), -EINVAL);
	assert_true(why[0] != '\0');
	/* the shipped wrappers, with no --alloc-fn: the site is their caller */
	static const char *const wrappers[] = {"xmalloc",
	                                       "xcalloc",
	                                       "xrealloc",
	                                       "xstrdup",
	                                       "g_malloc",
	                                       "g_malloc0",
	                                       "g_malloc_n",
	                                       "sqlite3Malloc",
	                                       "sqlite3MemMalloc",
	                                       "PyMem_Malloc",
	                                       "PyObject_Malloc",
	                                       "_PyObject_GC_New",
	                                       "je_malloc",
	                                       "mi_malloc",
	                                       "operator new[](unsigned long)",
	                                       "_ZnwmRKSt9nothrow_t"};
	for (size_t w = 0; w < sizeof(wrappers) / sizeof(wrappers[0]); w++) {
		fr[2].function = profile_intern(p, wrappers[w]);
		assert_true(alloc_rule_site(NULL, p, fr, 4, &site, &top, &runtime));
		if (site != 1)
			fail_msg("%s is a site", wrappers[w]);
	}
	/* ...but not a name that only starts like one */
	fr[2].function = profile_intern(p, "xmalloc_stats");
	assert_true(alloc_rule_site(NULL, p, fr, 4, &site, &top, &runtime));
	assert_int_equal(site, 2);
	alloc_rule_free(r);
	alloc_rule_free(NULL);
	profile_free(p);
}

/* Sites split by module and process: one function, file and line in two
 * modules of pid 10 and in pid 11 are three groups; each names the image
 * of its pid whose executable is its module (pid 10 ran b, then exec'd a);
 * the per-process table goes through the file's metadata unchanged. */
static void test_group_by_module_and_process(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	const char *const mods[3] = {"a", "b", "a"};
	const uint32_t pids[3] = {10, 10, 11};
	for (int i = 0; i < 3; i++) {
		uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, 0x100 + (uint64_t)i, PROFILE_LOC_USER);
		struct profile_frame f = {0};
		f.function = profile_intern(p, "make_node");
		f.file = profile_intern(p, "n.c");
		f.line = 7;
		f.module = profile_intern(p, mods[i]);
		profile_set_location_frames(p, loc, &f, 1);
		struct profile_sample smp = {0};
		smp.stack = profile_stack_child(p, 0, loc);
		smp.pid = pids[i];
		smp.cpu = HEAP_LEAK_DEFINITE;
		smp.values[HEAP_VALUE_ALLOC_SPACE] = 40 * (i + 1);
		smp.values[HEAP_VALUE_ALLOC_OBJECTS] = i + 1;
		smp.values[HEAP_VALUE_LEAKED_SPACE] = 40 * (i + 1);
		smp.values[HEAP_VALUE_LEAKED_OBJECTS] = i + 1;
		profile_add_sample(p, &smp);
	}
	struct heap_process procs[3] = {{.pid = 10, .command = "/x/b", .exec = true, .allocs = 2},
	                                {.pid = 10, .command = "/x/a", .allocs = 1, .peak_bytes = 40},
	                                {.pid = 11, .ppid = 10, .command = "/x/a x", .allocs = 3, .scanned = true}};
	procs[1].class_bytes[HEAP_LEAK_DEFINITE] = 40;
	procs[1].class_blocks[HEAP_LEAK_DEFINITE] = 1;
	heap_processes_meta(p, procs, 3);
	struct heap_analysis *v = heap_from_profile(p);
	assert_non_null(v);
	assert_int_equal(v->processes.n, 3);
	assert_string_equal(v->processes.v[2].command, "/x/a x"); /* spaces and all */
	assert_int_equal(v->processes.v[2].ppid, 10);
	assert_true(v->processes.v[2].scanned && v->processes.v[0].exec && !v->processes.v[1].exec);
	assert_int_equal(v->processes.v[1].class_bytes[HEAP_LEAK_DEFINITE], 40);
	assert_int_equal(v->processes.v[1].peak_bytes, 40);
	heap_group(v);
	size_t n;
	const struct heap_site *g = heap_sites(v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v->npids, 2);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(g[i].allocs, i + 1);
		assert_int_equal(heap_site_process(v, &g[i])->pid, pids[i]);
	}
	assert_string_equal(heap_site_process(v, &g[0])->command, "/x/a");
	assert_string_equal(heap_site_process(v, &g[1])->command, "/x/b");
	struct strbuf sb = STRBUF_INIT;
	heap_site_where(&sb, v, &g[1]);
	assert_string_equal(strbuf_str(&sb), " [pid 10: b]");
	strbuf_reset(&sb);
	struct heap_render_opts o = {.top = 5, .command = "t"};
	heap_render_json(&sb, v, &o);
	assert_non_null(strstr(strbuf_str(&sb), "\"module\":\"b\",\"pid\":10,\"command\":\"/x/b\""));
	assert_non_null(strstr(strbuf_str(&sb), "\"per_process\":[{\"pid\":10,\"ppid\":0,\"command\":\"/x/b\""));
	strbuf_release(&sb);
	assert_int_equal(heap_process_find(v, 10, "zz"), 1); /* no image is zz: the last */
	assert_int_equal(heap_process_find(v, 12, "a"), UINT32_MAX);
	heap_free(v);
	profile_free(p);
}

/* A file from before the per-process table: one entry per pid, added up
 * from its samples. */
static void test_processes_from_samples(void **state)
{
	(void)state;
	struct profile *p = heap_profile();
	uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, 0x100, PROFILE_LOC_USER);
	struct profile_sample smp = {0};
	smp.stack = profile_stack_child(p, 0, loc);
	for (uint32_t pid = 5; pid <= 6; pid++) {
		smp.pid = pid;
		smp.cpu = HEAP_LEAK_REACHABLE;
		smp.values[HEAP_VALUE_ALLOC_OBJECTS] = pid;
		smp.values[HEAP_VALUE_LEAKED_SPACE] = 8 * pid;
		smp.values[HEAP_VALUE_LEAKED_OBJECTS] = 1;
		profile_add_sample(p, &smp);
	}
	profile_name_unsymbolized(p);
	struct heap_analysis *v = heap_from_profile(p);
	assert_int_equal(v->processes.n, 2);
	assert_int_equal(v->processes.v[1].pid, 6);
	assert_int_equal(v->processes.v[1].allocs, 6);
	assert_int_equal(v->processes.v[1].class_bytes[HEAP_LEAK_REACHABLE], 48);
	assert_string_equal(v->processes.v[1].command, "");
	heap_free(v);
	profile_free(p);
}

/* The views' trim: a location whose inlined frames run from Vec's
 * plumbing into the user's function becomes that function alone, the
 * sample moves to it, and a stack with no user frame stays whole. */
static void test_trim_profile(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint32_t outer = profile_location(p, PROFILE_NO_MAPPING, 0x10, PROFILE_LOC_USER);
	uint32_t mixed = profile_location(p, PROFILE_NO_MAPPING, 0x20, PROFILE_LOC_USER);
	uint32_t leaf = profile_location(p, PROFILE_NO_MAPPING, 0x30, PROFILE_LOC_USER);
	struct profile_frame f = {0};
	f.function = profile_intern(p, "app::main");
	f.file = profile_intern(p, "main.rs");
	profile_set_location_frames(p, outer, &f, 1);
	struct profile_frame m[2] = {{0}, {0}};
	m[0].function = profile_intern(p, "alloc::raw_vec::RawVec<T>::grow");
	m[0].inlined = true;
	m[1].function = profile_intern(p, "app::fill");
	m[1].file = profile_intern(p, "main.rs");
	profile_set_location_frames(p, mixed, m, 2);
	f.function = profile_intern(p, "malloc");
	f.file = 0;
	profile_set_location_frames(p, leaf, &f, 1);
	uint32_t n1 = profile_stack_child(p, 0, outer);
	uint32_t n2 = profile_stack_child(p, n1, mixed);
	uint32_t n3 = profile_stack_child(p, n2, leaf);
	uint32_t lone = profile_stack_child(p, 0, leaf); /* no user frame */
	struct profile_sample s = {0};
	s.stack = n3;
	profile_add_sample(p, &s);
	s.stack = lone;
	profile_add_sample(p, &s);
	alloc_rule_trim_profile(NULL, p);
	struct profile_frame *fr;
	size_t n = profile_stack_frames(p, p->samples.v[0].stack, &fr);
	assert_int_equal(n, 2);
	assert_string_equal(profile_str(p, fr[0].function), "app::main");
	assert_string_equal(profile_str(p, fr[1].function), "app::fill");
	free(fr);
	assert_int_equal(p->samples.v[1].stack, lone);
	profile_free(p);
}

/* Enough sites (65536 and more) from two processes that heap_finish()
 * sizes its outputs on a second thread while it copies the stacks: the
 * threaded path, which make tsan runs under ThreadSanitizer. */
static void test_many_sites_threaded(void **state)
{
	(void)state;
	enum { NSITES = 70000 };
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	struct kh_ring_header r0 = ring_header(10), r1 = ring_header(11);
	feed_ring(h, 0, &r0);
	feed_ring(h, 1, &r1);
	assert_true(h->procs.v[0].live_copy);
	for (uint32_t k = 0; k < NSITES; k++) {
		const uint64_t f[] = {0x10000 + (uint64_t)k};
		stack_frames(h, 0, k + 1, 0, f, 1);
		alloc(h, 0, k, 0x100000 + (uint64_t)k * 16, 8, k + 1);
	}
	const uint64_t f1[] = {0x9999};
	stack_frames(h, 1, 1, 0, f1, 1);
	alloc(h, 1, NSITES, 0x10, 100, 1);
	feed_end(h, 0, true);
	feed_end(h, 1, true);
	heap_finish(h);

	assert_int_equal(h->sites.n, NSITES + 1);
	int64_t alloc_space = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		alloc_space += p->samples.v[i].values[HEAP_VALUE_ALLOC_SPACE];
	assert_int_equal(alloc_space, (int64_t)NSITES * 8 + 100);
	feed_done();
	heap_free(h);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_totals_peak_temporary),
	    cmocka_unit_test(test_stacks_into_profile),
	    cmocka_unit_test(test_pending_stacks),
	    cmocka_unit_test(test_freeres_frees),
	    cmocka_unit_test(test_exec_is_not_a_leak),
	    cmocka_unit_test(test_live_table_random),
	    cmocka_unit_test(test_chart_layers_add_up),
	    cmocka_unit_test(test_chart_layers_add_up_thinned),
	    cmocka_unit_test(test_series_bounded),
	    cmocka_unit_test(test_deltas_replay),
	    cmocka_unit_test(test_double_free),
	    cmocka_unit_test(test_no_malloc_hint),
	    cmocka_unit_test(test_view_from_file),
	    cmocka_unit_test(test_view_from_old_profile),
	    cmocka_unit_test(test_alloc_rule),
	    cmocka_unit_test(test_trim_profile),
	    cmocka_unit_test(test_group_by_module_and_process),
	    cmocka_unit_test(test_processes_from_samples),
	    cmocka_unit_test(test_maps_pieces),
	    cmocka_unit_test(test_many_sites_threaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
