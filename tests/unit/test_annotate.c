/* test_annotate.c - one function's value per source line: self lines,
 * callees inlined at a call site, real calls counted apart (recursion
 * once), addresses as module offsets, symbol matching, and the text and
 * JSON renderings, on a profile built by hand with known stacks. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/annotate.h"
#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "render/annotate.h"

#define CPU       1000
#define MOD_START 0x400000
#define MOD_PGOFF 0x1000

struct fixture {
	struct profile *p;
	uint32_t mapping;
};

/* A location at address addr whose frames are given outermost (the real
 * function) first as name, file, line; the rest are inlined into it. */
static uint32_t loc(struct fixture *f, uint64_t addr, int nframes, ...)
{
	struct profile_frame frames[8];
	va_list ap;
	va_start(ap, nframes);
	for (int i = nframes - 1; i >= 0; i--) {
		const char *name = va_arg(ap, const char *);
		const char *file = va_arg(ap, const char *);
		unsigned line = va_arg(ap, unsigned);
		frames[i] = (struct profile_frame){
		    .function = profile_intern(f->p, name),
		    .file = profile_intern(f->p, file),
		    .line = line,
		    .module = profile_intern(f->p, "prog"),
		    .inlined = i != nframes - 1,
		};
	}
	va_end(ap);
	uint32_t l = profile_location(f->p, f->mapping, addr, PROFILE_LOC_USER);
	profile_set_location_frames(f->p, l, frames, (uint32_t)nframes);
	return l;
}

/* count samples with the stack given root first */
static void samples(struct fixture *f, int count, int n, ...)
{
	uint32_t locs[16];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		locs[n - 1 - i] = va_arg(ap, uint32_t);
	va_end(ap);
	uint32_t leaf = profile_stack_from_leaf(f->p, locs, (uint32_t)n);
	for (int i = 0; i < count; i++) {
		struct profile_sample s = {.stack = leaf, .tid = 1, .pid = 1};
		s.values[0] = 1;
		s.values[1] = CPU;
		profile_add_sample(f->p, &s);
	}
}

/*
 * main(30) -> ns::hot line 10                     x50  self
 * main(30) -> ns::hot line 11 (two addresses)     x20 + x10  self
 * main(30) -> ns::hot line 12 [inl_callee g.h:5]  x20  inlined at 12
 * main(30) -> ns::hot line 13 -> other            x8   calls from 13
 * main(30) -> ns::hot 13 -> ns::hot 14 -> other   x2   calls from 14 (innermost), once
 * main(31) -> ns::hotter                          x40
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->p = profile_new();
	profile_add_value_type(f->p, "samples", "count");
	profile_add_value_type(f->p, "cpu", "nanoseconds");
	struct profile_mapping m = {.pid = 1, .start = MOD_START, .end = MOD_START + 0x10000, .pgoff = MOD_PGOFF};
	m.path = profile_intern(f->p, "/bin/prog");
	f->mapping = profile_add_mapping(f->p, &m);

	uint32_t main30 = loc(f, MOD_START + 0x300, 1, "main", "m.c", 30);
	uint32_t main31 = loc(f, MOD_START + 0x310, 1, "main", "m.c", 31);
	uint32_t h10 = loc(f, MOD_START + 0x100, 1, "ns::hot", "f.c", 10);
	uint32_t h11a = loc(f, MOD_START + 0x110, 1, "ns::hot", "f.c", 11);
	uint32_t h11b = loc(f, MOD_START + 0x114, 1, "ns::hot", "f.c", 11);
	uint32_t h12 = loc(f, MOD_START + 0x120, 2, "ns::hot", "f.c", 12, "inl_callee", "g.h", 5);
	uint32_t h13 = loc(f, MOD_START + 0x130, 1, "ns::hot", "f.c", 13);
	uint32_t h14 = loc(f, MOD_START + 0x140, 1, "ns::hot", "f.c", 14);
	uint32_t other = loc(f, MOD_START + 0x500, 1, "other", "o.c", 1);
	uint32_t hotter = loc(f, MOD_START + 0x600, 1, "ns::hotter", "f.c", 50);
	samples(f, 50, 2, main30, h10);
	samples(f, 20, 2, main30, h11a);
	samples(f, 10, 2, main30, h11b);
	samples(f, 20, 2, main30, h12);
	samples(f, 8, 3, main30, h13, other);
	samples(f, 2, 4, main30, h13, h14, other);
	samples(f, 40, 2, main31, hotter);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	profile_free(f->p);
	free(f);
	return 0;
}

static void build(struct fixture *f, struct annotate *a, const char *name)
{
	uint32_t fn = profile_intern(f->p, name), mod = profile_intern(f->p, "prog");
	assert_int_equal(annotate_build(a, f->p, 1, fn, mod), 0);
}

static uint32_t line_no(const struct annotate *a, const struct annotate_line *l)
{
	(void)a;
	return l->line;
}

static void test_lines(void **state)
{
	struct fixture *f = *state;
	struct annotate a;
	build(f, &a, "ns::hot");
	uint32_t fc = profile_intern(f->p, "f.c");
	assert_int_equal(a.total, 150 * CPU);
	assert_int_equal(a.total_samples, 150);
	assert_int_equal(a.self, 80 * CPU);
	assert_int_equal(a.inlined, 20 * CPU);
	assert_int_equal(a.calls, 10 * CPU);
	assert_int_equal(a.samples, 100);
	assert_int_equal(a.file, fc);
	assert_int_equal(a.first_line, 10);
	assert_int_equal(a.last_line, 14);

	const struct annotate_line *l10 = annotate_find_line(&a, fc, 10);
	const struct annotate_line *l11 = annotate_find_line(&a, fc, 11);
	const struct annotate_line *l12 = annotate_find_line(&a, fc, 12);
	const struct annotate_line *l13 = annotate_find_line(&a, fc, 13);
	const struct annotate_line *l14 = annotate_find_line(&a, fc, 14);
	assert_non_null(l10);
	assert_non_null(l11);
	assert_non_null(l12);
	assert_non_null(l13);
	assert_non_null(l14);
	assert_int_equal(l10->self, 50 * CPU);
	assert_int_equal(l11->self, 30 * CPU);
	assert_int_equal(l11->samples, 30);
	assert_int_equal(l12->self, 0);
	assert_int_equal(l12->inlined, 20 * CPU);
	assert_string_equal(profile_str(f->p, l12->callee), "inl_callee");
	/* real calls: at the innermost frame of the function, counted once */
	assert_int_equal(l13->calls, 8 * CPU);
	assert_int_equal(l14->calls, 2 * CPU);
	assert_int_equal(l13->samples, 0);
	/* the inlined callee's own file never becomes a line of the function */
	assert_null(annotate_find_line(&a, profile_intern(f->p, "g.h"), 5));

	/* addresses: by value, as offsets in the module file */
	assert_int_equal(l11->naddrs, 2);
	assert_int_equal(a.addrs.v[l11->first_addr].offset, 0x110 + MOD_PGOFF);
	assert_int_equal(a.addrs.v[l11->first_addr].value, 20 * CPU);
	assert_int_equal(a.addrs.v[l11->first_addr + 1].offset, 0x114 + MOD_PGOFF);
	assert_int_equal(a.addrs.v[l10->first_addr].address, MOD_START + 0x100);

	/* hottest first; lines with only calls left out; shares add up */
	uint32_t order[16];
	size_t n = annotate_hottest(&a, order);
	assert_int_equal(n, 3);
	assert_int_equal(line_no(&a, &a.lines.v[order[0]]), 10);
	assert_int_equal(line_no(&a, &a.lines.v[order[1]]), 11);
	assert_int_equal(line_no(&a, &a.lines.v[order[2]]), 12);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += annotate_pct(&a, annotate_line_value(&a.lines.v[order[i]]));
	assert_true(sum > 99.999 && sum < 100.001);
	assert_true(annotate_pct(&a, l10->self) > 49.999 && annotate_pct(&a, l10->self) < 50.001);
	annotate_release(&a);
}

static void test_samples_value(void **state)
{
	struct fixture *f = *state;
	struct annotate a;
	uint32_t fn = profile_intern(f->p, "ns::hotter"), mod = profile_intern(f->p, "prog");
	assert_int_equal(annotate_build(&a, f->p, HOTSPOTS_VALUE_SAMPLES, fn, mod), 0);
	assert_int_equal(a.self, 40);
	assert_int_equal(a.calls, 0);
	assert_int_equal(a.first_line, 50);
	annotate_release(&a);
	assert_int_equal(annotate_build(&a, f->p, 7, fn, mod), -EINVAL);
	annotate_release(&a);
}

static void test_match(void **state)
{
	struct fixture *f = *state;
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, f->p, 1), 0);
	uint32_t out[4];
	assert_int_equal(annotate_match_functions(&h, "ns::hot", out, 4), 1);
	assert_string_equal(profile_str(f->p, h.funcs.v[out[0]].name), "ns::hot");
	/* the last path segment beats a substring of a longer name */
	assert_int_equal(annotate_match_functions(&h, "hot", out, 4), 1);
	assert_string_equal(profile_str(f->p, h.funcs.v[out[0]].name), "ns::hot");
	assert_int_equal(annotate_match_functions(&h, "ho", out, 4), 2);
	assert_int_equal(annotate_match_functions(&h, "nothing", out, 4), 0);
	/* more matches than room: the count is still right */
	assert_int_equal(annotate_match_functions(&h, "o", out, 1), 3);
	hotspots_release(&h);
}

/* Does the output line containing `key` also contain `want`? */
static bool line_has(const char *text, const char *key, const char *want)
{
	const char *k = strstr(text, key);
	if (!k)
		return false;
	const char *start = k;
	while (start > text && start[-1] != '\n')
		start--;
	const char *end = strchr(k, '\n');
	size_t n = end ? (size_t)(end - start) : strlen(start);
	char buf[512];
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, start, n);
	buf[n] = '\0';
	return strstr(buf, want) != NULL;
}

static void test_render(void **state)
{
	struct fixture *f = *state;
	struct annotate a;
	build(f, &a, "ns::hot");
	struct annotate_options o = {.file = "t.kiln", .complete = true, .limit = 10, .context = 1};
	/* without the source: file:line and addresses */
	struct strbuf sb = STRBUF_INIT;
	annotate_text_ops.render(&sb, &a, NULL, &o);
	const char *t = strbuf_str(&sb);
	assert_non_null(strstr(t, "ns::hot"));
	assert_non_null(strstr(t, " 50.0% "));
	assert_non_null(strstr(t, "f.c:10"));
	assert_non_null(strstr(t, "0x1110 (20%)"));
	assert_non_null(strstr(t, "[inlined: inl_callee]"));
	assert_null(strstr(t, "\033["));

	/* with the source: lines 9..15 (context 1), one gap-free block */
	char l1[] = "int x;", l9[] = "void hot(void) {", l10[] = "  a();", l11[] = "  b();", l12[] = "  c();",
	     l13[] = "  d();", l14[] = "  e();", l15[] = "}", filler[] = "";
	char *lines[] = {l1, filler, filler, filler, filler, filler, filler, filler, l9, l10, l11, l12, l13, l14, l15};
	struct annotate_source src = {.path = "f.c", .lines = lines, .nlines = 15};
	strbuf_reset(&sb);
	annotate_text_ops.render(&sb, &a, &src, &o);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "void hot(void) {"));
	assert_true(line_has(t, "    b();", "30.0%"));
	assert_true(line_has(t, "    d();", "5.3%")); /* calls: 8 of 150 */
	assert_false(line_has(t, "    d();", "30.0%"));
	assert_null(strstr(t, "int x;"));
	assert_null(strstr(t, "..."));

	strbuf_reset(&sb);
	o.color = true;
	annotate_text_ops.render(&sb, &a, &src, &o);
	assert_non_null(strstr(strbuf_str(&sb), "\033[1m\033[31m"));

	strbuf_reset(&sb);
	o.limit = 2;
	annotate_json_ops.render(&sb, &a, &src, &o);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "\"function\":\"ns::hot\""));
	assert_non_null(strstr(t, "\"line\":10,\"value\":50000,"));
	assert_non_null(strstr(t, "\"source\":\"  a();\""));
	assert_null(strstr(t, "\"line\":12")); /* limited to 2 */
	strbuf_release(&sb);
	annotate_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_samples_value),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
