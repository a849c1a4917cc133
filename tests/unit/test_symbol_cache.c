/* test_symbol_cache.c - the symbolizer's module cache keyed by build-id
 * (symbolizer.c): one binary under two paths is read once, a process
 * restarted from the same binary reads nothing, a binary rebuilt under its
 * path gets a module of its own while the old one still names the code of
 * the processes that run it, and the bound frees the least recently used
 * modules. Fixtures are compiled at test time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "run_cmd.h"

static char dir[1024];
static char src1[1200], src2[1200], exe1[1200], exe_copy[1200], exe_lib[1200], rebuilt[1200], staged[1200];

/* Two programs whose hot functions have other names and addresses: a
 * rebuild with a change. */
static const char v1_c[] = "__attribute__((noinline)) int alpha_work(int n)\n"
                           "{\n"
                           "\tint t = 0;\n"
                           "\tfor (int i = 0; i < n; i++)\n"
                           "\t\tt += i * 3;\n"
                           "\treturn t;\n"
                           "}\n"
                           "int main(int argc, char **argv)\n"
                           "{\n"
                           "\t(void)argv;\n"
                           "\treturn alpha_work(argc) & 1;\n"
                           "}\n";
static const char v2_c[] = "__attribute__((noinline)) int pad_a(int n) { return n * 7 + 1; }\n"
                           "__attribute__((noinline)) int pad_b(int n) { return pad_a(n) * 5 + 2; }\n"
                           "__attribute__((noinline)) int beta_work(int n)\n"
                           "{\n"
                           "\tint t = 0;\n"
                           "\tfor (int i = 0; i < n; i++)\n"
                           "\t\tt += i * 5 + pad_b(i);\n"
                           "\treturn t;\n"
                           "}\n"
                           "int main(int argc, char **argv)\n"
                           "{\n"
                           "\t(void)argv;\n"
                           "\treturn beta_work(argc) & 1;\n"
                           "}\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* A function's link-time address, from nm; in these PIE files (one
 * PT_LOAD per page-aligned offset, as ld lays them out) it is also its
 * file offset, which is what a mapping at pgoff 0 turns an address into. */
static uint64_t func_offset(const char *path, const char *name)
{
	char cmd[2600], line[512];
	snprintf(cmd, sizeof(cmd), "nm '%s'", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	uint64_t off = 0;
	while (fgets(line, sizeof(line), f)) {
		char type, sym[400];
		uint64_t v;
		if (sscanf(line, "%" SCNx64 " %c %399s", &v, &type, sym) == 3 && !strcmp(sym, name))
			off = v;
	}
	pclose(f);
	if (!off)
		fail_msg("no symbol '%s' in %s", name, path);
	return off;
}

static char *build_id(const char *path)
{
	static char hex[2][128];
	static int k;
	k ^= 1;
	assert_int_equal(symbols_file_build_id(path, hex[k], sizeof(hex[k])), 1);
	return hex[k];
}

/* A mapping of path (whole file at pgoff 0) in process pid, and one
 * location at file offset off in it; build_id NULL when not recorded. */
static uint32_t add_loc(struct profile *p, uint32_t pid, const char *path, const char *bid, uint64_t off)
{
	struct profile_mapping m = {.pid = pid, .start = 0x555555554000, .end = 0x555555580000};
	m.path = profile_intern(p, path);
	m.build_id = bid ? profile_intern(p, bid) : 0;
	uint32_t mid = profile_add_mapping(p, &m);
	return profile_location(p, mid, m.start + off, PROFILE_LOC_USER);
}

static const char *fn_name(const struct profile *p, uint32_t loc)
{
	const struct profile_location *l = &p->locations.v[loc];
	assert_true(l->nframes >= 1);
	return profile_str(p, p->frames.v[l->first_frame + l->nframes - 1].function);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/symcache-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(src1, sizeof(src1), "%s/v1.c", dir);
	snprintf(src2, sizeof(src2), "%s/v2.c", dir);
	snprintf(exe1, sizeof(exe1), "%s/prog", dir);
	snprintf(exe_copy, sizeof(exe_copy), "%s/prog_copy", dir);
	snprintf(exe_lib, sizeof(exe_lib), "%s/other", dir);
	snprintf(rebuilt, sizeof(rebuilt), "%s/app", dir);
	snprintf(staged, sizeof(staged), "%s/app.new", dir);
	write_file(src1, v1_c);
	write_file(src2, v2_c);
	if (run("cc -O1 -g -fPIE -pie -o '%s' '%s'", exe1, src1) || run("cp '%s' '%s'", exe1, exe_copy) ||
	    run("cc -O1 -g -fPIE -pie -o '%s' '%s'", exe_lib, src2))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf '%s'", dir);
	return 0;
}

/* One binary at two paths (a copy: another inode, one build-id) is read
 * once; a restarted process (another pid, the same file) reads nothing. */
static void test_shared_by_build_id(void **state)
{
	(void)state;
	struct symbolizer *s = symbolizer_new();
	uint64_t off = func_offset(exe1, "alpha_work");
	struct profile *p = profile_new();
	uint32_t a = add_loc(p, 100, exe1, NULL, off);
	uint32_t b = add_loc(p, 101, exe_copy, NULL, off);
	assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
	assert_string_equal(fn_name(p, a), "alpha_work");
	assert_string_equal(fn_name(p, b), "alpha_work");
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.loads, 1);
	assert_int_equal(st.modules, 1);
	profile_free(p);

	/* the restart: a new process, its own profile (as a new segment) */
	p = profile_new();
	uint32_t c = add_loc(p, 200, exe1, NULL, off);
	uint32_t d = add_loc(p, 201, exe_copy, build_id(exe1), off);
	assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
	assert_string_equal(fn_name(p, c), "alpha_work");
	assert_string_equal(fn_name(p, d), "alpha_work");
	uint64_t hits = st.hits;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.loads, 1);
	assert_true(st.hits >= hits + 2);
	profile_free(p);
	symbolizer_free(s);
}

/* A binary rebuilt at its path (written beside it and renamed over it, as
 * linkers and installers do): the process still running the old build
 * (its mapping recorded the old build-id) keeps the old names, the new
 * build gets its own module and names. */
static void test_rebuilt_same_path(void **state)
{
	(void)state;
	assert_int_equal(run("cp '%s' '%s'", exe1, rebuilt), 0);
	char old_bid[128];
	snprintf(old_bid, sizeof(old_bid), "%s", build_id(rebuilt));
	uint64_t old_off = func_offset(rebuilt, "alpha_work");
	struct symbolizer *s = symbolizer_new();
	struct profile *p = profile_new();
	uint32_t a = add_loc(p, 300, rebuilt, old_bid, old_off);
	assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
	assert_string_equal(fn_name(p, a), "alpha_work");
	profile_free(p);

	assert_int_equal(run("cc -O1 -g -fPIE -pie -o '%s' '%s' && mv '%s' '%s'", staged, src2, staged, rebuilt), 0);
	const char *new_bid = build_id(rebuilt);
	assert_string_not_equal(new_bid, old_bid);
	uint64_t new_off = func_offset(rebuilt, "beta_work");
	assert_true(new_off != old_off);
	p = profile_new();
	uint32_t old_loc = add_loc(p, 300, rebuilt, old_bid, old_off);  /* still running the old build */
	uint32_t new_loc = add_loc(p, 301, rebuilt, new_bid, new_off);  /* started from the new one */
	uint32_t unknown_bid = add_loc(p, 302, rebuilt, NULL, new_off); /* no build-id recorded: the file now */
	assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
	assert_string_equal(fn_name(p, old_loc), "alpha_work");
	assert_string_equal(fn_name(p, new_loc), "beta_work");
	assert_string_equal(fn_name(p, unknown_bid), "beta_work");
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.loads, 2);
	assert_int_equal(st.modules, 2);
	profile_free(p);
	symbolizer_free(s);
}

/* The bound: with room for one module, a second frees the first (the
 * least recently used), and the first is read again when needed, right. */
static void test_bound(void **state)
{
	(void)state;
	struct symbolizer *s = symbolizer_new();
	symbolizer_set_max_modules(s, 1);
	uint64_t off1 = func_offset(exe1, "alpha_work"), off2 = func_offset(exe_lib, "beta_work");
	const char *paths[] = {exe1, exe_lib, exe1};
	const uint64_t offs[] = {off1, off2, off1};
	const char *want[] = {"alpha_work", "beta_work", "alpha_work"};
	for (int i = 0; i < 3; i++) {
		struct profile *p = profile_new();
		uint32_t l = add_loc(p, 400, paths[i], NULL, offs[i]);
		assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
		assert_string_equal(fn_name(p, l), want[i]);
		profile_free(p);
		struct symbolizer_stats st;
		symbolizer_get_stats(s, &st);
		assert_int_equal(st.modules, 1);
		assert_int_equal(st.loads, (uint64_t)i + 1);
		assert_int_equal(st.evictions, (uint64_t)i);
	}
	/* unbounded (the default): both stay */
	symbolizer_set_max_modules(s, 0);
	struct profile *p = profile_new();
	uint32_t l1 = add_loc(p, 500, exe1, NULL, off1);
	uint32_t l2 = add_loc(p, 501, exe_lib, NULL, off2);
	assert_int_equal(symbols_resolve_profile_with(p, s, NULL), 0);
	assert_string_equal(fn_name(p, l1), "alpha_work");
	assert_string_equal(fn_name(p, l2), "beta_work");
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.modules, 2);
	profile_free(p);
	symbolizer_free(s);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Results are cached per module in runs of consecutive file offsets: every
 * offset of a stretch spanning several runs, looked up in a scrambled
 * order and again, names what a symbolizer that never saw another offset
 * names, and the module is read once. */
static void test_offsets_in_runs(void **state)
{
	(void)state;
	enum { SPAN = 160, STRIDE = 7 }; /* ten runs of 16; 7 is prime to 160 */
	uint64_t first = func_offset(exe_lib, "pad_a");
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame got[8], want[8];
	int named = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < SPAN; k++) {
			uint64_t off = first + (uint64_t)((k * STRIDE) % SPAN);
			int n = symbolizer_lookup_file(s, exe_lib, off, got, 8);
			struct symbolizer *fresh = symbolizer_new();
			int m = symbolizer_lookup_file(fresh, exe_lib, off, want, 8);
			assert_int_equal(n, m);
			named += n > 0 && got[n - 1].function && !strcmp(got[n - 1].function, "pad_a");
			for (int i = 0; i < n; i++) {
				assert_true(same_str(got[i].function, want[i].function));
				assert_true(same_str(got[i].file, want[i].file));
				assert_int_equal(got[i].line, want[i].line);
			}
			symbolizer_free(fresh);
		}
	}
	assert_true(named >= 2); /* pad_a's first instructions, each pass */
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.loads, 1);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_by_build_id),
	    cmocka_unit_test(test_rebuilt_same_path),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_offsets_in_runs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
