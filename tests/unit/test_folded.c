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

#include <cmocka.h>

#include "analysis/flame_tree.h"
#include "profile/folded_read.h"
#include "profile/perf_script.h"
#include "render/flame.h"

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
	assert_int_equal(p->samples.n, 7);
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
	assert_false(folded_sniff("  indented 1\n", 13));
	assert_true(folded_sniff("\n\na;b 1\n", 8));
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
	assert_true(perf_script_sniff(text, strlen(text)));
	assert_false(folded_sniff(text, strlen(text)));
	struct profile *p = NULL;
	struct perf_script_stats st;
	assert_int_equal(perf_script_read_mem(text, strlen(text), &p, &st), 0);
	assert_int_equal(st.events, 3);
	assert_int_equal(p->samples.n, 3);
	assert_int_equal(p->samples.v[0].tid, 1235);
	assert_int_equal(p->samples.v[0].time, 100000001000ull);
	char *out = to_folded(p);
	assert_string_equal(out, "calltree;__libc_start_main;calltree::run;calltree::leaf_b 2\n"
	                         "my thread;[unknown];[libfoo.so];do_syscall_64 1\n");
	free(out);
	profile_free(p);
	assert_int_equal(perf_script_read_mem("", 0, &p, NULL), -ENOMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_empty_and_bad),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_perf_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
