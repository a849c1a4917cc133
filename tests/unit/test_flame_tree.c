/* test_flame_tree.c - merging stacks into the flame tree: totals, reverse,
 * focus/exclude, threads, flame charts in time order, differential base
 * values, and origin guessing for the lang palette. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/flame_tree.h"
#include "profile/folded_read.h"
#include "render/flame.h"

static struct profile *from_folded(const char *text)
{
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
	return p;
}

static char *folded_of(const struct flame_tree *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(flame_render_folded(f, t), 0);
	fclose(f);
	return buf;
}

static char *build(const char *text, const struct flame_options *o)
{
	struct profile *p = from_folded(text);
	struct flame_tree t;
	flame_tree_init(&t);
	assert_int_equal(flame_tree_build(&t, p, o), 0);
	char *out = folded_of(&t);
	flame_tree_release(&t);
	profile_free(p);
	return out;
}

static const char *const stacks = "main;run;leaf_a 10\n"
                                  "main;run;leaf_b 20\n"
                                  "main;init;leaf_a 5\n"
                                  "main;init 1\n";

/* Finds the node with this path of names, or FLAME_NONE. */
static uint32_t find(const struct flame_tree *t, const char *path)
{
	uint32_t at = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf, *e; s; s = e) {
		e = strchr(s, ';');
		if (e)
			*e++ = '\0';
		uint32_t c = t->nodes.v[at].first_child;
		while (c != FLAME_NONE && strcmp(strtab_get(&t->strings, t->nodes.v[c].name), s))
			c = t->nodes.v[c].next_sibling;
		if (c == FLAME_NONE)
			return FLAME_NONE;
		at = c;
	}
	return at;
}

static void test_totals(void **state)
{
	(void)state;
	struct profile *p = from_folded(stacks);
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	assert_int_equal(t.nodes.v[0].value, 36);
	uint32_t run = find(&t, "main;run"), init = find(&t, "main;init");
	assert_int_not_equal(run, FLAME_NONE);
	assert_int_equal(t.nodes.v[run].value, 30);
	assert_int_equal(t.nodes.v[run].self, 0);
	assert_int_equal(t.nodes.v[init].value, 6);
	assert_int_equal(t.nodes.v[init].self, 1);
	assert_int_equal(t.nodes.v[find(&t, "main;run;leaf_b")].value, 20);
	/* children sorted by name */
	uint32_t first = t.nodes.v[find(&t, "main")].first_child;
	assert_string_equal(strtab_get(&t.strings, t.nodes.v[first].name), "init");
	o.value = 3;
	struct flame_tree t2;
	flame_tree_init(&t2);
	assert_int_equal(flame_tree_build(&t2, p, &o), -EINVAL);
	flame_tree_release(&t2);
	flame_tree_release(&t);
	profile_free(p);
}

static void test_reverse(void **state)
{
	(void)state;
	struct flame_options o = {.reverse = true};
	char *out = build(stacks, &o);
	assert_string_equal(out, "init;main 1\n"
	                         "leaf_a;init;main 5\n"
	                         "leaf_a;run;main 10\n"
	                         "leaf_b;run;main 20\n");
	free(out);
}

static void test_focus_exclude(void **state)
{
	(void)state;
	regex_t focus, exclude;
	assert_int_equal(regcomp(&focus, "^leaf_a$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&exclude, "init", REG_EXTENDED | REG_NOSUB), 0);
	struct flame_options o = {.focus = &focus};
	char *out = build(stacks, &o);
	assert_string_equal(out, "main;init;leaf_a 5\nmain;run;leaf_a 10\n");
	free(out);
	o.exclude = &exclude;
	out = build(stacks, &o);
	assert_string_equal(out, "main;run;leaf_a 10\n");
	free(out);
	o.focus = NULL;
	out = build(stacks, &o);
	assert_string_equal(out, "main;run;leaf_a 10\nmain;run;leaf_b 20\n");
	free(out);
	regfree(&focus);
	regfree(&exclude);
}

/* A profile with two threads and timed samples, built directly. */
static struct profile *timed_profile(void)
{
	struct profile *p = from_folded("a;x 1\na;y 1\nb 1\n");
	/* samples: 0 = a;x, 1 = a;y, 2 = b */
	struct profile_sample s[6];
	uint32_t stacks_of[3] = {p->samples.v[0].stack, p->samples.v[1].stack, p->samples.v[2].stack};
	vec_clear(&p->samples);
	/* thread 7: x x y x (in time order, given out of order); thread 9: b */
	uint32_t which[6] = {0, 1, 0, 0, 2, 2};
	uint32_t tid[6] = {7, 7, 7, 7, 9, 9};
	uint64_t time[6] = {40, 30, 10, 20, 10, 20};
	for (int i = 0; i < 6; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].stack = stacks_of[which[i]];
		s[i].tid = tid[i];
		s[i].time = time[i];
		s[i].values[0] = 1;
		profile_add_sample(p, &s[i]);
	}
	profile_thread(p, 7, 7)->name = profile_intern(p, "worker");
	profile_thread(p, 9, 7)->name = profile_intern(p, "main");
	return p;
}

static void test_threads_and_chart(void **state)
{
	(void)state;
	struct profile *p = timed_profile();
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {.threads = true};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	char *out = folded_of(&t);
	assert_string_equal(out, "main tid 9;b 2\nworker tid 7;a;x 3\nworker tid 7;a;y 1\n");
	free(out);
	flame_tree_release(&t);

	/* one thread by name */
	flame_tree_init(&t);
	o.thread = "main";
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	assert_int_equal(t.nodes.v[0].value, 2);
	flame_tree_release(&t);

	/* flame chart: time order, only neighbours merge: x x | y | x */
	flame_tree_init(&t);
	struct flame_options c = {.chart = true};
	assert_int_equal(flame_tree_build(&t, p, &c), 0);
	uint32_t th = t.nodes.v[0].first_child;
	assert_string_equal(strtab_get(&t.strings, t.nodes.v[th].name), "worker tid 7");
	uint32_t a = t.nodes.v[th].first_child;
	assert_int_equal(t.nodes.v[a].value, 4);
	const char *want[] = {"x", "y", "x"};
	int64_t wantv[] = {2, 1, 1};
	int k = 0;
	for (uint32_t n = t.nodes.v[a].first_child; n != FLAME_NONE; n = t.nodes.v[n].next_sibling, k++) {
		assert_true(k < 3);
		assert_string_equal(strtab_get(&t.strings, t.nodes.v[n].name), want[k]);
		assert_int_equal(t.nodes.v[n].value, wantv[k]);
	}
	assert_int_equal(k, 3);
	flame_tree_release(&t);
	profile_free(p);
}

static void test_diff(void **state)
{
	(void)state;
	struct profile *bp = from_folded("main;a 50\nmain;b 50\n");
	struct profile *np = from_folded("main;a 20\nmain;b 150\nmain;c 30\n");
	struct flame_tree base, t;
	flame_tree_init(&base);
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&base, bp, &o), 0);
	assert_int_equal(flame_tree_build(&t, np, &o), 0);
	flame_tree_set_base(&t, &base);
	assert_true(t.has_base);
	assert_int_equal(t.base_total, 100);
	assert_int_equal(t.nodes.v[find(&t, "main;a")].base, 50);
	assert_int_equal(t.nodes.v[find(&t, "main;b")].base, 50);
	assert_int_equal(t.nodes.v[find(&t, "main;c")].base, 0);
	assert_int_equal(t.nodes.v[find(&t, "main")].base, 100);
	flame_tree_release(&base);
	flame_tree_release(&t);
	profile_free(bp);
	profile_free(np);
}

static void test_origin(void **state)
{
	(void)state;
	assert_int_equal(flame_origin_guess("calltree::leaf_a", "calltree", "/src/calltree.rs", false),
	                 FLAME_ORIGIN_RUST);
	assert_int_equal(
	    flame_origin_guess("std::rt::lang_start", "calltree", "/rustc/abc/library/std/src/rt.rs", false),
	    FLAME_ORIGIN_RUST_STD);
	assert_int_equal(flame_origin_guess("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop", NULL, NULL, false),
	                 FLAME_ORIGIN_RUST_STD);
	assert_int_equal(flame_origin_guess("memcpy", "libc.so.6", NULL, false), FLAME_ORIGIN_C);
	assert_int_equal(flame_origin_guess("leaf_a", "c_calltree", "c_calltree.c", false), FLAME_ORIGIN_C);
	assert_int_equal(flame_origin_guess("do_syscall_64", "[kernel.kallsyms]", NULL, true), FLAME_ORIGIN_KERNEL);
	assert_int_equal(flame_origin_guess("sys_read_[k]", NULL, NULL, false), FLAME_ORIGIN_KERNEL);
	assert_int_equal(flame_origin_guess("libfoo.so+0x1234", NULL, NULL, false), FLAME_ORIGIN_UNKNOWN);
	assert_int_equal(flame_origin_guess("", NULL, NULL, false), FLAME_ORIGIN_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_totals),        cmocka_unit_test(test_reverse),
	    cmocka_unit_test(test_focus_exclude), cmocka_unit_test(test_threads_and_chart),
	    cmocka_unit_test(test_diff),          cmocka_unit_test(test_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
