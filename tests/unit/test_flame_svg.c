/* test_flame_svg.c - the flame graph SVG: geometry, escaping of hostile
 * names, truncation with an ellipsis, merging of narrow frames, diff
 * colours and the embedded script and style. */
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
#include "util/strbuf.h"

static char *render(const char *text, const struct flame_svg_options *so, const char *base_text)
{
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	if (base_text) {
		struct profile *bp = NULL;
		assert_int_equal(folded_read_mem(base_text, strlen(base_text), &bp, NULL), 0);
		struct flame_tree base;
		flame_tree_init(&base);
		assert_int_equal(flame_tree_build(&base, bp, &o), 0);
		flame_tree_set_base(&t, &base);
		flame_tree_release(&base);
		profile_free(bp);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(flame_render_svg(f, &t, so), 0);
	fclose(f);
	flame_tree_release(&t);
	profile_free(p);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *s = hay; (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;
	return n;
}

static void test_basic(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1, .title = "T"};
	char *svg = render("main;leaf_a 10\nmain;leaf_b 20\n", &so, NULL);
	assert_non_null(strstr(svg, "<?xml"));
	assert_int_equal(count(svg, "<script"), 2);
	assert_int_equal(count(svg, "</script>"), 2);
	assert_non_null(strstr(svg, "function fit("));       /* the embedded flame.js */
	assert_non_null(strstr(svg, "#frames .match rect")); /* the embedded flame.css */
	/* all, main, leaf_a, leaf_b */
	assert_int_equal(count(svg, "<g><rect"), 4);
	/* leaf_b twice as wide as leaf_a: 1180 px * 20/30 and * 10/30 */
	assert_non_null(strstr(svg, "width=\"786.7\""));
	assert_non_null(strstr(svg, "width=\"393.3\""));
	assert_non_null(strstr(svg, ">leaf_b</text>"));
	free(svg);
}

static void test_hostile(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1,
	                               .title = "<x>&\"'",
	                               .subtitle = "]]></script><script>",
	                               .notes = "a\x01"
	                                        "b"};
	char *svg = render("main;<script>alert(1)</script> 5\n"
	                   "main;]]><b onload=\"x\">&amp; 5\n"
	                   "main;bad\xff\xfe utf8\x01\x1f 5\n"
	                   "main;\xe2\x80\xa8sep 5\n",
	                   &so, NULL);
	assert_int_equal(count(svg, "<script"), 2);
	assert_int_equal(count(svg, "]]>"), 3); /* the style's and the two scripts' own */
	assert_null(strstr(svg, "<b "));
	assert_null(strstr(svg, "alert(1)</"));
	assert_null(strstr(svg, "\x01"));
	assert_null(strstr(svg, "\xff"));
	assert_non_null(strstr(svg, "\"\\u2028sep\"")); /* JSON escapes line separators for old JS engines */
	assert_non_null(strstr(svg, "&lt;script&gt;"));
	assert_non_null(strstr(svg, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
	assert_non_null(strstr(svg, "&lt;x&gt;&amp;&quot;&#39;"));
	free(svg);
}

static void test_truncate_and_merge(void **state)
{
	(void)state;
	struct flame_svg_options so = {.width = 200, .min_width = 2};
	/* a long name in a 180 px frame: cut with an ellipsis */
	char *svg =
	    render("a_very_long_function_name_that_cannot_fit_in_one_hundred_and_eighty_pixels 1000\n", &so, NULL);
	assert_non_null(strstr(svg, "\xe2\x80\xa6</text>"));
	assert_null(strstr(svg, "eighty_pixels</text>"));
	free(svg);
	/* 100 tiny siblings (1.8 px each at 200 px, min 2 px) become one merged frame */
	char text[4096] = "";
	size_t off = 0;
	for (int i = 0; i < 100; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "main;f%02d 1\n", i);
	svg = render(text, &so, NULL);
	assert_non_null(strstr(svg, "[100 small frames]"));
	assert_int_equal(count(svg, "<g><rect"), 3); /* all, main, merged */
	/* the box's 100 frames are kept to be opened: F index 2, H from 0, 100 of them, the first */
	assert_non_null(strstr(svg, "\nM:[0,2,0,100,0],depth:2};"));
	/* compactly: f00 first, its name S[4] ("", all, main, the box, then it),
	 * depth 0 and gap 0 below the box, value 1, none of it in callees, C
	 * (3 * 2), no source; then f01, S[5] */
	assert_non_null(strstr(svg, "\nH:\"400106500106"));
	assert_non_null(strstr(svg, ",\"f00\",\"f01\","));
	free(svg);
}

/* A box too big to keep keeps nothing, not even its names: they once
 * stayed in S after the box was given up (8.7 MB of names for a 100,000
 * line file whose boxes were all too big). */
static void test_box_budget(void **state)
{
	(void)state;
	struct flame_svg_options so = {.width = 200, .min_width = 2};
	struct strbuf text = STRBUF_INIT;
	/* 2,000 chains of 6 frames with names of 300 characters: the levels
	 * of one box's data hold 1.2 MB of names, over the budget */
	strbuf_addstr(&text, "main;big 1000000\n");
	for (int i = 0; i < 2000; i++) {
		strbuf_addstr(&text, "main");
		for (const char *c = "ghijkl"; *c; c++)
			strbuf_addf(&text, ";%c%04d%0295d", *c, i, 0);
		strbuf_addstr(&text, " 1\n");
	}
	so.min_width = 0.01;
	char *svg = render(strbuf_str(&text), &so, NULL);
	assert_non_null(strstr(svg, "[2000 small frames]"));
	assert_null(strstr(svg, "\"g")); /* given up: its names are not left in S */
	assert_null(strstr(svg, "\"l"));
	assert_non_null(strstr(svg, "\nH:\"\",\nM:[],"));
	assert_true(strlen(svg) < 100000);
	free(svg);
	/* 30,000 frames, too many to draw even in the opened box: 16 boxes of
	 * them, each kept */
	so.min_width = 2;
	strbuf_reset(&text);
	strbuf_addstr(&text, "main;big 300000\n");
	for (int i = 0; i < 30000; i++)
		strbuf_addf(&text, "main;g%05d;h%05d 1\n", i, i);
	svg = render(strbuf_str(&text), &so, NULL);
	assert_non_null(strstr(svg, "\"[1875 small frames]\""));
	assert_non_null(strstr(svg, "\"g00000\""));
	free(svg);
	/* 50 frames 60 deep: the levels that fit, then a box of what is below
	 * each, kept in turn ("[1 frames]" in H, its frames further on) */
	strbuf_reset(&text);
	strbuf_addstr(&text, "main;big 9500\n");
	for (int i = 0; i < 50; i++) {
		strbuf_addf(&text, "main;g%02d", i);
		for (int d = 1; d <= 60; d++)
			strbuf_addf(&text, ";l%d", d);
		strbuf_addstr(&text, " 10\n");
	}
	svg = render(strbuf_str(&text), &so, NULL);
	assert_non_null(strstr(svg, "[50 small frames]"));
	assert_non_null(strstr(svg, "\"[1 frames]\""));
	assert_non_null(strstr(svg, "\"l60\""));
	assert_non_null(strstr(svg, "\nM:[0,2,0,2100,0,1,")); /* 41 levels of 50, 50 boxes */
	assert_true(count(svg, ",1,") > 0);                   /* boxes in the box: hidden, kept */
	free(svg);
	strbuf_release(&text);
}

/* The title names what a heap profile's graph adds up. */
static void test_value_title(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1};
	const char *types[][3] = {{"peak_space", "bytes", "Flame Graph: peak heap (bytes)"},
	                          {"alloc_objects", "count", "Flame Graph: allocations (count)"},
	                          {"leaked_space", "bytes", "Flame Graph: leaked (bytes)"},
	                          {"temporary_objects", "count", "Flame Graph: temporary allocations (count)"},
	                          {"cpu", "nanoseconds", "Flame Graph: cpu (nanoseconds)"},
	                          {"samples", "count", "Flame Graph</title>"}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct profile *p = NULL;
		const char *text = "main;malloc 10\n";
		assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
		struct flame_tree t;
		flame_tree_init(&t);
		struct flame_options o = {0};
		assert_int_equal(flame_tree_build(&t, p, &o), 0);
		t.value_type = strtab_intern(&t.strings, types[i][0]);
		t.value_unit = strtab_intern(&t.strings, types[i][1]);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		assert_int_equal(flame_render_svg(f, &t, &so), 0);
		fclose(f);
		char want[128];
		snprintf(want, sizeof(want), "<title>%s", types[i][2]);
		assert_non_null(strstr(buf, want));
		free(buf);
		flame_tree_release(&t);
		profile_free(p);
	}
}

static void test_diff_colours(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1};
	char *svg = render("main;grew 75\nmain;shrank 25\n", &so, "main;grew 50\nmain;shrank 50\n");
	/* grew: red (ff, fade, fade); shrank: blue (fade, fade, ff); main: unchanged */
	assert_non_null(strstr(svg, "fill=\"#ff2d2d\"/><text x=\"13\" y=\"51.5\">grew"));
	assert_non_null(strstr(svg, "fill=\"#2d2dff\"/><text x=\"898\" y=\"51.5\">shrank"));
	assert_non_null(strstr(svg, "diff:1"));
	assert_non_null(strstr(svg, "Differential Flame Graph"));
	free(svg);
}

static struct flame_tree *tree_of(const char *text)
{
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
	struct flame_tree *t = calloc(1, sizeof(*t));
	flame_tree_init(t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(t, p, &o), 0);
	profile_free(p);
	return t;
}

/* A differential graph as kiln flame --diff [--negate] draws it. */
static char *render_diff(const char *new_text, const char *base_text, struct flame_svg_options *so)
{
	struct flame_tree *t = tree_of(new_text), *base = tree_of(base_text);
	flame_tree_set_base(t, base);
	flame_tree_set_base(base, t);
	so->gone = base;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(flame_render_svg(f, so->negate ? base : t, so), 0);
	fclose(f);
	flame_tree_release(t);
	flame_tree_release(base);
	free(t);
	free(base);
	return buf;
}

static void test_diff_noise(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1, .base_info = "BASE: a.folded", .new_info = "NEW: b.folded"};
	/* two points of change on a hundred samples: sampling noise, neutral */
	char *svg = render_diff("main;a 51\nmain;b 49\n", "main;a 49\nmain;b 51\n", &so);
	assert_int_equal(count(svg, "<g><rect"), 4);
	assert_int_equal(count(svg, "<g><rect x=\"10\" y=\"76\" width=\"601.8\" height=\"15\" fill=\"#e4e4e0\""), 1);
	assert_int_equal(count(svg, "fill=\"#e4e4e0\"/><text x="), 4);
	assert_non_null(strstr(svg, ">not significant (95%, Benjamini-Hochberg)</text>"));
	assert_non_null(strstr(svg, "id=\"base\" x=\"600\" y=\"42\" text-anchor=\"middle\">BASE: a.folded</text>"));
	assert_non_null(strstr(svg, "id=\"new\" x=\"600\" y=\"60\" text-anchor=\"middle\">NEW: b.folded</text>"));
	assert_null(strstr(svg, "id=\"gone\""));
	free(svg);
	/* a planted 2x change on the same counts: significant, coloured */
	svg = render_diff("main;a 67\nmain;b 33\n", "main;a 33\nmain;b 67\n", &so);
	assert_int_equal(count(svg, "fill=\"#e4e4e0\"/><text x="), 2); /* all and main */
	assert_non_null(strstr(svg, "fill=\"#ff2d2d\"/><text x=\"13\" y=\"87.5\">a"));
	assert_non_null(strstr(svg, ">+34.0 points</text>"));
	free(svg);
}

static void test_diff_gone(void **state)
{
	(void)state;
	struct flame_svg_options so = {.min_width = -1};
	char *svg = render_diff("main;kept 100\n", "main;gone 50\nmain;kept 50\n", &so);
	assert_non_null(strstr(svg, ">gone from NEW: gone (50.00% of BASE) (--negate draws them)</text>"));
	assert_null(strstr(svg, ">gone</text>")); /* NEW's shape has no such frame */
	free(svg);
	so.negate = true;
	svg = render_diff("main;kept 100\n", "main;gone 50\nmain;kept 50\n", &so);
	/* BASE's shape: gone is drawn, shrunk to nothing (blue), kept grew (red) */
	assert_non_null(strstr(svg, "fill=\"#2d2dff\"/><text x=\"13\" y=\"69.5\">gone</text>"));
	assert_non_null(strstr(svg, "fill=\"#ff2d2d\"/><text x=\"603\" y=\"69.5\">kept</text>"));
	assert_non_null(strstr(svg, "negate:1"));
	assert_non_null(strstr(svg, "<title>Differential Flame Graph (negated: BASE&#39;s shape)</title>"));
	free(svg);
}

static void test_labels(void **state)
{
	(void)state;
	struct flame_svg_options so = {.width = 200, .min_width = -1, .view = "reversed"};
	/* 23 characters fit in 180 px: the middle goes, the last segment stays */
	char *svg = render("<cpu::Softmax as cpu::Layer>::score 1000\n", &so, NULL);
	assert_non_null(strstr(svg, ">&lt;cpu::Softmax a\xe2\x80\xa6::score</text>"));
	assert_non_null(strstr(svg, "<title>Flame Graph (reversed)</title>"));
	free(svg);
	/* 2 characters fit: no "l…" label */
	svg = render("main;long_name_here 13\nmain;other 87\n", &so, NULL);
	assert_null(strstr(svg, ">l\xe2\x80\xa6</text>"));
	assert_int_equal(count(svg, "<text x="), 3); /* all, main, other */
	free(svg);
}

static void test_long_header(void **state)
{
	(void)state;
	char title[400];
	memset(title, 'T', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	struct flame_svg_options so = {.width = 200, .min_width = -1, .title = title, .subtitle = title};
	char *svg = render("main;java/lang/Thread.run;runtime.mallocgc;do_sys_read_[k] 1\n", &so, NULL);
	/* 180 px less room for the controls: 8 characters of the title; 24 of the subtitle */
	assert_non_null(strstr(svg, ">TTTTTTT\xe2\x80\xa6</text>"));
	assert_non_null(strstr(svg, ">TTTTTTTTTTTTTTTTTTTTTTT\xe2\x80\xa6</text>"));
	/* the legend wraps to rows inside the width */
	assert_int_equal(count(svg, "<rect class=\"key\""), 4); /* only the languages drawn: C, Java, Go, kernel */
	assert_int_equal(count(svg, "<rect class=\"key\" x=\"10\""), 2);
	free(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_truncate_and_merge),
	    cmocka_unit_test(test_box_budget),
	    cmocka_unit_test(test_value_title),
	    cmocka_unit_test(test_diff_colours),
	    cmocka_unit_test(test_diff_noise),
	    cmocka_unit_test(test_diff_gone),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_long_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
