/* test_folded.c - folded stacks in (profile/folded_read), out
 * (render/folded) and round trip; perf script parsing (profile/perf_script). */
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

#include "analysis/flame_tree.h"
#include "profile/folded_read.h"
#include "profile/perf_script.h"
#include "render/flame.h"
#include "util/strbuf.h"

/* Folded text of p as written by kiln (sorted, merged). Caller frees. */
static char *to_folded(const struct profile *p)
{
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(flame_render_folded(f, &t), 0);
	fclose(f);
	flame_tree_release(&t);
	return buf;
}

static char *fold_text(const char *text)
{
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
	char *out = to_folded(p);
	profile_free(p);
	return out;
}

static void test_parse(void **state)
{
	(void)state;
	const char *text = "main;run;leaf_a 10\n"
	                   "main;run;leaf_b 20\r\n"
	                   "\n"
	                   "not a stack line\n"
	                   "main;run 2.5\n"
	                   "main;run;leaf_b 1\n"
	                   "main;runner;x 4\n"
	                   "main;ru 1\n"
	                   "sys_read_[k] 7\n";
	struct profile *p = NULL;
	struct folded_stats st;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, &st), 0);
	assert_int_equal(st.lines, 7);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(p->samples.n, 6); /* one per distinct stack: leaf_b's lines are one */
	int64_t total = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		total += p->samples.v[i].values[0];
	assert_int_equal(total, 10 + 20 + 3 + 1 + 4 + 1 + 7);
	/* prefix reuse must not confuse "run" with "runner" or "ru" */
	char *out = to_folded(p);
	assert_string_equal(out, "main;ru 1\n"
	                         "main;run 3\n"
	                         "main;run;leaf_a 10\n"
	                         "main;run;leaf_b 21\n"
	                         "main;runner;x 4\n"
	                         "sys_read_[k] 7\n");
	free(out);
	/* kernel frames are marked so the lang palette can tell them */
	bool kernel = false;
	for (size_t i = 0; i < p->locations.n; i++)
		if (p->locations.v[i].kind == PROFILE_LOC_KERNEL)
			kernel = !strcmp(profile_str(p, p->frames.v[p->locations.v[i].first_frame].function),
			                 "sys_read_[k]");
	assert_true(kernel);
	profile_free(p);
}

static void test_empty_and_bad(void **state)
{
	(void)state;
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem("", 0, &p, NULL), -ENOMSG);
	assert_int_equal(folded_read_mem("no count here\n", 14, &p, NULL), -ENOMSG);
	assert_int_equal(folded_read_mem("a;b -3\n", 7, &p, NULL), -ENOMSG);
	assert_false(folded_sniff("  indented 1\n", 13, true));
	assert_true(folded_sniff("\n\na;b 1\n", 8, true));
	/* a line not complete yet decides nothing, however long */
	assert_int_equal(folded_sniff("\n\na;b 1", 7, false), -EAGAIN);
	assert_int_equal(folded_sniff("  ", 2, false), -EAGAIN);
	assert_true(folded_sniff("a;b 1", 5, true));
	assert_true(folded_sniff("a 99999999999999999999\n", 23, true)); /* folded, with a count too large */
	/* empty frames and an empty stack survive a round trip */
	char *out = fold_text("a;;b 2\n;x 1\n 5\n");
	assert_string_equal(out, " 5\n;x 1\na;;b 2\n");
	free(out);
}

static void test_round_trip(void **state)
{
	(void)state;
	/* random-ish stacks: folded -> profile -> folded keeps every stack and count */
	const char *names[] = {"main",           "run",    "leaf_a", "leaf_b",
	                       "std::io::write", "memcpy", "x y z",  "\xc3\xa9t\xc3\xa9"};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t seed = 12345;
	int64_t a = 0, b = 0;
	for (int i = 0; i < 500; i++) {
		int depth = 1 + (int)(seed % 6);
		for (int d = 0; d < depth; d++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			fprintf(f, "%s%s", d ? ";" : "", names[(seed >> 33) % 8]);
		}
		int count = (int)((seed >> 40) % 100) + 1;
		fprintf(f, " %d\n", count);
		a += count;
	}
	fclose(f);
	char *once = fold_text(text);
	char *twice = fold_text(once);
	assert_string_equal(once, twice);
	/* the sum of counts is kept */
	for (char *s = once; *s;) {
		char *nl = strchr(s, '\n');
		char *sp = nl;
		while (sp > s && sp[-1] != ' ')
			sp--;
		b += strtoll(sp, NULL, 10);
		s = nl + 1;
	}
	assert_int_equal(a, b);
	free(text);
	free(once);
	free(twice);
}

static void test_perf_script(void **state)
{
	(void)state;
	const char *text = "# ========\n"
	                   "# header\n"
	                   "calltree 1234/1235 [001] 100.000001:     250000 cpu-clock:u: \n"
	                   "\t    55d4c1a0 calltree::leaf_b+0x1a (/tmp/calltree)\n"
	                   "\t    55d4c2a0 calltree::run+0x40 (/tmp/calltree)\n"
	                   "\t    7f00aa00 __libc_start_main+0x80 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
	                   "\n"
	                   "   my thread  1234/1236 [000] 100.001: 250000 cpu-clock:\n"
	                   "\tffffffff81000000 do_syscall_64+0x5 ([kernel.kallsyms])\n"
	                   "\t    1234 [unknown] (/usr/lib/libfoo.so)\n"
	                   "\t    5678 [unknown] ([unknown])\n"
	                   "\n"
	                   "calltree 1234/1235 [001] 100.002: 250000 cpu-clock:u: \n"
	                   "\t    55d4c1a0 calltree::leaf_b+0x1b (/tmp/calltree)\n"
	                   "\t    55d4c2a0 calltree::run+0x40 (/tmp/calltree)\n"
	                   "\t    7f00aa00 __libc_start_main+0x80 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n";
	assert_true(perf_script_sniff(text, strlen(text), true));
	assert_false(folded_sniff(text, strlen(text), true));
	/* the header and the start of the first frame must be there */
	assert_int_equal(perf_script_sniff(text, 30, false), -EAGAIN);
	assert_int_equal(perf_script_sniff(text, 85, false), -EAGAIN);
	assert_int_equal(perf_script_sniff(text, 88, false), 1);
	assert_int_equal(perf_script_sniff(text, 30, true), 0);
	struct profile *p = NULL;
	struct perf_script_stats st;
	assert_int_equal(perf_script_read_mem(text, strlen(text), &p, &st), 0);
	assert_int_equal(st.events, 3);
	assert_int_equal(p->samples.n, 2); /* the first and last events: one stack, one thread */
	assert_int_equal(p->samples.v[0].tid, 1235);
	assert_int_equal(p->samples.v[0].time, 100000001000ull);
	assert_int_equal(p->samples.v[0].values[0], 2);
	char *out = to_folded(p);
	assert_string_equal(out, "calltree;__libc_start_main;calltree::run;calltree::leaf_b 2\n"
	                         "my thread;[unknown];[libfoo.so];do_syscall_64_[k] 1\n"); /* perf's kernel mark */
	free(out);
	profile_free(p);
	assert_int_equal(perf_script_read_mem("", 0, &p, NULL), -ENOMSG);

	/* in time order (flame charts) every event keeps its time: none merge */
	struct perf_script_reader *r = perf_script_reader_new(true);
	const char *ev[] = {"a 1/1 [0] 1.0: 1 c:", "\t 1 x (m)", "", "a 1/2 [0] 1.5: 1 c:", "\t 1 y (m)", "",
	                    "a 1/1 [0] 2.0: 1 c:", "\t 1 x (m)", "", "a 1/1 [0] 3.0: 1 c:", "\t 1 y (m)", "",
	                    "a 1/1 [0] 4.0: 1 c:", "\t 1 x (m)"};
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		perf_script_reader_line(r, ev[i], strlen(ev[i]));
	assert_int_equal(perf_script_reader_finish(r, &p, &st), 0);
	assert_int_equal(st.events, 5);
	assert_int_equal(p->samples.n, 5);
	assert_int_equal(p->samples.v[0].values[0], 1);
	assert_int_equal(p->samples.v[2].time, 2000000000ull); /* x at 2.0 is a sample of its own */
	profile_free(p);
	r = perf_script_reader_new(false);
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		perf_script_reader_line(r, ev[i], strlen(ev[i]));
	assert_int_equal(perf_script_reader_finish(r, &p, &st), 0);
	assert_int_equal(p->samples.n, 3); /* (x, 1), (y, 2), (y, 1) */
	assert_int_equal(p->samples.v[0].values[0], 3);
	profile_free(p);

	/* the header's numbers at their limits: a time past 64 bits of ns is
	 * no time (it wrapped), a pid past 32 bits the largest */
	const char *lim[] = {"a 0007/0008 [0] 18446744073.709551615: 1 c:",
	                     "\t 1 x (m)",
	                     "",
	                     "a 4294967296/99999999999999999999999 [0] 1.1234567891: 1 c:",
	                     "\t 1 y (m)",
	                     "",
	                     "a 1/1 [0] 18446744074.5: 1 c:",
	                     "\t 1 x (m)",
	                     "",
	                     "a 1/1 [0] 99999999999999999999999.5: 1 c:",
	                     "\t 1 y (m)"};
	r = perf_script_reader_new(true);
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
		perf_script_reader_line(r, lim[i], strlen(lim[i]));
	assert_int_equal(perf_script_reader_finish(r, &p, &st), 0);
	assert_int_equal(p->samples.n, 4);
	assert_int_equal(p->samples.v[0].pid, 7);
	assert_int_equal(p->samples.v[0].tid, 8);
	assert_true(p->samples.v[0].time == UINT64_MAX);
	assert_int_equal(p->samples.v[1].pid, UINT32_MAX);
	assert_int_equal(p->samples.v[1].tid, UINT32_MAX);
	assert_int_equal(p->samples.v[1].time, 1123456789ull); /* past 9 digits cut off */
	assert_int_equal(p->samples.v[2].time, 0);
	assert_int_equal(p->samples.v[3].time, 0);
	profile_free(p);
}

static void test_parse_line(void **state)
{
	(void)state;
	size_t slen = 99;
	int64_t v = -1;
	assert_int_equal(folded_parse_line("a;b c 12", 8, &slen, &v), 1);
	assert_int_equal(slen, 5);
	assert_int_equal(v, 12);
	assert_int_equal(folded_parse_line("a;b\t 3.5 \r", 10, &slen, &v), 1);
	assert_int_equal(slen, 3);
	assert_int_equal(v, 4);
	assert_int_equal(folded_parse_line("  7", 3, &slen, &v), 1);
	assert_int_equal(slen, 0);
	assert_int_equal(v, 7);
	assert_int_equal(folded_parse_line(" \t\r", 3, &slen, &v), 0);
	assert_int_equal(folded_parse_line("", 0, &slen, &v), 0);
	assert_int_equal(folded_parse_line("a;b", 3, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a;b 1x", 6, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a\0b 1", 5, &slen, &v), -EINVAL);
	/* leading zeros are digits; a sign, a bare fraction or an empty one are not counts */
	assert_int_equal(folded_parse_line("a 007", 5, &slen, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(folded_parse_line("a 0.4", 5, &slen, &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(folded_parse_line("a -1", 4, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a +1", 4, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a .5", 4, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a 1.", 4, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a 1.5.5", 7, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a 0x10", 6, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a 1f", 4, &slen, &v), -EINVAL);
}

struct scanned {
	struct strbuf text; /* "stack=count\n" per line */
	int64_t sum;
};

static void scan_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	struct scanned *sc = ctx;
	strbuf_add(&sc->text, stack, len);
	strbuf_addf(&sc->text, "=%lld\n", (long long)count);
	sc->sum += count;
}

static void test_scan(void **state)
{
	(void)state;
	struct scanned sc = {STRBUF_INIT, 0};
	struct folded_stats st;
	const char *text = "a;b 1\r\n\nbad\n  2\nc 9223372036854775797\nd 5\ne 1.5";
	assert_int_equal(folded_scan_mem(text, strlen(text), scan_line, &sc, &st), 0);
	assert_string_equal(strbuf_str(&sc.text), "a;b=1\n=2\nc=9223372036854775797\nd=5\ne=2\n");
	assert_int_equal(sc.sum, INT64_MAX); /* exactly the largest sum */
	assert_int_equal(st.lines, 5);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.first_skipped_line, 3);
	assert_string_equal(st.first_skipped, "bad");
	assert_int_equal(folded_scan_mem("x\n", 2, scan_line, &sc, NULL), -ENOMSG);
	strbuf_release(&sc.text);
}

/* The cases of issue 22, item 8, verbatim: counts are exact, and one
 * that does not fit (or a sum that would wrap) is an error naming the
 * line, never a changed count elsewhere. */
static void test_exact_counts(void **state)
{
	(void)state;
	const char *big = "main;a 4611686018427387903\nmain;b 5\n";
	char *out = fold_text(big);
	assert_string_equal(out, "main;a 4611686018427387903\nmain;b 5\n");
	free(out);
	out = fold_text("main;a 9223372036854775802\nmain;b 5\n");
	assert_string_equal(out, "main;a 9223372036854775802\nmain;b 5\n");
	free(out);

	struct profile *p = NULL;
	struct folded_stats st;
	const char *two = "main;a 9223372036854775807\nmain;b 9223372036854775807\n";
	assert_int_equal(folded_read_mem(two, strlen(two), &p, &st), -ERANGE);
	assert_null(p);
	assert_int_equal(st.error_line, 2);
	assert_string_equal(st.error_count, "9223372036854775807");
	const char *huge = "main;foo 1\nmain;baz 10\nmain;bar 99999999999999999999\nmain;baz 5\n";
	assert_int_equal(folded_read_mem(huge, strlen(huge), &p, &st), -EOVERFLOW);
	assert_null(p);
	assert_int_equal(st.error_line, 3);
	assert_string_equal(st.error_count, "99999999999999999999");
	/* the largest count, and a fraction that rounds past it */
	size_t slen;
	int64_t v;
	assert_int_equal(folded_parse_line("a 9223372036854775807", 21, &slen, &v), 1);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(folded_parse_line("a 9223372036854775807.5", 23, &slen, &v), -EOVERFLOW);
	assert_int_equal(folded_parse_line("a 9223372036854775808", 21, &slen, &v), -EOVERFLOW);
	assert_int_equal(folded_parse_line("a 18446744073709551616", 22, &slen, &v), -EOVERFLOW);
	assert_int_equal(folded_parse_line("a 9223372036854775806.5", 23, &slen, &v), 1);
	assert_int_equal(v, INT64_MAX);
	/* past 64 bits, with a fraction */
	assert_int_equal(folded_parse_line("a 18446744073709551616.7", 24, &slen, &v), -EOVERFLOW);
	/* a long number that is not a count is malformed, not too large */
	assert_int_equal(folded_parse_line("a 99999999999999999999x", 23, &slen, &v), -EINVAL);
	assert_int_equal(folded_parse_line("a 99999999999999999999.", 23, &slen, &v), -EINVAL);

	/* the flame tree refuses values of a profile that add up past 64 bits */
	assert_int_equal(folded_read_mem(big, strlen(big), &p, NULL), 0);
	p->samples.v[1].values[0] = INT64_MAX;
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&t, p, &o), -EOVERFLOW);
	flame_tree_release(&t);
	profile_free(p);
}

static void test_excerpt(void **state)
{
	(void)state;
	char buf[12];
	text_excerpt(buf, sizeof(buf), "short", 5);
	assert_string_equal(buf, "short");
	text_excerpt(buf, sizeof(buf),
	             "a\tb\x01"
	             "c",
	             5);
	assert_string_equal(buf, "a?b?c");
	text_excerpt(buf, sizeof(buf), "0123456789abcdef", 16);
	assert_string_equal(buf, "01234567...");
	text_excerpt(buf, sizeof(buf), "0123456789a", 11);
	assert_string_equal(buf, "0123456789a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),        cmocka_unit_test(test_empty_and_bad),
	    cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_perf_script),
	    cmocka_unit_test(test_parse_line),   cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_exact_counts), cmocka_unit_test(test_excerpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
