/* test_mc_suppress.c - kiln memcheck's suppression files (analysis/
 * mc_suppress.c): kiln's and valgrind's kinds, fun/obj/src lines with *
 * and ? wildcards, "..." for any frames, prefix matching from the
 * innermost frame, valgrind's leading allocator lines skipped, leak kinds,
 * and bad files refused with the line at fault; a generated suppression
 * matches its own stack. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/mc_suppress.h"

static struct mc_sframe frames[] = {
    {0x1000, "make_node", "/src/tree.c", 12, "/usr/bin/prog", 0x100, false},
    {0x2000, "tree_insert", "/src/tree.c", 40, "/usr/bin/prog", 0x200, false},
    {0x3000, NULL, NULL, 0, "/usr/lib/libfoo.so.1", 0x300, false},
    {0x4000, "main", "/src/main.c", 7, "/usr/bin/prog", 0x400, false},
};
static const struct mc_stack stack = {frames, 4};

static struct mc_suppressions *parse_ok(const char *text)
{
	struct mc_suppressions *s = NULL;
	unsigned line = 0;
	const char *why = NULL;
	assert_int_equal(mc_suppressions_parse(&s, text, strlen(text), &line, &why), 0);
	return s;
}

static void matches(const char *text, uint32_t kind, uint8_t cls, const char *want)
{
	struct mc_suppressions *s = parse_ok(text);
	const char *got = mc_suppressions_match(s, kind, cls, &stack);
	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	mc_suppressions_free(s);
}

static void test_kinds(void **state)
{
	(void)state;
	const char *ovf = "{\n  ovf\n  kiln:heap-overflow\n  fun:make_node\n}\n";
	matches(ovf, MC_OVERFLOW, 0, "ovf");
	matches(ovf, MC_DOUBLE_FREE, 0, NULL);
	matches(ovf, 0, HEAP_LEAK_DEFINITE, NULL);
	const char *addr = "# valgrind's\n{\n   a\n   Memcheck:Addr4\n   fun:make_node\n}\n";
	matches(addr, MC_USE_AFTER_FREE, 0, "a");
	matches(addr, MC_INVALID_FREE, 0, NULL);
	matches("{\n f\n Memcheck:Free\n fun:make_node\n}", MC_DOUBLE_FREE, 0, "f");
	matches("{\n c\n Memcheck:Cond\n fun:make_node\n}", MC_OVERFLOW, 0, NULL);
	matches("{\n any\n kiln:*\n}", MC_REALLOC_FREED, 0, "any");
}

static void test_frames(void **state)
{
	(void)state;
	matches("{\n w\n kiln:leak\n fun:make_*\n fun:tree_???ert\n}", 0, HEAP_LEAK_DEFINITE, "w");
	matches("{\n w\n kiln:leak\n fun:tree_insert\n}", 0, HEAP_LEAK_DEFINITE, NULL); /* not the innermost */
	matches("{\n d\n kiln:leak\n ...\n fun:main\n}", 0, HEAP_LEAK_DEFINITE, "d");
	matches("{\n d\n kiln:leak\n fun:make_node\n ...\n obj:*libfoo.so*\n fun:main\n}", 0, HEAP_LEAK_DEFINITE, "d");
	matches("{\n d\n kiln:leak\n ...\n fun:nowhere\n}", 0, HEAP_LEAK_DEFINITE, NULL);
	matches("{\n s\n kiln:leak\n src:tree.c:1?\n src:tree.c:40\n}", 0, HEAP_LEAK_DEFINITE, "s");
	matches("{\n s\n kiln:leak\n src:tree.c:13\n}", 0, HEAP_LEAK_DEFINITE, NULL);
	matches("{\n u\n kiln:leak\n fun:make_node\n fun:tree_insert\n fun:???\n}", 0, HEAP_LEAK_DEFINITE, "u");
	/* longer than the stack */
	matches("{\n l\n kiln:leak\n ...\n fun:main\n fun:after_main\n}", 0, HEAP_LEAK_DEFINITE, NULL);
	/* valgrind's stacks start in malloc, kiln's at its caller */
	matches("{\n v\n Memcheck:Leak\n match-leak-kinds: definite\n fun:malloc\n fun:make_node\n}", 0,
	        HEAP_LEAK_DEFINITE, "v");
	matches("{\n v\n Memcheck:Leak\n fun:_Znwm\n fun:make_node\n}", 0, HEAP_LEAK_POSSIBLE, "v");
}

static void test_leak_kinds(void **state)
{
	(void)state;
	const char *t = "{\n k\n kiln:leak\n match-leak-kinds: definite,possible\n}\n";
	matches(t, 0, HEAP_LEAK_DEFINITE, "k");
	matches(t, 0, HEAP_LEAK_POSSIBLE, "k");
	matches(t, 0, HEAP_LEAK_REACHABLE, NULL);
	matches("{\n k\n kiln:leak\n}\n", 0, HEAP_LEAK_REACHABLE, "k");
}

static void bad(const char *text, unsigned want_line, const char *want_why)
{
	struct mc_suppressions *s = NULL;
	unsigned line = 0;
	const char *why = NULL;
	assert_int_equal(mc_suppressions_parse(&s, text, strlen(text), &line, &why), -EINVAL);
	assert_int_equal(line, want_line);
	assert_non_null(strstr(why, want_why));
	mc_suppressions_free(s);
}

static void test_bad_files(void **state)
{
	(void)state;
	bad("fun:main\n", 1, "expected '{'");
	bad("{\n n\n kiln:nonsense\n}\n", 3, "expected the kind");
	bad("# c\n\n{\n n\n kiln:leak\n bogus:main\n}\n", 6, "a frame line is");
	bad("{\n n\n kiln:leak\n fun:\n}\n", 4, "empty pattern");
	bad("{\n n\n kiln:heap-overflow\n match-leak-kinds: definite\n}\n", 4, "for leak suppressions");
	bad("{\n n\n kiln:leak\n match-leak-kinds: lost\n}\n", 4, "match-leak-kinds takes");
	bad("{\n n\n kiln:leak\n fun:x\n", 1, "not closed");
	bad("{\n n\n kiln:leak\n{\n", 4, "not closed");
	bad("{\n}\n", 2, "starts with its name");
	/* a file cut anywhere is refused or read, never read past */
	const char *full = "{\n n\n kiln:leak\n fun:make_node\n ...\n}\n";
	for (size_t cut = 0; cut < strlen(full); cut++) {
		struct mc_suppressions *s = NULL;
		unsigned line = 0;
		const char *why = NULL;
		char *part = malloc(cut ? cut : 1);
		memcpy(part, full, cut);
		(void)mc_suppressions_parse(&s, part, cut, &line, &why);
		free(part);
		mc_suppressions_free(s);
	}
}

static void test_generated(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	mc_suppression_format(&sb, MC_DOUBLE_FREE, 0, &stack);
	assert_non_null(strstr(strbuf_str(&sb), "kiln:double-free\n   fun:make_node\n   fun:tree_insert\n"
	                                        "   obj:/usr/lib/libfoo.so.1\n   fun:main\n}\n"));
	matches(strbuf_str(&sb), MC_DOUBLE_FREE, 0, "<insert_a_suppression_name_here>");
	strbuf_reset(&sb);
	mc_suppression_format(&sb, 0, HEAP_LEAK_INDIRECT, &stack);
	assert_non_null(strstr(strbuf_str(&sb), "kiln:leak\n   match-leak-kinds: indirect\n"));
	matches(strbuf_str(&sb), 0, HEAP_LEAK_INDIRECT, "<insert_a_suppression_name_here>");
	matches(strbuf_str(&sb), 0, HEAP_LEAK_DEFINITE, NULL);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds),     cmocka_unit_test(test_frames),    cmocka_unit_test(test_leak_kinds),
	    cmocka_unit_test(test_bad_files), cmocka_unit_test(test_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
