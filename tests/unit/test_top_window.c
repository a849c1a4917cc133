/* test_top_window.c - kiln top's rolling window (samples older than the
 * cut dropped, order kept), the call tree of one function merged over its
 * paths (callers, recursion, unknown functions) and the thread list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/hotspots.h"
#include "analysis/top_window.h"
#include "profile/profile.h"

static uint64_t next_addr = 0x1000;

static uint32_t fn(struct profile *p, const char *name)
{
	struct profile_frame f = {.function = profile_intern(p, name), .module = profile_intern(p, "m")};
	uint32_t l = profile_location(p, PROFILE_NO_MAPPING, next_addr++, PROFILE_LOC_USER);
	profile_set_location_frames(p, l, &f, 1);
	return l;
}

/* count samples at time on tid, the stack given root first */
static void add(struct profile *p, uint32_t tid, uint64_t time, int count, int n, ...)
{
	uint32_t locs[16];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		locs[n - 1 - i] = va_arg(ap, uint32_t);
	va_end(ap);
	uint32_t leaf = profile_stack_from_leaf(p, locs, (uint32_t)n);
	for (int i = 0; i < count; i++) {
		struct profile_sample s = {.stack = leaf, .tid = tid, .pid = 1, .time = time};
		s.values[0] = 1;
		profile_add_sample(p, &s);
	}
}

static void test_trim_keeps_order(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	uint32_t a = fn(p, "a");
	const uint64_t times[] = {10, 5, 20, 15, 12, 3};
	for (size_t i = 0; i < 6; i++)
		add(p, (uint32_t)i, times[i], 1, 1, a);
	assert_int_equal(top_window_trim(p, 12), 3);
	assert_int_equal(p->samples.n, 3);
	/* the ones at or after the cut, in the order they came */
	assert_int_equal(p->samples.v[0].time, 20);
	assert_int_equal(p->samples.v[1].time, 15);
	assert_int_equal(p->samples.v[2].time, 12);
	assert_int_equal(p->samples.v[1].tid, 3);
	assert_int_equal(top_window_trim(p, 100), 3);
	assert_int_equal(p->samples.n, 0);
	profile_free(p);
}

static const struct top_call_line *line_named(const struct profile *p, const struct top_calltree *t, const char *name,
                                              uint32_t depth)
{
	for (size_t i = 0; i < t->lines.n; i++)
		if (!strcmp(profile_str(p, t->lines.v[i].name), name) && t->lines.v[i].depth == depth)
			return &t->lines.v[i];
	return NULL;
}

/*
 * main->a->f->g  x30
 * main->b->f     x10
 * main->f->f->h  x5   (f recurses: counted once, under its outermost f)
 * main->x        x7   (no f)
 */
static void test_calltree(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	uint32_t main_ = fn(p, "main"), a = fn(p, "a"), b = fn(p, "b"), f = fn(p, "f"), f2 = fn(p, "f"), g = fn(p, "g"),
	         h = fn(p, "h"), x = fn(p, "x");
	add(p, 1, 1, 30, 4, main_, a, f, g);
	add(p, 1, 1, 10, 3, main_, b, f);
	add(p, 2, 1, 5, 4, main_, f, f2, h);
	add(p, 2, 1, 7, 2, main_, x);
	struct hotspots hs;
	assert_int_equal(hotspots_build(&hs, p, HOTSPOTS_VALUE_SAMPLES), 0);
	const struct hotspot_func *hf = hotspots_find_function(&hs, "f", NULL);
	assert_non_null(hf);
	struct top_calltree t;
	top_calltree_build(&t, &hs, hf->name, hf->module);
	assert_int_equal(t.total, 45);
	/* the function first, then its callees by total: g (30), f (5) */
	assert_true(t.lines.n == 4);
	assert_string_equal(profile_str(p, t.lines.v[0].name), "f");
	assert_int_equal(t.lines.v[0].depth, 0);
	assert_int_equal(t.lines.v[0].total, 45);
	assert_int_equal(t.lines.v[0].self, 10);
	assert_string_equal(profile_str(p, t.lines.v[1].name), "g");
	assert_int_equal(t.lines.v[1].total, 30);
	const struct top_call_line *rec = line_named(p, &t, "f", 1);
	assert_non_null(rec);
	assert_int_equal(rec->total, 5);
	const struct top_call_line *hl = line_named(p, &t, "h", 2);
	assert_non_null(hl);
	assert_int_equal(hl->self, 5);
	/* its callers, largest first: a 30, b 10, main 5 */
	assert_int_equal(t.callers.n, 3);
	assert_string_equal(profile_str(p, t.callers.v[0].name), "a");
	assert_int_equal(t.callers.v[0].total, 30);
	assert_string_equal(profile_str(p, t.callers.v[1].name), "b");
	assert_string_equal(profile_str(p, t.callers.v[2].name), "main");
	assert_int_equal(t.callers.v[2].total, 5);
	top_calltree_release(&t);

	/* a function the window does not have */
	top_calltree_build(&t, &hs, profile_intern(p, "nowhere"), hf->module);
	assert_int_equal(t.lines.n, 0);
	assert_int_equal(t.callers.n, 0);
	assert_int_equal(t.total, 0);
	top_calltree_release(&t);

	/* a root: called from nothing */
	const struct hotspot_func *hm = hotspots_find_function(&hs, "main", NULL);
	top_calltree_build(&t, &hs, hm->name, hm->module);
	assert_int_equal(t.total, 52);
	assert_int_equal(t.callers.n, 1);
	assert_int_equal(t.callers.v[0].name, 0);
	top_calltree_release(&t);
	hotspots_release(&hs);
	profile_free(p);
}

static void test_threads(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	uint32_t a = fn(p, "a");
	profile_thread(p, 7, 1)->name = profile_intern(p, "idle");
	profile_thread(p, 9, 1)->name = profile_intern(p, "busy");
	profile_thread(p, 8, 1)->name = profile_intern(p, "quiet");
	add(p, 9, 1, 4, 1, a);
	add(p, 11, 1, 2, 1, a); /* a thread the table never named */
	struct hotspots hs;
	assert_int_equal(hotspots_build(&hs, p, HOTSPOTS_VALUE_SAMPLES), 0);
	top_thread_vec t = {0};
	top_threads_build(&t, &hs, p);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.v[0].tid, 9);
	assert_int_equal(t.v[0].samples, 4);
	assert_string_equal(profile_str(p, t.v[0].name), "busy");
	assert_int_equal(t.v[1].tid, 11);
	assert_int_equal(t.v[1].samples, 2);
	/* no samples: by tid */
	assert_int_equal(t.v[2].tid, 7);
	assert_int_equal(t.v[3].tid, 8);
	assert_int_equal(t.v[3].samples, 0);
	/* rebuilt, not appended */
	top_threads_build(&t, &hs, p);
	assert_int_equal(t.n, 4);
	vec_free(&t);
	hotspots_release(&hs);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trim_keeps_order),
	    cmocka_unit_test(test_calltree),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
