/* test_hotspots.c - self/total per function, the call tree, the thread
 * split and the distinct stacks, on profiles built by hand with known
 * stacks (recursion, inlined frames, several addresses per line). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"

#define CPU_PER_SAMPLE 1000

struct fixture {
	struct profile *p;
	uint64_t next_addr;
};

/* A location at a fresh address whose frames are given outermost (the real
 * function) first, each as name, file, line; the rest are inlined into it. */
static uint32_t loc(struct fixture *f, const char *module, int nframes, ...)
{
	struct profile_frame frames[8];
	va_list ap;
	va_start(ap, nframes);
	/* profile order is innermost first: fill from the back */
	for (int i = nframes - 1; i >= 0; i--) {
		const char *name = va_arg(ap, const char *);
		const char *file = va_arg(ap, const char *);
		unsigned line = va_arg(ap, unsigned);
		frames[i] = (struct profile_frame){
		    .function = profile_intern(f->p, name),
		    .file = profile_intern(f->p, file),
		    .line = line,
		    .module = profile_intern(f->p, module),
		    .inlined = i != nframes - 1,
		};
	}
	va_end(ap);
	uint32_t l = profile_location(f->p, PROFILE_NO_MAPPING, f->next_addr++, PROFILE_LOC_USER);
	profile_set_location_frames(f->p, l, frames, (uint32_t)nframes);
	return l;
}

/* Adds `count` samples on tid with the stack given root first. */
static void samples(struct fixture *f, uint32_t tid, int count, int n, ...)
{
	uint32_t locs[32];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		locs[n - 1 - i] = va_arg(ap, uint32_t); /* leaf first for the profile */
	va_end(ap);
	uint32_t leaf = profile_stack_from_leaf(f->p, locs, (uint32_t)n);
	for (int i = 0; i < count; i++) {
		struct profile_sample s = {.stack = leaf, .tid = tid, .pid = 1, .time = f->next_addr};
		s.values[0] = 1;
		s.values[1] = CPU_PER_SAMPLE;
		profile_add_sample(f->p, &s);
	}
}

static void name_thread(struct profile *p, uint32_t tid, const char *name)
{
	uint32_t id = profile_intern(p, name);
	profile_thread(p, tid, 1)->name = id;
}

/*
 * main->a->leaf1 x100 (30 at line 10, 70 at line 11)     tid 1
 * main->a->leaf2 x200 (two addresses on line 20)          tid 2
 * main->b x100                                            tid 1
 * main->rec->rec->rec->leaf x50                           tid 2
 * main->c(inl inlined into c) x50                         tid 3
 */
static int setup(void **state)
{
	static struct fixture f;
	f.p = profile_new();
	f.next_addr = 0x1000;
	profile_add_value_type(f.p, "samples", "count");
	profile_add_value_type(f.p, "cpu", "nanoseconds");
	uint32_t main_ = loc(&f, "prog", 1, "main", "main.c", 5u);
	uint32_t a = loc(&f, "prog", 1, "a", "a.c", 1u);
	uint32_t leaf1_10 = loc(&f, "prog", 1, "leaf1", "leaf.c", 10u);
	uint32_t leaf1_11 = loc(&f, "prog", 1, "leaf1", "leaf.c", 11u);
	uint32_t leaf2_x = loc(&f, "prog", 1, "leaf2", "leaf.c", 20u);
	uint32_t leaf2_y = loc(&f, "prog", 1, "leaf2", "leaf.c", 20u);
	uint32_t b = loc(&f, "prog", 1, "b", "b.c", 3u);
	uint32_t rec1 = loc(&f, "prog", 1, "rec", "rec.c", 7u);
	uint32_t rec2 = loc(&f, "prog", 1, "rec", "rec.c", 8u);
	uint32_t leaf = loc(&f, "prog", 1, "leaf", "rec.c", 2u);
	uint32_t c_inl = loc(&f, "prog", 2, "c", "c.c", 30u, "inl", "inl.h", 4u);

	samples(&f, 1, 30, 3, main_, a, leaf1_10);
	samples(&f, 1, 70, 3, main_, a, leaf1_11);
	samples(&f, 2, 100, 3, main_, a, leaf2_x);
	samples(&f, 2, 100, 3, main_, a, leaf2_y);
	samples(&f, 1, 100, 2, main_, b);
	samples(&f, 2, 50, 5, main_, rec1, rec2, rec2, leaf);
	samples(&f, 3, 50, 2, main_, c_inl);
	name_thread(f.p, 1, "main-thread");
	name_thread(f.p, 2, "worker-2");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	profile_free(f->p);
	return 0;
}

static const struct hotspot_func *func(const struct hotspots *h, const char *name)
{
	const struct hotspot_func *f = hotspots_find_function(h, name, NULL);
	assert_non_null(f);
	return f;
}

static void test_value_index(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(hotspots_value_index(f->p, NULL), 1);
	assert_int_equal(hotspots_value_index(f->p, ""), 1);
	assert_int_equal(hotspots_value_index(f->p, "samples"), 0);
	assert_int_equal(hotspots_value_index(f->p, "cpu"), 1);
	assert_int_equal(hotspots_value_index(f->p, "alloc"), -ENOENT);

	struct profile *empty = profile_new();
	assert_int_equal(hotspots_value_index(empty, NULL), HOTSPOTS_VALUE_SAMPLES);
	profile_add_value_type(empty, "samples", "count");
	assert_int_equal(hotspots_value_index(empty, NULL), 0);
	profile_free(empty);

	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 3), -EINVAL);
}

static void test_self_total(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	assert_string_equal(h.value_type, "cpu");
	assert_string_equal(h.value_unit, "nanoseconds");
	assert_int_equal(h.samples, 500);
	assert_int_equal(h.total, 500 * CPU_PER_SAMPLE);

	assert_int_equal(func(&h, "main")->self, 0);
	assert_int_equal(func(&h, "main")->total, 500 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "a")->self, 0);
	assert_int_equal(func(&h, "a")->total, 300 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "leaf1")->self, 100 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "leaf2")->self, 200 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "leaf2")->total, 200 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "leaf2")->self_samples, 200);
	assert_int_equal(func(&h, "b")->self, 100 * CPU_PER_SAMPLE);
	/* recursion: rec is on the stack three times but counts once */
	assert_int_equal(func(&h, "rec")->total, 50 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "rec")->total_samples, 50);
	assert_int_equal(func(&h, "rec")->self, 0);
	assert_int_equal(func(&h, "leaf")->self, 50 * CPU_PER_SAMPLE);
	/* inlined: self goes to the innermost frame, total to both */
	assert_int_equal(func(&h, "inl")->self, 50 * CPU_PER_SAMPLE);
	assert_int_equal(func(&h, "c")->self, 0);
	assert_int_equal(func(&h, "c")->total, 50 * CPU_PER_SAMPLE);
	assert_int_equal(h.funcs.n, 9);

	assert_true(hotspots_pct(&h, func(&h, "leaf2")->self) == 40.0);
	assert_true(hotspots_pct(&h, func(&h, "a")->total) == 60.0);
	assert_true(hotspots_pct(&h, func(&h, "rec")->total) == 10.0);

	/* default order: self, largest first; ties by total, then name */
	assert_string_equal(profile_str(f->p, h.funcs.v[0].name), "leaf2");
	assert_string_equal(profile_str(f->p, h.funcs.v[1].name), "b");
	assert_string_equal(profile_str(f->p, h.funcs.v[2].name), "leaf1");
	hotspots_sort_functions(&h, HOTSPOT_SORT_TOTAL);
	assert_string_equal(profile_str(f->p, h.funcs.v[0].name), "main");
	assert_string_equal(profile_str(f->p, h.funcs.v[1].name), "a");
	hotspots_sort_functions(&h, HOTSPOT_SORT_NAME);
	assert_string_equal(profile_str(f->p, h.funcs.v[0].name), "a");
	assert_string_equal(profile_str(f->p, h.funcs.v[8].name), "rec");
	hotspots_release(&h);
}

static void test_sample_counts(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 0), 0);
	assert_string_equal(h.value_type, "samples");
	assert_int_equal(h.total, 500);
	assert_int_equal(func(&h, "leaf2")->self, 200);
	assert_int_equal(func(&h, "rec")->total, 50);
	hotspots_release(&h);
}

static void test_locations(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	/* leaf1: line 11 has 70 samples of self, line 10 only 30 */
	const struct hotspot_func *l1 = func(&h, "leaf1");
	assert_string_equal(profile_str(f->p, l1->file), "leaf.c");
	assert_int_equal(l1->line, 11);
	/* no self value: the first frame seen */
	assert_string_equal(profile_str(f->p, func(&h, "main")->file), "main.c");
	assert_int_equal(func(&h, "main")->line, 5);
	assert_int_equal(func(&h, "rec")->line, 7);
	assert_string_equal(profile_str(f->p, func(&h, "inl")->file), "inl.h");
	assert_string_equal(profile_str(f->p, func(&h, "inl")->module), "prog");
	hotspots_release(&h);
}

static void test_tree(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	const struct hotspot_node *root = &h.tree.v[0];
	assert_int_equal(root->total, 500 * CPU_PER_SAMPLE);
	assert_int_equal(root->self, 0);
	assert_int_equal(root->nchildren, 1);

	uint32_t m = hotspots_tree_find_child(&h, 0, "main");
	assert_int_not_equal(m, UINT32_MAX);
	assert_int_equal(h.tree.v[m].total, 500 * CPU_PER_SAMPLE);
	assert_int_equal(h.tree.v[m].nchildren, 4);
	/* children by total: a 300, b 100, then c and rec (50 each) by name */
	const char *want[] = {"a", "b", "c", "rec"};
	for (int i = 0; i < 4; i++) {
		uint32_t kid = h.tree_children.v[h.tree.v[m].first_child + i];
		assert_string_equal(profile_str(f->p, h.tree.v[kid].name), want[i]);
		assert_int_equal(h.tree.v[kid].parent, m);
		assert_int_equal(h.tree.v[kid].depth, 2);
	}

	uint32_t a = hotspots_tree_find_child(&h, m, "a");
	assert_int_equal(h.tree.v[a].total, 300 * CPU_PER_SAMPLE);
	assert_int_equal(h.tree.v[a].self, 0);
	assert_int_equal(h.tree.v[a].samples, 300);
	uint32_t first = h.tree_children.v[h.tree.v[a].first_child];
	assert_string_equal(profile_str(f->p, h.tree.v[first].name), "leaf2");
	/* two lines of leaf1 merge into one tree node */
	uint32_t l1 = hotspots_tree_find_child(&h, a, "leaf1");
	assert_int_equal(h.tree.v[l1].self, 100 * CPU_PER_SAMPLE);
	assert_int_equal(h.tree.v[l1].nchildren, 0);

	/* recursion stays a chain in the tree: main > rec > rec > rec > leaf */
	uint32_t r = hotspots_tree_find_child(&h, m, "rec");
	r = hotspots_tree_find_child(&h, r, "rec");
	r = hotspots_tree_find_child(&h, r, "rec");
	assert_int_not_equal(r, UINT32_MAX);
	assert_int_equal(h.tree.v[r].total, 50 * CPU_PER_SAMPLE);
	uint32_t lf = hotspots_tree_find_child(&h, r, "leaf");
	assert_int_not_equal(lf, UINT32_MAX);
	assert_int_equal(h.tree.v[lf].self, 50 * CPU_PER_SAMPLE);
	assert_int_equal(h.tree.v[lf].depth, 5);

	/* inlined frames are tree nodes too: main > c > inl */
	uint32_t c = hotspots_tree_find_child(&h, m, "c");
	uint32_t inl = hotspots_tree_find_child(&h, c, "inl");
	assert_int_not_equal(inl, UINT32_MAX);
	assert_int_equal(h.tree.v[inl].self, 50 * CPU_PER_SAMPLE);
	assert_int_equal(h.tree.v[c].self, 0);
	assert_int_equal(hotspots_tree_find_child(&h, m, "leaf"), UINT32_MAX);

	/* every node's total is its self plus its children's totals */
	for (size_t i = 0; i < h.tree.n; i++) {
		int64_t sum = h.tree.v[i].self;
		for (uint32_t k = 0; k < h.tree.v[i].nchildren; k++)
			sum += h.tree.v[h.tree_children.v[h.tree.v[i].first_child + k]].total;
		assert_int_equal(sum, h.tree.v[i].total);
	}
	hotspots_release(&h);
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	assert_int_equal(h.threads.n, 3);
	assert_int_equal(h.threads.v[0].tid, 2);
	assert_int_equal(h.threads.v[0].samples, 250);
	assert_int_equal(h.threads.v[0].value, 250 * CPU_PER_SAMPLE);
	assert_string_equal(profile_str(f->p, h.threads.v[0].name), "worker-2");
	assert_int_equal(h.threads.v[1].tid, 1);
	assert_int_equal(h.threads.v[1].samples, 200);
	assert_string_equal(profile_str(f->p, h.threads.v[1].name), "main-thread");
	assert_int_equal(h.threads.v[2].tid, 3);
	assert_int_equal(h.threads.v[2].samples, 50);
	assert_int_equal(h.threads.v[2].name, 0); /* never named */
	assert_int_equal(h.threads.v[2].pid, 1);
	hotspots_release(&h);
}

static void test_stacks(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	/* leaf2's two addresses have the same frames: one stack; leaf1's two
	 * lines are two */
	struct hotspot_stack_list stacks = hotspots_stacks(&h);
	assert_int_equal(stacks.n, 6);
	uint64_t samples = 0;
	for (size_t i = 0; i < stacks.n; i++) {
		samples += stacks.v[i].samples;
		if (i)
			assert_true(stacks.v[i - 1].value >= stacks.v[i].value);
	}
	assert_int_equal(samples, 500);
	/* listed once: a second call gives the same list */
	assert_ptr_equal(hotspots_stacks(&h).v, stacks.v);

	const struct hotspot_stack *s = &stacks.v[0];
	assert_int_equal(s->samples, 200);
	assert_int_equal(s->value, 200 * CPU_PER_SAMPLE);
	assert_int_equal(s->nframes, 3);
	const struct profile_frame *fr[8];
	hotspots_stack_frames(&h, s, fr);
	assert_string_equal(profile_str(f->p, fr[0]->function), "main");
	assert_string_equal(profile_str(f->p, fr[1]->function), "a");
	assert_string_equal(profile_str(f->p, fr[2]->function), "leaf2");
	assert_int_equal(fr[2]->line, 20);
	assert_int_equal(s->ntids, 1);
	assert_int_equal(stacks.tids[s->first_tid], 2);

	/* the recursive stack keeps every level, root first */
	const struct hotspot_stack *rs = NULL, *cs = NULL;
	for (size_t i = 0; i < stacks.n; i++) {
		assert_true(stacks.v[i].nframes <= 8);
		hotspots_stack_frames(&h, &stacks.v[i], fr);
		if (stacks.v[i].nframes == 5)
			rs = &stacks.v[i];
		if (stacks.v[i].nframes == 3 && !strcmp(profile_str(f->p, fr[1]->function), "c"))
			cs = &stacks.v[i];
	}
	assert_non_null(rs);
	hotspots_stack_frames(&h, rs, fr);
	const char *want[] = {"main", "rec", "rec", "rec", "leaf"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(profile_str(f->p, fr[i]->function), want[i]);
	assert_int_equal(fr[2]->line, 8);

	/* an inlined location expands outer function first, then the inlined one */
	assert_non_null(cs);
	hotspots_stack_frames(&h, cs, fr);
	assert_false(fr[1]->inlined);
	assert_string_equal(profile_str(f->p, fr[2]->function), "inl");
	assert_true(fr[2]->inlined);
	hotspots_release(&h);
}

/* Two threads on one stack, an empty stack, an unsymbolized location, and
 * one name in two modules. */
static void test_edges(void **state)
{
	(void)state;
	struct fixture f = {.p = profile_new(), .next_addr = 0x10};
	profile_add_value_type(f.p, "samples", "count");
	uint32_t m1 = loc(&f, "one.so", 1, "dup", "", 0u);
	uint32_t m2 = loc(&f, "two.so", 1, "dup", "", 0u);
	uint32_t raw = profile_location(f.p, PROFILE_NO_MAPPING, 0xdead, PROFILE_LOC_USER);
	samples(&f, 7, 3, 1, m1);
	samples(&f, 8, 4, 1, m1);
	samples(&f, 8, 5, 1, m2);
	samples(&f, 9, 2, 2, m1, raw);
	struct profile_sample empty = {.stack = 0, .tid = 9, .values = {1}};
	profile_add_sample(f.p, &empty);

	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f.p, 0), 0);
	assert_int_equal(h.total, 15);
	const struct hotspot_func *d1 = hotspots_find_function(&h, "dup", "one.so");
	const struct hotspot_func *d2 = hotspots_find_function(&h, "dup", "two.so");
	assert_non_null(d1);
	assert_non_null(d2);
	assert_int_equal(d1->self, 7);
	assert_int_equal(d1->total, 9);
	assert_int_equal(d2->self, 5);
	/* the location without frames is one unnamed frame */
	const struct hotspot_func *unk = hotspots_find_function(&h, "", NULL);
	assert_non_null(unk);
	assert_int_equal(unk->self, 2);
	/* the empty stack is the root's self and a stack with no frames */
	assert_int_equal(h.tree.v[0].self, 1);
	assert_int_equal(h.tree.v[0].total, 15);
	bool saw_empty = false, saw_two_threads = false;
	struct hotspot_stack_list stacks = hotspots_stacks(&h);
	for (size_t i = 0; i < stacks.n; i++) {
		const struct hotspot_stack *s = &stacks.v[i];
		if (!s->nframes) {
			saw_empty = true;
			assert_int_equal(s->samples, 1);
		}
		if (s->ntids == 2) {
			saw_two_threads = true;
			assert_int_equal(s->samples, 7);
			assert_int_equal(stacks.tids[s->first_tid], 7);
			assert_int_equal(stacks.tids[s->first_tid + 1], 8);
		}
	}
	assert_true(saw_empty);
	assert_true(saw_two_threads);
	assert_int_equal(stacks.n, 4);
	hotspots_release(&h);

	/* no samples at all */
	struct profile *none = profile_new();
	assert_int_equal(hotspots_build(&h, none, HOTSPOTS_VALUE_SAMPLES), 0);
	assert_int_equal(h.samples, 0);
	assert_int_equal(h.funcs.n, 0);
	assert_int_equal(hotspots_stacks(&h).n, 0);
	assert_true(hotspots_pct(&h, 5) == 0.0);
	hotspots_release(&h);
	hotspots_release(NULL);
	profile_free(none);
	profile_free(f.p);
}

/* Results that hang on an order follow the order samples first reach a
 * stack: ties between stacks and between tree siblings, and the frame
 * that places a function without self value. */
static void test_first_reached(void **state)
{
	(void)state;
	struct fixture f = {.p = profile_new(), .next_addr = 0x100};
	profile_add_value_type(f.p, "samples", "count");
	uint32_t main_ = loc(&f, "prog", 1, "main", "main.c", 1u);
	uint32_t g0 = loc(&f, "prog", 1, "g", "g.c", 0u);
	uint32_t g9 = loc(&f, "prog", 1, "g", "g.c", 9u);
	uint32_t nofile = loc(&f, "prog", 1, "h", "", 7u);
	uint32_t two = loc(&f, "two.so", 1, "dup", "d.c", 2u);
	uint32_t one = loc(&f, "one.so", 1, "dup", "d.c", 1u);
	uint32_t b = loc(&f, "prog", 1, "b", "b.c", 3u);
	samples(&f, 1, 1, 3, main_, g0, b);  /* g first reached without a line */
	samples(&f, 1, 1, 3, main_, g9, b);  /* then with one */
	samples(&f, 1, 1, 2, main_, nofile); /* h: no file at all */
	samples(&f, 1, 1, 2, main_, two);    /* dup in two.so before one.so */
	samples(&f, 1, 1, 2, main_, one);
	samples(&f, 1, 1, 1, main_); /* main reached long before */

	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f.p, 0), 0);
	/* no self value: the first frame with a file and a line */
	assert_string_equal(profile_str(f.p, func(&h, "g")->file), "g.c");
	assert_int_equal(func(&h, "g")->line, 9);
	assert_int_equal(func(&h, "h")->file, 0);
	assert_int_equal(func(&h, "h")->line, 7);

	/* tree siblings alike in total and name: the first reached first */
	uint32_t m = hotspots_tree_find_child(&h, 0, "main");
	uint32_t dups[2], ndups = 0;
	for (uint32_t i = 0; i < h.tree.v[m].nchildren; i++) {
		uint32_t kid = h.tree_children.v[h.tree.v[m].first_child + i];
		if (!strcmp(profile_str(f.p, h.tree.v[kid].name), "dup"))
			dups[ndups++] = kid;
	}
	assert_int_equal(ndups, 2);
	assert_string_equal(profile_str(f.p, h.tree.v[dups[0]].module), "two.so");
	assert_string_equal(profile_str(f.p, h.tree.v[dups[1]].module), "one.so");

	/* stacks alike in value and samples: main (reached by the first
	 * sample, though sampled by the last), then in sample order */
	struct hotspot_stack_list stacks = hotspots_stacks(&h);
	assert_int_equal(stacks.n, 6);
	const char *leaf[] = {"main", "b", "b", "h", "dup", "dup"};
	const struct profile_frame *fr[8];
	for (size_t i = 0; i < stacks.n; i++) {
		hotspots_stack_frames(&h, &stacks.v[i], fr);
		assert_string_equal(profile_str(f.p, fr[stacks.v[i].nframes - 1]->function), leaf[i]);
	}
	hotspots_stack_frames(&h, &stacks.v[1], fr);
	assert_int_equal(fr[1]->line, 0); /* the g0 path came first */
	hotspots_stack_frames(&h, &stacks.v[4], fr);
	assert_string_equal(profile_str(f.p, fr[1]->module), "two.so");
	hotspots_release(&h);
	profile_free(f.p);
}

/* A node with many children (past the short list, into the hash map), a
 * trie link that does not point back (a damaged profile), and a stack
 * deeper than the short buffers. */
static void test_wide_and_damaged(void **state)
{
	(void)state;
	struct fixture f = {.p = profile_new(), .next_addr = 0x100};
	profile_add_value_type(f.p, "samples", "count");
	uint32_t main_ = loc(&f, "prog", 1, "main", "main.c", 1u);
	char name[16];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "callee%02d", i);
		/* two addresses on one line: one frame, one stack, one tree node */
		uint32_t x = loc(&f, "prog", 1, name, "c.c", 10u);
		uint32_t y = loc(&f, "prog", 1, name, "c.c", 10u);
		samples(&f, 1, 1 + i % 3, 2, main_, x);
		samples(&f, 2, 1, 2, main_, y);
	}
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f.p, 0), 0);
	uint32_t m = hotspots_tree_find_child(&h, 0, "main");
	assert_int_equal(h.tree.v[m].nchildren, 40);
	assert_int_equal(hotspots_stacks(&h).n, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "callee%02d", i);
		uint32_t c = hotspots_tree_find_child(&h, m, name);
		assert_int_not_equal(c, UINT32_MAX);
		assert_int_equal(h.tree.v[c].self, 2 + i % 3);
		assert_int_equal(func(&h, name)->total, 2 + i % 3);
	}
	struct hotspot_stack_list stacks = hotspots_stacks(&h);
	for (size_t i = 0; i < stacks.n; i++) {
		assert_int_equal(stacks.v[i].ntids, 2);
		assert_int_equal(stacks.tids[stacks.v[i].first_tid], 1);
		assert_int_equal(stacks.tids[stacks.v[i].first_tid + 1], 2);
	}
	hotspots_release(&h);

	/* a stack deeper than any fixed buffer */
	uint32_t deep[600];
	for (int i = 0; i < 600; i++)
		deep[i] = main_;
	struct profile_sample s = {.stack = profile_stack_from_leaf(f.p, deep, 600), .tid = 3, .values = {1}};
	profile_add_sample(f.p, &s);
	/* a node whose parent link does not point back hangs off the root */
	struct profile_stack_node bad = {(uint32_t)f.p->stacks.n + 5, main_, 1};
	vec_push(&f.p->stacks, bad);
	s.stack = (uint32_t)f.p->stacks.n - 1;
	profile_add_sample(f.p, &s);
	assert_int_equal(hotspots_build(&h, f.p, 0), 0);
	int64_t want = 2; /* the two samples below */
	for (int i = 0; i < 40; i++)
		want += 2 + i % 3;
	assert_int_equal(h.total, want);
	assert_int_equal(func(&h, "main")->total, h.total);
	assert_int_equal(func(&h, "main")->self, 2);
	m = hotspots_tree_find_child(&h, 0, "main");
	assert_int_equal(h.tree.v[m].self, 1); /* the damaged one */
	stacks = hotspots_stacks(&h);
	bool saw_deep = false;
	for (size_t i = 0; i < stacks.n; i++) {
		if (stacks.v[i].nframes != 600)
			continue;
		saw_deep = true;
		const struct profile_frame **fr = malloc(600 * sizeof(*fr));
		hotspots_stack_frames(&h, &stacks.v[i], fr);
		for (int k = 0; k < 600; k++)
			assert_string_equal(profile_str(f.p, fr[k]->function), "main");
		free(fr);
	}
	assert_true(saw_deep);
	hotspots_release(&h);
	profile_free(f.p);
}

/* Values whose sum does not fit in 64 bits are refused, not wrapped into
 * a changed total (issue 22 item 8); the same values one less fit. */
static void test_overflow(void **state)
{
	(void)state;
	struct fixture f = {.p = profile_new(), .next_addr = 0x10};
	profile_add_value_type(f.p, "bytes", "bytes");
	uint32_t a = loc(&f, "prog", 1, "a", "a.c", 1u);
	uint32_t b = loc(&f, "prog", 1, "b", "b.c", 2u);
	uint32_t stack_a = profile_stack_from_leaf(f.p, &a, 1);
	uint32_t stack_b = profile_stack_from_leaf(f.p, &b, 1);
	struct profile_sample s = {.stack = stack_a, .tid = 1, .pid = 1, .values = {INT64_MAX / 2}};
	profile_add_sample(f.p, &s);
	s.stack = stack_b;
	s.values[0] = INT64_MAX / 2 + 1; /* together exactly INT64_MAX */
	profile_add_sample(f.p, &s);
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f.p, 0), 0);
	assert_true(h.total == INT64_MAX);
	hotspots_release(&h);
	s.values[0] = 1; /* one more than fits */
	profile_add_sample(f.p, &s);
	assert_int_equal(hotspots_build(&h, f.p, 0), -EOVERFLOW);
	hotspots_release(&h);
	profile_free(f.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_value_index),   cmocka_unit_test(test_self_total),
	    cmocka_unit_test(test_sample_counts), cmocka_unit_test(test_locations),
	    cmocka_unit_test(test_tree),          cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_stacks),        cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_first_reached), cmocka_unit_test(test_wide_and_damaged),
	    cmocka_unit_test(test_overflow),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
