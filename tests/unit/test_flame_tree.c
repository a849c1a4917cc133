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
#include "profile/perf_script.h"
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
	assert_int_equal(flame_tree_base(&t, find(&t, "main;a")), 50);
	assert_int_equal(flame_tree_base(&t, find(&t, "main;b")), 50);
	assert_int_equal(flame_tree_base(&t, find(&t, "main;c")), 0);
	assert_int_equal(flame_tree_base(&t, find(&t, "main")), 100);
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
	/* what the profile knows: file extensions and places, modules */
	assert_int_equal(flame_origin_guess("serde::de::Deserialize::deserialize", "app",
	                                    "/home/u/.cargo/registry/src/index.crates.io-6f17/serde-1.0/src/de.rs",
	                                    false),
	                 FLAME_ORIGIN_RUST_DEP);
	assert_int_equal(flame_origin_guess("myapp::Server::run", "app", "src/server.cpp", false), FLAME_ORIGIN_CPP);
	assert_int_equal(flame_origin_guess("Vec::push", "app", "vec.hpp", false), FLAME_ORIGIN_CPP);
	assert_int_equal(flame_origin_guess("main.main", "app", "/src/main.go", false), FLAME_ORIGIN_GO);
	assert_int_equal(flame_origin_guess("operator new(unsigned long)", "libstdc++.so.6", NULL, false),
	                 FLAME_ORIGIN_CPP);
	/* names alone (folded input), as flamegraph.pl's palettes and the demanglers' marks tell */
	assert_int_equal(flame_origin_guess("std::vector<int, std::allocator<int> >::push_back", NULL, NULL, false),
	                 FLAME_ORIGIN_CPP);
	assert_int_equal(flame_origin_guess("boost::asio::io_context::run()", NULL, NULL, false), FLAME_ORIGIN_CPP);
	assert_int_equal(flame_origin_guess("std::rt::lang_start_internal", NULL, NULL, false), FLAME_ORIGIN_RUST_STD);
	assert_int_equal(flame_origin_guess("calltree::run::{{closure}}", NULL, NULL, false), FLAME_ORIGIN_RUST);
	assert_int_equal(flame_origin_guess("java/lang/Thread.run", NULL, NULL, false), FLAME_ORIGIN_JAVA);
	assert_int_equal(flame_origin_guess("Lcom/example/App;.main", NULL, NULL, false), FLAME_ORIGIN_JAVA);
	assert_int_equal(flame_origin_guess("java.util.HashMap.get", NULL, NULL, false), FLAME_ORIGIN_JAVA);
	assert_int_equal(flame_origin_guess("Interpreter", NULL, NULL, false), FLAME_ORIGIN_JAVA);
	assert_int_equal(flame_origin_guess("runtime.mallocgc", NULL, NULL, false), FLAME_ORIGIN_GO);
	assert_int_equal(flame_origin_guess("net/http.(*conn).serve", NULL, NULL, false), FLAME_ORIGIN_GO);
	assert_int_equal(flame_origin_guess("compute (app.py:10)", NULL, NULL, false), FLAME_ORIGIN_PYTHON);
	assert_int_equal(flame_origin_guess("myapp::Server::run", NULL, NULL, false), FLAME_ORIGIN_SCOPED);
}

/* Origin of the first node named name. */
static int origin_in(struct flame_tree *t, const char *name)
{
	for (size_t i = 1; i < t->nodes.n; i++)
		if (!strcmp(strtab_get(&t->strings, t->nodes.v[i].name), name))
			return flame_tree_origin(t, (uint32_t)i);
	fail_msg("no frame %s", name);
	return -1;
}

static void folded_tree(struct flame_tree *t, const char *text)
{
	flame_tree_init(t);
	struct flame_folded b;
	flame_folded_init(&b, t);
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n'), *sp = memrchr(line, ' ', (size_t)(nl - line));
		flame_folded_add(&b, line, (size_t)(sp - line), atoll(sp + 1));
		line = nl + 1;
	}
	flame_folded_finish(&b);
}

static void test_origin_resolved(void **state)
{
	(void)state;
	struct flame_tree t;
	/* C++: the scoped names of a C++ program are C++ */
	folded_tree(&t, "main;myapp::Server::run;boost::asio::io_context::run;std::vector<int, std::allocator<int> "
	                ">::push_back 5\nmain;myapp::Server::run;operator new(unsigned long) 2\n");
	assert_int_equal(origin_in(&t, "myapp::Server::run"), FLAME_ORIGIN_CPP);
	assert_int_equal(origin_in(&t, "boost::asio::io_context::run"), FLAME_ORIGIN_CPP);
	assert_int_equal(origin_in(&t, "main"), FLAME_ORIGIN_C);
	flame_tree_release(&t);
	/* Rust: the crate whose main() ran is yours, other crates are not */
	folded_tree(&t, "std::rt::lang_start;calltree::main;calltree::run;serde_json::de::from_str 3\n"
	                "std::rt::lang_start;calltree::main;calltree::run::{{closure}} 4\n");
	assert_int_equal(origin_in(&t, "calltree::main"), FLAME_ORIGIN_RUST);
	assert_int_equal(origin_in(&t, "calltree::run"), FLAME_ORIGIN_RUST);
	assert_int_equal(origin_in(&t, "calltree::run::{{closure}}"), FLAME_ORIGIN_RUST);
	assert_int_equal(origin_in(&t, "serde_json::de::from_str"), FLAME_ORIGIN_RUST_DEP);
	assert_int_equal(origin_in(&t, "std::rt::lang_start"), FLAME_ORIGIN_RUST_STD);
	flame_tree_release(&t);
	/* nothing tells the language: unknown, not a guess */
	folded_tree(&t, "main;myapp::Server::run 1\n");
	assert_int_equal(origin_in(&t, "myapp::Server::run"), FLAME_ORIGIN_UNKNOWN);
	flame_tree_release(&t);
}

/* A flame chart of timed samples: a thread sampled every ms for 10 ms,
 * not for 40 ms, then again for 10 ms draws its frame twice, with the
 * times between; the other thread's frame spans its 20 ms. */
static void test_chart_spans(void **state)
{
	(void)state;
	struct perf_script_reader *r = perf_script_reader_new(true);
	char line[128];
	for (int k = 0; k < 20; k++) {
		int ms = k < 10 ? 1 + k : 51 + (k - 10);
		snprintf(line, sizeof(line), "a 1/1 [0] 1.%03d: 1 c:", ms);
		perf_script_reader_line(r, line, strlen(line));
		perf_script_reader_line(r, "\t 1 work (m)", 12);
		perf_script_reader_line(r, "", 0);
		snprintf(line, sizeof(line), "b 1/2 [0] 1.%03d: 1 c:", 1 + k);
		perf_script_reader_line(r, line, strlen(line));
		perf_script_reader_line(r, "\t 2 busy (m)", 12);
		perf_script_reader_line(r, "", 0);
	}
	struct profile *p = NULL;
	struct perf_script_stats st;
	assert_int_equal(perf_script_reader_finish(r, &p, &st), 0);
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {.chart = true};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	assert_int_equal(t.period, 1000000);
	assert_int_equal(t.spans.n, t.nodes.n);
	int works = 0;
	for (size_t i = 1; i < t.nodes.n; i++) {
		const char *name = strtab_get(&t.strings, t.nodes.v[i].name);
		const struct flame_span *sp = &t.spans.v[i];
		if (!strcmp(name, "work")) {
			/* [0 ms, 10 ms) and [50 ms, 60 ms) after 1 s: the 40 ms between are a gap */
			uint64_t start = works++ ? 1050000000ull : 1000000000ull;
			assert_int_equal(sp->start, start);
			assert_int_equal(sp->end, start + 10000000);
			assert_int_equal(t.nodes.v[i].value, 10);
		} else if (!strcmp(name, "busy")) {
			assert_int_equal(sp->start, 1000000000ull);
			assert_int_equal(sp->end, 1020000000ull);
		}
	}
	assert_int_equal(works, 2);
	assert_int_equal(t.spans.v[0].start, 1000000000ull);
	assert_int_equal(t.spans.v[0].end, 1060000000ull);
	flame_tree_release(&t);
	profile_free(p);
}

/* Asserts that a and b are the same tree: the same names, values, origins
 * and children in the same order (string and node ids may differ). */
static void assert_same_tree(struct flame_tree *a, struct flame_tree *b)
{
	assert_int_equal(a->nodes.n, b->nodes.n);
	assert_string_equal(strtab_get(&a->strings, a->value_type), strtab_get(&b->strings, b->value_type));
	assert_string_equal(strtab_get(&a->strings, a->value_unit), strtab_get(&b->strings, b->value_unit));
	uint32_t *pa = malloc(a->nodes.n * sizeof(*pa)), *pb = malloc(b->nodes.n * sizeof(*pb));
	size_t n = 0;
	pa[n] = 0;
	pb[n++] = 0;
	for (size_t i = 0; i < n; i++) { /* breadth first, in child order */
		const struct flame_node *x = &a->nodes.v[pa[i]], *y = &b->nodes.v[pb[i]];
		assert_string_equal(strtab_get(&a->strings, x->name), strtab_get(&b->strings, y->name));
		struct flame_src sx = flame_tree_src(a, pa[i]), sy = flame_tree_src(b, pb[i]);
		assert_string_equal(strtab_get(&a->strings, sx.module), strtab_get(&b->strings, sy.module));
		assert_string_equal(strtab_get(&a->strings, sx.file), strtab_get(&b->strings, sy.file));
		assert_int_equal(sx.line, sy.line);
		assert_int_equal(x->depth, y->depth);
		assert_int_equal(flame_tree_origin(a, pa[i]), flame_tree_origin(b, pb[i]));
		assert_int_equal(x->value, y->value);
		assert_int_equal(x->self, y->self);
		uint32_t cx = x->first_child, cy = y->first_child;
		for (; cx != FLAME_NONE && cy != FLAME_NONE;
		     cx = a->nodes.v[cx].next_sibling, cy = b->nodes.v[cy].next_sibling) {
			assert_int_equal(a->nodes.v[cx].parent, pa[i]);
			assert_int_equal(b->nodes.v[cy].parent, pb[i]);
			assert_true(n < a->nodes.n);
			pa[n] = cx;
			pb[n++] = cy;
		}
		assert_int_equal(cx, FLAME_NONE);
		assert_int_equal(cy, FLAME_NONE);
	}
	assert_int_equal(n, a->nodes.n); /* every node was reached */
	free(pa);
	free(pb);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	flame_folded_add(ctx, stack, len, count);
}

static char *svg_of(struct flame_tree *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct flame_svg_options so = {.min_width = -1};
	assert_int_equal(flame_render_svg(f, t, &so), 0);
	fclose(f);
	return buf;
}

static char *svg_stats_of(struct flame_tree *t, struct flame_svg_stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct flame_svg_options so = {.min_width = -1, .stats = st};
	assert_int_equal(flame_render_svg(f, t, &so), 0);
	fclose(f);
	return buf;
}

/* Opens every packed node (flame_tree_open()), parents first. */
static void open_all(struct flame_tree *t)
{
	for (size_t i = 0; i < t->nodes.n; i++) /* opening appends the children */
		flame_tree_open(t, (uint32_t)i);
}

/* Builds text straight from the lines with subtrees under fraction of the
 * total packed, and checks that the SVG and its counts are slow's (built
 * through a profile), and so is the tree once every node is opened.
 * Returns how many nodes were packed. */
static uint64_t check_packed(const char *text, size_t len, struct flame_tree *slow, double fraction)
{
	struct flame_tree packed;
	flame_tree_init(&packed);
	struct flame_folded fb;
	flame_folded_init(&fb, &packed);
	flame_folded_narrow(&fb, fraction);
	flame_folded_input_size(&fb, len / 2); /* a wrong guess costs time, never the tree */
	folded_scan_mem(text, len, add_line, &fb, NULL);
	flame_folded_finish(&fb);
	uint64_t npacked = packed.npacked;
	struct flame_svg_stats sa = {0}, sb = {0};
	char *a = svg_stats_of(slow, &sa), *b = svg_stats_of(&packed, &sb);
	assert_string_equal(a, b);
	assert_int_equal(sa.frames, sb.frames);
	assert_int_equal(sa.hidden, sb.hidden);
	assert_int_equal(sa.merged_boxes, sb.merged_boxes);
	free(a);
	free(b);
	/* opens taken back (a box tried and not kept) leave the tree as it was */
	size_t n0 = packed.nodes.n;
	uint64_t p0 = packed.npacked;
	struct flame_node *was = malloc(n0 * sizeof(*was));
	assert_non_null(was);
	memcpy(was, packed.nodes.v, n0 * sizeof(*was));
	struct flame_open_mark mark;
	flame_tree_mark_opens(&packed, &mark);
	open_all(&packed);
	assert_int_equal(packed.npacked, 0);
	flame_tree_close_opens(&packed, &mark);
	assert_int_equal(packed.nodes.n, n0);
	assert_int_equal(packed.npacked, p0);
	assert_memory_equal(packed.nodes.v, was, n0 * sizeof(*was));
	flame_tree_close_opens(&packed, NULL);
	assert_int_equal(packed.opened.n, 0);
	free(was);
	open_all(&packed);
	assert_int_equal(packed.npacked, 0);
	assert_same_tree(slow, &packed);
	flame_tree_release(&packed);
	return npacked;
}

/* Builds text both ways, through a profile and straight from the lines, and
 * checks they agree to the byte in folded and SVG output, packed or not.
 * Returns the most nodes packed. */
static uint64_t check_fast_path(const char *text, size_t len)
{
	uint64_t npacked = 0;
	struct profile *p = NULL;
	struct folded_stats s1, s2;
	int rc = folded_read_mem(text, len, &p, &s1);
	struct flame_tree slow, fast;
	flame_tree_init(&slow);
	flame_tree_init(&fast);
	struct flame_folded fb;
	flame_folded_init(&fb, &fast);
	assert_int_equal(folded_scan_mem(text, len, add_line, &fb, &s2), rc);
	flame_folded_finish(&fb);
	assert_int_equal(s1.lines, s2.lines);
	assert_int_equal(s1.skipped, s2.skipped);
	if (rc)
		goto out;
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&slow, p, &o), 0);
	assert_same_tree(&slow, &fast);
	assert_int_equal(slow.no_index, fast.no_index);
	char *fa = folded_of(&slow), *fb2 = folded_of(&fast);
	assert_string_equal(fa, fb2);
	free(fa);
	free(fb2);
	char *sa = svg_of(&slow), *sb = svg_of(&fast);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	/* kiln flame's fraction (half of 0.1 px of 1180), and far wider ones */
	const double fractions[] = {0.5 * 0.1 / 1180, 0.01, 0.3, 1.0};
	for (size_t i = 0; i < sizeof(fractions) / sizeof(fractions[0]); i++) {
		uint64_t n = check_packed(text, len, &slow, fractions[i]);
		npacked = n > npacked ? n : npacked;
	}
out:
	flame_tree_release(&slow);
	flame_tree_release(&fast);
	profile_free(p);
	return npacked;
}

static void test_folded_fast_path(void **state)
{
	(void)state;
	static const char varied[] = "main;run;leaf_a 10\n"
	                             "main;run;leaf_a 10\n"      /* duplicate line */
	                             "main;run 3\r\n"            /* CRLF */
	                             "main;;run 2\n"             /* empty frame */
	                             ";main 1\n"                 /* empty first frame */
	                             " 5\n"                      /* empty stack, after an empty first frame */
	                             "main; 4\n"                 /* empty last frame */
	                             ";; 1\n"                    /* only empty frames */
	                             "main;a b c;x  y 7\n"       /* names with spaces */
	                             "main;tabbed\t8\n"          /* tab before the count */
	                             "main;run;leaf_a   6  \r\n" /* blanks around the count */
	                             "main;frac 2.5\n"           /* fractions are rounded */
	                             "main;zero 0\n"             /* nothing drawn */
	                             "not a stack line\n"        /* skipped */
	                             "\n"                        /* blank */
	                             "a;f 1\n"                   /* ':' sorts before ';': */
	                             "a;f::x 1\n"                /* a;f is not new here */
	                             "a;f;g 1\n"
	                             "sys;do_syscall_64_[k];page_fault_[k] 3\n"
	                             "main;run;leaf_a 1\n" /* duplicate, not adjacent */
	                             "std::io::write;memcpy 2\n"
	                             "main;\xc3\xa9t\xc3\xa9;<&\"> 1\n"  /* UTF-8 and markup */
	                             "huge 99999999999999999999999999\n" /* clamped... */
	                             "after;huge 5\n"                    /* ...so this one counts for nothing */
	                             "last;no;newline 9";
	check_fast_path(varied, sizeof(varied) - 1);
	check_fast_path("", 0);
	check_fast_path("junk\n", 5);
	check_fast_path(" 3\n", 3);

	/* random unsorted stacks with repeats, and wide nodes: exercises the
	 * children map and its growth */
	const char *names[] = {"main", "run", "leaf_a", "leaf_b", "std::io::write", "memcpy", "", "x;y"};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t seed = 777;
	for (int i = 0; i < 6000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int depth = (int)((seed >> 20) % 7);
		for (int d = 0; d < depth; d++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			fprintf(f, "%s%s", d ? ";" : "", names[(seed >> 33) % 8]);
		}
		if (i % 3 == 0) /* one of 1500 children of "main" or of "main;run" */
			fprintf(f, "%sw%u", depth ? ";" : "main;", (unsigned)((seed >> 40) % 1500));
		fprintf(f, " %u\n", (unsigned)((seed >> 45) % 50));
	}
	fclose(f);
	check_fast_path(text, len);
	free(text);
}

/* flame_folded_add() reuses the nodes of the frames a line shares with the
 * line added before it (whole frames, not bytes); lines of no value in
 * between change nothing, and flame_folded_finish() leaves the tree whole. */
static void test_folded_shared_frames(void **state)
{
	(void)state;
	struct flame_tree t;
	folded_tree(&t, "a;bc 1\n"
	                "a;b 0\n"     /* nothing, and not the line the next one shares with */
	                "a;bc;d -3\n" /* nor this one */
	                "a;b 2\n"     /* shares "a;b" bytes with "a;bc", not the frame bc */
	                "a;b;c 4\n"
	                "a 1\n"
	                "a;bc;d 8\n"
	                "a;b;c 16\n"   /* one frame shared with the line before... */
	                "a;b;c;e 64\n" /* ...whose frames end elsewhere than this one's */
	                " 5\n"         /* the empty stack */
	                "x;y 32\n");   /* the last line */
	char *got = folded_of(&t);
	assert_string_equal(got, " 5\na 1\na;b 2\na;b;c 20\na;b;c;e 64\na;bc 1\na;bc;d 8\nx;y 32\n");
	assert_int_equal(t.nodes.v[0].value, 1 + 2 + 4 + 1 + 8 + 16 + 64 + 5 + 32);
	free(got);
	flame_tree_release(&t);
}

/* The shape of kiln flame's distinct-stacks benchmark, small: deep stacks
 * under a few shared roots, names from a large pool (most new when first
 * met, some met again under other parents), sorted as collapsers write
 * them, then the same lines unsorted. */
static void test_folded_distinct_names(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t seed = 4242;
	for (int i = 0; i < 3000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		fprintf(f, "main;worker_%u", (unsigned)((seed >> 33) % 4));
		int depth = 2 + (int)((seed >> 20) % 25);
		for (int d = 0; d < depth; d++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			fprintf(f, ";crate::m%u::f_%u", (unsigned)((seed >> 50) % 7), (unsigned)((seed >> 33) % 5000));
		}
		fprintf(f, " %u\n", 1 + (unsigned)((seed >> 45) % 50));
	}
	fclose(f);
	assert_true(check_fast_path(text, len) > 0); /* unsorted */
	/* sorted: lines share long prefixes with the one before */
	VEC(char *) lines = {0};
	for (char *at = text, *nl; (nl = strchr(at, '\n')); at = nl + 1) {
		*nl = '\0';
		vec_push(&lines, at);
	}
	qsort(lines.v, lines.n, sizeof(*lines.v), str_cmp);
	char *sorted = NULL;
	size_t slen = 0;
	f = open_memstream(&sorted, &slen);
	for (size_t i = 0; i < lines.n; i++)
		fprintf(f, "%s\n", lines.v[i]);
	fclose(f);
	assert_true(check_fast_path(sorted, slen) > 1000); /* else nothing was tested */
	vec_free(&lines);
	free(sorted);
	free(text);
}

/* Told a large input, the builder reserves the packs' bytes and room for
 * nodes once (on huge pages, flame_folded_input_size()): both are written
 * in place and never moved by growth, and the tree drawn is the one a
 * small guess builds (the guess of the total changes what is packed,
 * never the drawing). */
static void test_folded_packs_reserved(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < 40; i++) /* sorted as written: w_00..w_39, f_000.. */
		for (int j = 0; j < 60; j++)
			fprintf(f, "main;w_%02d;f_%03d;g_%02d_%03d;h_%d %d\n", i, j, i, j, j % 7, 1 + (i * j) % 5);
	fclose(f);
	struct flame_tree small, big;
	flame_tree_init(&small);
	flame_tree_init(&big);
	struct flame_folded fs, fbig;
	flame_folded_init(&fs, &small);
	flame_folded_narrow(&fs, 0.01);
	flame_folded_input_size(&fs, len);
	folded_scan_mem(text, len, add_line, &fs, NULL);
	flame_folded_finish(&fs);
	flame_folded_init(&fbig, &big);
	flame_folded_narrow(&fbig, 0.01);
	flame_folded_input_size(&fbig, (uint64_t)64 << 20);
	const uint8_t *at = big.packed.v;
	size_t cap = big.packed.cap;
	const struct flame_node *nodes = big.nodes.v;
	assert_true(big.nodes.cap * sizeof(*nodes) >= (size_t)2 << 20);
	assert_non_null(at);
	assert_true(cap >= (size_t)2 << 20);
	folded_scan_mem(text, len, add_line, &fbig, NULL);
	flame_folded_finish(&fbig);
	assert_true(big.packed.n > 0); /* else nothing was packed */
	assert_ptr_equal(big.packed.v, at);
	assert_int_equal(big.packed.cap, cap);
	assert_ptr_equal(big.nodes.v, nodes); /* the nodes too fit their room */
	char *a = svg_of(&small), *b = svg_of(&big);
	assert_string_equal(a, b);
	free(a);
	free(b);
	flame_tree_release(&small);
	flame_tree_release(&big);
	free(text);
}

/* Builds text as kiln flame does, with the nodes' half on a thread of its
 * own (threads 2) or not: the trees must be the same to the byte. */
static void folded_build_threads(struct flame_tree *t, const char *text, size_t len, double narrow, int threads)
{
	flame_tree_init(t);
	struct flame_folded fb;
	flame_folded_init(&fb, t);
	flame_folded_narrow(&fb, narrow);
	flame_folded_input_size(&fb, len);
	flame_folded_threads(&fb, threads);
	folded_scan_mem(text, len, add_line, &fb, NULL);
	/* two threads did run: the nodes' half is on its own (else the
	 * comparisons below would compare one thread with itself) */
	assert_int_equal(fb.pipe != NULL, threads > 1);
	flame_folded_finish(&fb);
}

/* The two-thread build (flame_folded_threads()) gives the tree the one
 * thread gives, node for node and byte for byte of its packs: sorted
 * lines of deep mostly distinct stacks (the ring between the threads
 * wraps many times), names met again and again, lines of value 0 (which
 * add nothing), and an unsorted tail that comes back to packed subtrees. */
static void test_folded_threads(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 30000; i++) {
		fprintf(f, "main;std::rt::lang_start;w_%02d", i / 1000);
		for (int d = 0, depth = 4 + i % 13; d < depth; d++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: the same stacks every run */
			if (x % 101 == 0)                        /* the crates whose main ran, in the order first met */
				fprintf(f, ";k%llu::main", (unsigned long long)(x / 101 % 12));
			else
				fprintf(f, ";k%d::f_%02d_%llu", (int)(x % 13), d,
				        (unsigned long long)(x % (d < 3 ? 7 : 5000)));
		}
		fprintf(f, " %d\n", i % 97 ? 1 + (int)(x % 50) : 0);
	}
	for (int i = 0; i < 3000; i++) /* back to the start: packed subtrees are opened again */
		fprintf(f, "main;std::rt::lang_start;w_%02d;k%d::f_00_%d;g_%d %d\n", (i * 7) % 30, i % 13, i % 7,
		        i % 11, 1 + i % 3);
	fclose(f);
	for (int narrow = 0; narrow < 2; narrow++) {
		struct flame_tree one, two;
		folded_build_threads(&one, text, len, narrow ? 0.001 : 0, 1);
		folded_build_threads(&two, text, len, narrow ? 0.001 : 0, 2);
		assert_true(one.nodes.v[0].value > 0);
		if (narrow)
			assert_true(one.npacked > 0); /* else nothing was packed */
		assert_int_equal(one.npacked, two.npacked);
		assert_int_equal(one.nodes.n, two.nodes.n);
		assert_memory_equal(one.nodes.v, two.nodes.v, one.nodes.n * sizeof(*one.nodes.v));
		assert_int_equal(one.packed.n, two.packed.n);
		if (one.packed.n)
			assert_memory_equal(one.packed.v, two.packed.v, one.packed.n);
		assert_int_equal(strtab_count(&one.strings), strtab_count(&two.strings));
		for (uint32_t i = 0; i < strtab_count(&one.strings); i++)
			assert_string_equal(strtab_get(&one.strings, i), strtab_get(&two.strings, i));
		const struct flame_census *c1 = one.census, *c2 = two.census;
		assert_true(c1->rust && c1->scoped && c1->nmains == FLAME_CENSUS_MAINS);
		assert_int_equal(c1->rust, c2->rust);
		assert_int_equal(c1->scoped, c2->scoped);
		assert_int_equal(c1->cpp, c2->cpp);
		assert_int_equal(c1->nmains, c2->nmains);
		for (size_t i = 0; i < c1->nmains; i++)
			assert_string_equal(c1->mains[i], c2->mains[i]);
		char *a = svg_of(&one), *b = svg_of(&two);
		assert_string_equal(a, b);
		free(a);
		free(b);
		flame_tree_release(&one);
		flame_tree_release(&two);
	}
	free(text);
}

/* The census guesses a folded name only when the byte scans say it could
 * be C++ or Rust: they must never say no to a name the guess calls so
 * (a mark they missed would colour the drawn frames wrongly). */
static void test_census_scans(void **state)
{
	(void)state;
	static const char *const names[] = {
	    /* C++, each by one mark of cpp_marks() */
	    "run(int)", "Foo::get() const", "(anonymous namespace)::helper", "ns::Tree<ns::Node<int> >::insert",
	    "ns::Cls::~Cls", "ns::Cls::operator==", "ns::Vec::_M_realloc_insert", "__gnu_cxx::new_allocator::allocate",
	    "std::basic_string::append", "std::_Rb_tree::insert", "std::vector<int>::push_back",
	    "std::map<int, int>::at", "std::unique_ptr<Foo>::reset", "std::shared_ptr<Foo>::get",
	    "std::function<void ()>::operator()", "std::allocator<int>::allocate",
	    /* Rust, std and dependencies */
	    "<app::Foo as core::fmt::Debug>::fmt", "app::run::{{closure}}", "app::run::{closure#0}",
	    "core::ops::function::FnOnce::call_once{{vtable.shim}}", "<impl app::Foo>::bar", "__rust_alloc",
	    "__rdl_alloc", "rust_begin_unwind", "core::ptr::drop_in_place", "alloc::vec::Vec::push", "&alloc::vec::Vec",
	    "*core::ptr::null", "<core::option::Option<T>>::unwrap", "dyn core::any::Any",
	    "hashbrown::raw::RawTable::insert", "std[8f2c]::rt::lang_start", "core[1a2b]::panicking::panic",
	    "std::rt::lang_start_internal", "std::sys::unix::thread::Thread::new", "app::main::h0123456789abcdef",
	    "std::io::Write::write_all",
	    /* neither */
	    "main", "memcpy", "do_syscall_64_[k]", "app::m12::run_5", "java/lang/Thread.run", "runtime.mallocgc",
	    "compute (app.py:10)", "0x7f00", "libc.so.6+0x1234", "index::m3::find_7", "tokio::m5::open_3"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *n = names[i];
		enum flame_origin o = flame_origin_guess(n, NULL, NULL, false);
		if (o == FLAME_ORIGIN_CPP && !flame_name_may_be_cpp(n, strlen(n)))
			fail_msg("'%s' is C++ but the scan says it cannot be", n);
		if ((o == FLAME_ORIGIN_RUST || o == FLAME_ORIGIN_RUST_STD || o == FLAME_ORIGIN_RUST_DEP) &&
		    !flame_name_may_be_rust(n, strlen(n)))
			fail_msg("'%s' is Rust but the scan says it cannot be", n);
	}
	/* the scans are not "always": plain names pass without a guess */
	assert_false(flame_name_may_be_cpp("app::m12::run_5", 15));
	assert_false(flame_name_may_be_rust("app::m12::run_5", 15));
	assert_false(flame_name_may_be_cpp("memcpy", 6));
	assert_false(flame_name_may_be_rust("memcpy", 6));
	/* the C++ scan skips 8 bytes at a time: a mark at any offset, across
	 * any word boundary, is still seen, and plain text around it is not */
	static const char *const marks[] = {"f)",           "A<B> >",  "ns::~X",       "std::_Rb",
	                                    "n::operator<", "x::_M_y", "__gnu_cxx::a", "g()"};
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++)
		for (size_t at = 0; at < 20; at++) {
			char buf[64];
			memset(buf, 'a', at);
			size_t len = at + (size_t)snprintf(buf + at, sizeof(buf) - at, "%s", marks[m]);
			for (size_t pad = 0; pad < 10; pad++) {
				assert_true(flame_name_may_be_cpp(buf, len));
				assert_false(flame_name_may_be_cpp(buf, at));
				buf[len++] = 'z';
			}
		}
	char plain[40];
	memset(plain, 'q', sizeof(plain));
	for (size_t len = 0; len <= sizeof(plain); len++)
		assert_false(flame_name_may_be_cpp(plain, len));
}

/* What decides the colours of the drawn frames may be met only in frames
 * too narrow to draw, which packing never guesses one by one: a C++ mark
 * there makes "a::b" names unknown, a "crate::main" there makes the
 * crate the program's own. Packed and unpacked trees must say the same. */
static void test_census_in_narrow_frames(void **state)
{
	(void)state;
	static const char *const deep[] = {
	    NULL,                                                     /* Rust: app::run is yours */
	    "ns::Tree<ns::Node<int> >::insert",                       /* C++ too: unknown */
	    "lib::main",                                              /* lib's main() ran too */
	    "other::main;x::Foo::operator==;y::Bar::~Bar;z::_M_impl", /* and more */
	};
	static const int expect[] = {FLAME_ORIGIN_RUST, FLAME_ORIGIN_UNKNOWN, FLAME_ORIGIN_RUST, FLAME_ORIGIN_UNKNOWN};
	static const int expect_lib[] = {FLAME_ORIGIN_RUST_DEP, FLAME_ORIGIN_UNKNOWN, FLAME_ORIGIN_RUST,
	                                 FLAME_ORIGIN_UNKNOWN};
	for (size_t k = 0; k < sizeof(deep) / sizeof(deep[0]); k++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		fprintf(f, "std::rt::lang_start;app::main;app::run 5000\n");
		fprintf(f, "std::rt::lang_start;app::main;lib::work 3000\n");
		for (int i = 0; i < 200; i++) /* narrow: one 8000th of the total each, with callees */
			fprintf(f, "std::rt::lang_start;app::main;app::run;app::m%d::f_%d;leaf_%d%s%s 1\n", i % 7, i, i,
			        deep[k] && i == 133 ? ";" : "", deep[k] && i == 133 ? deep[k] : "");
		fclose(f);
		check_fast_path(text, len);
		struct flame_tree t;
		flame_tree_init(&t);
		struct flame_folded fb;
		flame_folded_init(&fb, &t);
		flame_folded_narrow(&fb, 0.01);
		folded_scan_mem(text, len, add_line, &fb, NULL);
		flame_folded_finish(&fb);
		assert_true(t.npacked > 0); /* the deep frames were packed */
		assert_int_equal(origin_in(&t, "app::run"), expect[k]);
		assert_int_equal(origin_in(&t, "lib::work"), expect_lib[k]);
		flame_tree_release(&t);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_totals),
	    cmocka_unit_test(test_reverse),
	    cmocka_unit_test(test_focus_exclude),
	    cmocka_unit_test(test_threads_and_chart),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_origin),
	    cmocka_unit_test(test_origin_resolved),
	    cmocka_unit_test(test_chart_spans),
	    cmocka_unit_test(test_folded_fast_path),
	    cmocka_unit_test(test_folded_distinct_names),
	    cmocka_unit_test(test_folded_shared_frames),
	    cmocka_unit_test(test_folded_packs_reserved),
	    cmocka_unit_test(test_folded_threads),
	    cmocka_unit_test(test_census_scans),
	    cmocka_unit_test(test_census_in_narrow_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
