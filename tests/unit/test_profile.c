/* test_profile.c - the profile model: interning, deduplication of locations
 * and stacks, stack walking order, metadata, threads, naming unsymbolized
 * locations, reindexing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "profile/profile.h"

/* One rule for module names and unnamed code, wherever a name is made
 * (resolve.c, profile.c, perf_data.c, elf_module.c): a trailing '/' keeps
 * the whole path rather than naming the module "". */
static void test_module_names(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(profile_module_name("/usr/lib/libc.so.6"), "libc.so.6");
	assert_string_equal(profile_module_name("prog"), "prog");
	assert_string_equal(profile_module_name("[vdso]"), "[vdso]");
	assert_string_equal(profile_module_name("/tmp/odd/"), "/tmp/odd/");
	assert_string_equal(profile_addr_name(buf, sizeof(buf), "libc.so.6", 0x1a2b), "libc.so.6+0x1a2b");
	assert_string_equal(profile_addr_name(buf, 8, "libc.so.6", 0x1a2b), "libc.so");

	/* a location in a mapping whose path ends in '/' */
	struct profile *p = profile_new();
	struct profile_mapping m = {.start = 0x1000, .end = 0x2000, .path = profile_intern(p, "/tmp/odd/")};
	uint32_t mid = profile_add_mapping(p, &m);
	uint32_t loc = profile_location(p, mid, 0x1010, PROFILE_LOC_USER);
	profile_name_unsymbolized(p);
	const struct profile_location *l = &p->locations.v[loc];
	assert_int_equal(l->nframes, 1);
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].function), "/tmp/odd/+0x10");
	profile_free(p);
}

static void test_strings_and_value_types(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	assert_string_equal(profile_str(p, 0), "");
	assert_int_equal(profile_intern(p, ""), 0);
	uint32_t a = profile_intern(p, "alpha");
	assert_int_not_equal(a, 0);
	assert_int_equal(profile_intern(p, "alpha"), a);
	assert_int_not_equal(profile_intern(p, "beta"), a);
	assert_string_equal(profile_str(p, a), "alpha");
	for (int i = 0; i < PROFILE_MAX_VALUES; i++)
		assert_int_equal(profile_add_value_type(p, "samples", "count"), i);
	assert_true(profile_add_value_type(p, "one", "too many") < 0);
	assert_int_equal(p->value_types.n, PROFILE_MAX_VALUES);
	assert_string_equal(profile_str(p, p->value_types.v[1].unit), "count");
	profile_free(p);
	profile_free(NULL);
}

static void test_location_dedup(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct profile_mapping m = {1, 0x1000, 0x2000, 0, profile_intern(p, "/bin/x"), 0, 0};
	uint32_t mi = profile_add_mapping(p, &m);
	uint32_t a = profile_location(p, mi, 0x1100, PROFILE_LOC_USER);
	uint32_t b = profile_location(p, mi, 0x1200, PROFILE_LOC_USER);
	assert_int_not_equal(a, b);
	assert_int_equal(profile_location(p, mi, 0x1100, PROFILE_LOC_USER), a);
	/* the same address as a kernel location, or without a mapping, is another location */
	uint32_t k = profile_location(p, mi, 0x1100, PROFILE_LOC_KERNEL);
	uint32_t n = profile_location(p, PROFILE_NO_MAPPING, 0x1100, PROFILE_LOC_USER);
	assert_int_not_equal(k, a);
	assert_int_not_equal(n, a);
	assert_int_not_equal(n, k);
	assert_int_equal(p->locations.n, 4);
	assert_int_equal(p->locations.v[n].mapping, PROFILE_NO_MAPPING);
	assert_int_equal(p->locations.v[k].kind, PROFILE_LOC_KERNEL);
	/* many locations stay distinct and findable */
	for (uint64_t i = 0; i < 10000; i++)
		profile_location(p, mi, 0x100000 + i * 4, PROFILE_LOC_USER);
	assert_int_equal(p->locations.n, 10004);
	for (uint64_t i = 0; i < 10000; i++)
		assert_int_equal(profile_location(p, mi, 0x100000 + i * 4, PROFILE_LOC_USER), 4 + i);
	profile_free(p);
}

static void test_stack_dedup(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	assert_int_equal(p->stacks.n, 1); /* the root */
	uint32_t l[4];
	for (int i = 0; i < 4; i++)
		l[i] = profile_location(p, PROFILE_NO_MAPPING, 0x10 * (uint64_t)(i + 1), PROFILE_LOC_USER);
	/* leaf first: l0 called from l1 called from l2 */
	uint32_t leaf_first[] = {l[0], l[1], l[2]};
	uint32_t s = profile_stack_from_leaf(p, leaf_first, 3);
	assert_int_equal(p->stacks.n, 4);
	assert_int_equal(p->stacks.v[s].location, l[0]);
	assert_int_equal(p->stacks.v[s].depth, 3);
	uint32_t mid = p->stacks.v[s].parent;
	assert_int_equal(p->stacks.v[mid].location, l[1]);
	uint32_t top = p->stacks.v[mid].parent;
	assert_int_equal(p->stacks.v[top].location, l[2]);
	assert_int_equal(p->stacks.v[top].parent, 0);
	assert_int_equal(p->stacks.v[top].depth, 1);
	/* the same stack again: no new nodes */
	assert_int_equal(profile_stack_from_leaf(p, leaf_first, 3), s);
	assert_int_equal(p->stacks.n, 4);
	/* a sibling shares the callers' nodes */
	uint32_t sib[] = {l[3], l[1], l[2]};
	uint32_t s2 = profile_stack_from_leaf(p, sib, 3);
	assert_int_not_equal(s2, s);
	assert_int_equal(p->stacks.v[s2].parent, mid);
	assert_int_equal(p->stacks.n, 5);
	/* a prefix is an existing node */
	assert_int_equal(profile_stack_from_leaf(p, leaf_first + 1, 2), mid);
	assert_int_equal(profile_stack_from_leaf(p, NULL, 0), 0);
	assert_int_equal(profile_stack_child(p, mid, l[0]), s);
	profile_free(p);
}

struct walk {
	char names[16][32];
	uint32_t locs[16];
	int n;
	int stop_at;
};

static int walk_fn(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct walk *w = ctx;
	(void)f;
	w->locs[w->n] = location;
	w->n++;
	return w->n == w->stop_at ? 42 : 0;
}

static const struct profile *walk_profile;

static int walk_name_fn(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct walk *w = ctx;
	snprintf(w->names[w->n], sizeof(w->names[0]), "%s", profile_str(walk_profile, f->function));
	return walk_fn(ctx, f, location);
}

static void test_walk_stack_order(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint32_t main_l = profile_location(p, PROFILE_NO_MAPPING, 0x100, PROFILE_LOC_USER);
	uint32_t work_l = profile_location(p, PROFILE_NO_MAPPING, 0x200, PROFILE_LOC_USER);
	uint32_t leaf_l = profile_location(p, PROFILE_NO_MAPPING, 0x300, PROFILE_LOC_USER);
	struct profile_frame fm = {profile_intern(p, "main"), 0, 1, 0, false, 0};
	profile_set_location_frames(p, main_l, &fm, 1);
	/* work_l: helper inlined into inner inlined into work (innermost first) */
	struct profile_frame fw[] = {
	    {profile_intern(p, "helper"), 0, 3, 0, true, 0},
	    {profile_intern(p, "inner"), 0, 2, 0, true, 0},
	    {profile_intern(p, "work"), 0, 1, 0, false, 0},
	};
	profile_set_location_frames(p, work_l, fw, 3);
	/* leaf_l stays unsymbolized */
	uint32_t stack[] = {leaf_l, work_l, main_l};
	uint32_t node = profile_stack_from_leaf(p, stack, 3);

	struct walk w = {0};
	walk_profile = p;
	assert_int_equal(profile_walk_stack(p, node, walk_name_fn, &w), 0);
	assert_int_equal(w.n, 5);
	const char *want[] = {"main", "work", "inner", "helper", ""};
	uint32_t want_loc[] = {main_l, work_l, work_l, work_l, leaf_l};
	for (int i = 0; i < 5; i++) {
		assert_string_equal(w.names[i], want[i]);
		assert_int_equal(w.locs[i], want_loc[i]);
	}
	/* the same frames as an array, outermost first */
	struct profile_frame *arr;
	assert_int_equal(profile_stack_frames(p, node, &arr), 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(profile_str(p, arr[i].function), want[i]);
	assert_true(arr[3].inlined); /* helper and inner were inlined into work */
	assert_true(arr[2].inlined);
	assert_false(arr[1].inlined);
	free(arr);
	assert_int_equal(profile_stack_frames(p, 0, &arr), 0);
	free(arr);
	/* stops early and passes the callback's value back */
	struct walk w2 = {.stop_at = 2};
	assert_int_equal(profile_walk_stack(p, node, walk_fn, &w2), 42);
	assert_int_equal(w2.n, 2);
	/* the root walks nothing */
	struct walk w3 = {0};
	assert_int_equal(profile_walk_stack(p, 0, walk_fn, &w3), 0);
	assert_int_equal(w3.n, 0);
	/* replacing frames takes effect */
	struct profile_frame fr = {profile_intern(p, "work2"), 0, 1, 0, false, 0};
	profile_set_location_frames(p, work_l, &fr, 1);
	struct walk w4 = {0};
	profile_walk_stack(p, node, walk_name_fn, &w4);
	assert_int_equal(w4.n, 3);
	assert_string_equal(w4.names[1], "work2");
	profile_free(p);
}

struct order {
	uint32_t next; /* the location expected next */
	int bad;
};

static int order_fn(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct order *o = ctx;
	(void)f;
	if (location != o->next)
		o->bad++;
	o->next++;
	return 0;
}

static void test_deep_stack_walk(void **state)
{
	/* deeper than the walker's on-stack buffer, still root first */
	(void)state;
	struct profile *p = profile_new();
	uint32_t node = 0;
	for (uint32_t i = 0; i < 1000; i++)
		node = profile_stack_child(p, node, profile_location(p, PROFILE_NO_MAPPING, i, PROFILE_LOC_USER));
	assert_int_equal(p->stacks.v[node].depth, 1000);
	struct order o = {0, 0};
	assert_int_equal(profile_walk_stack(p, node, order_fn, &o), 0);
	assert_int_equal(o.next, 1000);
	assert_int_equal(o.bad, 0);
	profile_free(p);
}

static void test_meta(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	assert_null(profile_get_meta(p, "command"));
	assert_int_equal(profile_get_meta_u64(p, "start", 7), 7);
	profile_set_meta(p, "command", "a b");
	profile_set_meta(p, "command", "c d"); /* replaces */
	assert_int_equal(p->meta.n, 1);
	assert_string_equal(profile_get_meta(p, "command"), "c d");
	profile_set_meta_u64(p, "start", 18446744073709551615ull);
	assert_int_equal(profile_get_meta_u64(p, "start", 0), UINT64_MAX);
	profile_set_meta(p, "host", "not a number");
	assert_int_equal(profile_get_meta_u64(p, "host", 9), 9);
	profile_set_meta(p, "empty", "");
	assert_int_equal(profile_get_meta_u64(p, "empty", 3), 3);
	assert_string_equal(profile_get_meta(p, "empty"), "");
	assert_null(profile_get_meta(p, "c d")); /* a value is not a key */
	profile_free(p);
}

static void test_threads(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	assert_null(profile_find_thread(p, 10));
	struct profile_thread *t = profile_thread(p, 10, 9);
	t->name = profile_intern(p, "main");
	for (uint32_t tid = 11; tid < 100; tid++)
		profile_thread(p, tid, 9);
	assert_int_equal(p->threads.n, 90);
	t = profile_thread(p, 10, 9);
	assert_string_equal(profile_str(p, t->name), "main");
	assert_int_equal(p->threads.n, 90);
	const struct profile_thread *f = profile_find_thread(p, 50);
	assert_non_null(f);
	assert_int_equal(f->tid, 50);
	assert_int_equal(f->pid, 9);
	assert_null(profile_find_thread(p, 100));
	profile_free(p);
}

static void test_name_unsymbolized(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct profile_mapping m = {1, 0x400000, 0x500000, 0x1000, profile_intern(p, "/usr/bin/demo"), 0, 0};
	uint32_t mi = profile_add_mapping(p, &m);
	uint32_t a = profile_location(p, mi, 0x400234, PROFILE_LOC_USER);
	uint32_t b = profile_location(p, PROFILE_NO_MAPPING, 0xdead, PROFILE_LOC_USER);
	uint32_t k = profile_location(p, PROFILE_NO_MAPPING, 0xffffffff81000010ull, PROFILE_LOC_KERNEL);
	uint32_t s = profile_location(p, mi, 0x400300, PROFILE_LOC_USER);
	struct profile_frame f = {profile_intern(p, "known"), 0, 0, 0, false, 0};
	profile_set_location_frames(p, s, &f, 1);
	profile_name_unsymbolized(p);
	const struct profile_location *l = &p->locations.v[a];
	assert_int_equal(l->nframes, 1);
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].function), "demo+0x1234");
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].module), "demo");
	l = &p->locations.v[b];
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].function), "0xdead");
	l = &p->locations.v[k];
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].module), "[kernel.kallsyms]");
	l = &p->locations.v[s];
	assert_int_equal(l->nframes, 1);
	assert_string_equal(profile_str(p, p->frames.v[l->first_frame].function), "known");
	profile_free(p);
}

static void test_reindex(void **state)
{
	/* vectors filled directly (as a reader does) become findable after reindex */
	(void)state;
	struct profile *p = profile_new();
	struct profile_location l = {0x1234, PROFILE_NO_MAPPING, PROFILE_LOC_USER, 0, 0, 0, false};
	vec_push(&p->locations, l);
	struct profile_stack_node n = {0, 0, 1};
	vec_push(&p->stacks, n);
	struct profile_thread t = {77, 70, 0, 0, 0};
	vec_push(&p->threads, t);
	profile_reindex(p);
	assert_int_equal(profile_location(p, PROFILE_NO_MAPPING, 0x1234, PROFILE_LOC_USER), 0);
	assert_int_equal(profile_stack_child(p, 0, 0), 1);
	assert_non_null(profile_find_thread(p, 77));
	assert_int_equal(p->locations.n, 1);
	assert_int_equal(p->stacks.n, 2);
	profile_free(p);
}

static void test_stack_index_catch_up(void **state)
{
	/* nodes appended directly (as the reader does) and never reindexed
	 * are found by the next profile_stack_child(), after nodes it added */
	(void)state;
	struct profile *p = profile_new();
	uint32_t a = profile_location(p, PROFILE_NO_MAPPING, 0xa, PROFILE_LOC_USER);
	uint32_t b = profile_location(p, PROFILE_NO_MAPPING, 0xb, PROFILE_LOC_USER);
	assert_int_equal(profile_stack_child(p, 0, a), 1);
	struct profile_stack_node n = {1, b, 2};
	vec_push(&p->stacks, n); /* node 2: b under a */
	struct profile_stack_node m = {2, a, 3};
	vec_push(&p->stacks, m); /* node 3: a under b under a */
	assert_int_equal(profile_stack_child(p, 1, b), 2);
	assert_int_equal(profile_stack_child(p, 2, a), 3);
	assert_int_equal(profile_stack_child(p, 0, a), 1);
	assert_int_equal(p->stacks.n, 4);
	/* a new node after the catch-up is indexed as it is added */
	assert_int_equal(profile_stack_child(p, 3, b), 4);
	assert_int_equal(profile_stack_child(p, 3, b), 4);
	assert_int_equal(p->stacks.v[4].depth, 4);
	uint32_t leaf_first[] = {b, a, b, a};
	assert_int_equal(profile_stack_from_leaf(p, leaf_first, 4), 4);
	assert_int_equal(p->stacks.n, 5);
	profile_free(p);
}

/* Appended nodes are found by the next profile_stack_child(), which adds
 * no duplicate and keeps depths right. */
static void test_stack_append(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint32_t a = profile_stack_append(p, 0, 7);
	uint32_t b = profile_stack_append(p, a, 8);
	uint32_t c = profile_stack_append(p, a, 9);
	assert_int_equal(p->stacks.v[b].depth, 2);
	assert_int_equal(profile_stack_child(p, 0, 7), a);
	assert_int_equal(profile_stack_child(p, a, 8), b);
	assert_int_equal(profile_stack_child(p, a, 9), c);
	size_t n = p->stacks.n;
	uint32_t d = profile_stack_child(p, b, 7);
	assert_int_equal(p->stacks.n, n + 1);
	assert_int_equal(profile_stack_append(p, d, 1), d + 1);
	assert_int_equal(profile_stack_child(p, d, 1), d + 1);
	profile_free(p);
}

static void test_reserve(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_reserve(p, 1000, 2000, 300);
	assert_true(p->stacks.cap >= 1000);
	assert_true(p->samples.cap >= 2000);
	assert_true(p->locations.cap >= 300);
	assert_int_equal(p->stacks.n, 1); /* room only: nothing added */
	assert_int_equal(p->samples.n, 0);
	assert_int_equal(p->locations.n, 0);
	void *stacks = p->stacks.v;
	for (uint32_t i = 0; i < 300; i++)
		profile_stack_child(p, 0, profile_location(p, PROFILE_NO_MAPPING, i, PROFILE_LOC_USER));
	assert_ptr_equal(p->stacks.v, stacks); /* filling it did not move it */
	assert_int_equal(p->stacks.n, 301);
	profile_reserve(p, 0, 0, 0); /* changes nothing */
	assert_true(p->stacks.cap >= 1000);
	profile_free(p);
}

/* Room in the stack index: nodes appended before it are indexed first
 * (found again, not duplicated), and adding up to the count reserved
 * never rehashes the index. */
static void test_reserve_stack_index(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint32_t a = profile_stack_append(p, 0, 7);
	profile_reserve_stack_index(p, 1001);
	assert_int_equal(p->stacks.n, 2); /* room only: nothing added */
	struct hashmap_slot *slots = p->stack_index.slots;
	size_t cap = p->stack_index.cap;
	assert_true(cap / 2 >= 1001);
	assert_int_equal(profile_stack_child(p, 0, 7), a);
	for (uint32_t i = 0; i < 999; i++)
		profile_stack_child(p, a, i);
	assert_int_equal(p->stacks.n, 1001);
	assert_ptr_equal(p->stack_index.slots, slots); /* filling it did not rehash */
	assert_int_equal(p->stack_index.cap, cap);
	assert_int_equal(profile_stack_child(p, a, 998), 1000);
	profile_reserve_stack_index(p, 10); /* fewer than it holds: changes nothing */
	assert_int_equal(p->stack_index.cap, cap);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings_and_value_types),
	    cmocka_unit_test(test_module_names),
	    cmocka_unit_test(test_module_names),
	    cmocka_unit_test(test_location_dedup),
	    cmocka_unit_test(test_stack_dedup),
	    cmocka_unit_test(test_walk_stack_order),
	    cmocka_unit_test(test_deep_stack_walk),
	    cmocka_unit_test(test_meta),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_name_unsymbolized),
	    cmocka_unit_test(test_reindex),
	    cmocka_unit_test(test_stack_index_catch_up),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_reserve_stack_index),
	    cmocka_unit_test(test_stack_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
