/* test_name_cache.c - the symbolizer's persistent name cache
 * (name_cache.c): a stripped C program with a separate debug file is named
 * the same for every file offset by a cold symbolizer and by a warm one
 * that reads the file (and names nothing itself); a file made by another
 * kiln build, for another debug file, cut or garbled is ignored and
 * written anew; nothing is written when the cache is off. And a stripped
 * program's module takes its unstripped twin's symbols. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbols/symbols_int.h"
#include "util/strbuf.h"
#include "inline_fixture.h"
#include "run_cmd.h"

static char dir[1024];
static char full[1200], stripped[1200], dbgdir[1200], dbgfile[1400], cache[1200], names[1400], build_id[130];
static uint64_t file_size;

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/name-cache-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	snprintf(full, sizeof(full), "%s/fix_full", dir);
	snprintf(stripped, sizeof(stripped), "%s/fix", dir);
	snprintf(dbgdir, sizeof(dbgdir), "%s/dbg", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	if (run("mkdir -p '%s' && printf '%%s' '%s' > '%s/fix.c'", dir, fixture_c, dir) ||
	    run("cc -O2 -g -o '%s' '%s/fix.c' && strip -o '%s' '%s'", full, dir, stripped, full))
		return -1;
	if (symbols_file_build_id(stripped, build_id, sizeof(build_id)) != 1)
		return -1;
	snprintf(dbgfile, sizeof(dbgfile), "%s/.build-id/%.2s/%s.debug", dbgdir, build_id, build_id + 2);
	snprintf(names, sizeof(names), "%s/%s.names", cache, build_id);
	if (run("mkdir -p \"$(dirname '%s')\" && objcopy --only-keep-debug '%s' '%s'", dbgfile, full, dbgfile))
		return -1;
	struct stat st;
	if (stat(stripped, &st) != 0)
		return -1;
	file_size = (uint64_t)st.st_size;
	symbols_set_debug_dirs(dbgdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	symbols_set_debug_dirs(NULL);
	symbols_set_debug_cache(NULL);
	symbols_set_name_cache_build(NULL);
	run("rm -rf '%s'", dir);
	return 0;
}

/* Every field of every frame of every file offset of the program, as
 * text, into sb; the symbolizer's stats into st (after it was freed: what
 * it wrote). */
static void name_module(struct symbolizer *s, int id, struct strbuf *sb)
{
	strbuf_reset(sb);
	for (uint64_t off = 0; off < file_size; off++) {
		const struct sym_frame *f;
		int n = symbolizer_lookup_ids(s, id, off, &f);
		strbuf_addf(sb, "%llx:%d", (unsigned long long)off, n);
		for (int i = 0; i < n; i++)
			strbuf_addf(sb, " [%s|%s|%u|%s|%u]", strtab_get(&s->strs, f[i].function),
			            strtab_get(&s->strs, f[i].file), f[i].line, strtab_get(&s->strs, f[i].alias),
			            f[i].flags);
		strbuf_addch(sb, '\n');
	}
}

static void name_all(struct strbuf *sb, struct symbolizer_stats *st)
{
	struct symbolizer *s = symbolizer_new();
	int id = symbolizer_module(s, stripped);
	assert_true(id >= 0);
	name_module(s, id, sb);
	symbolizer_save_names(s);
	symbolizer_get_stats(s, st);
	symbolizer_free(s);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_off_writes_nothing(void **state)
{
	(void)state;
	struct strbuf a = STRBUF_INIT;
	struct symbolizer_stats st;
	symbols_set_debug_cache("");
	name_all(&a, &st);
	assert_int_equal(st.names_written, 0);
	symbols_set_debug_cache(cache);
	setenv("KILN_NAME_CACHE", "off", 1);
	name_all(&a, &st);
	unsetenv("KILN_NAME_CACHE");
	assert_int_equal(st.names_written, 0);
	assert_int_equal(st.names_read, 0);
	assert_false(exists(names));
	symbols_set_debug_cache("");
	strbuf_release(&a);
}

/* The names, a cold symbolizer's and a warm one's, equal plain; the warm
 * one read every offset from the file and wrote nothing. */
static void check_cold_then_warm(const struct strbuf *plain)
{
	struct strbuf got = STRBUF_INIT;
	struct symbolizer_stats st;
	name_all(&got, &st);
	assert_string_equal(strbuf_str(&got), strbuf_str(plain));
	assert_int_equal(st.names_read, 0);
	assert_int_equal(st.names_written, 1);
	assert_true(exists(names));
	name_all(&got, &st);
	assert_string_equal(strbuf_str(&got), strbuf_str(plain));
	assert_int_equal(st.names_read, file_size);
	assert_int_equal(st.names_written, 0);
	strbuf_release(&got);
}

static void test_cold_then_warm(void **state)
{
	(void)state;
	struct strbuf plain = STRBUF_INIT;
	struct symbolizer_stats st;
	symbols_set_debug_cache("");
	name_all(&plain, &st);
	assert_non_null(strstr(strbuf_str(&plain), "outer_work|"));
	assert_non_null(strstr(strbuf_str(&plain), "inner_add|"));
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	check_cold_then_warm(&plain);

	/* another kiln build: ignored, written anew, then used */
	symbols_set_name_cache_build("0123456789abcdef");
	check_cold_then_warm(&plain);
	symbols_set_name_cache_build(NULL);
	check_cold_then_warm(&plain);

	/* the debug file changed (its mtime here) */
	assert_int_equal(run("touch -d '2001-02-03 04:05:06' '%s'", dbgfile), 0);
	check_cold_then_warm(&plain);
	symbols_set_debug_cache("");
	strbuf_release(&plain);
}

static void test_damaged_is_rebuilt(void **state)
{
	(void)state;
	struct strbuf plain = STRBUF_INIT;
	struct symbolizer_stats st;
	symbols_set_debug_cache("");
	name_all(&plain, &st);
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	check_cold_then_warm(&plain);
	struct stat good;
	assert_int_equal(stat(names, &good), 0);
	/* cut in half, a name changed (only the checksum tells), garbage, empty */
	const char *damage[] = {
	    "truncate -s %lld '%s'",
	    ("python3 -c 'import sys; f = open(sys.argv[2], \"r+b\"); d = f.read(); i = d.index(b\"outer_work\"); "
	     "f.seek(i); f.write(b\"O\")' %lld '%s'"),
	    "head -c %lld /dev/urandom > '%s'",
	    "truncate -s 0 '%2$s' # %1$lld",
	};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(run(damage[i], (long long)good.st_size / 2, names), 0);
		check_cold_then_warm(&plain);
		struct stat now;
		assert_int_equal(stat(names, &now), 0);
		assert_int_equal(now.st_size, good.st_size);
	}
	symbols_set_debug_cache("");
	strbuf_release(&plain);
}

/* The stripped program, then its unstripped twin (one build-id, no debug
 * file): the module reads the twin from then on, for both paths, and
 * keeps its name cache apart. */
static void test_stripped_then_full_twin(void **state)
{
	(void)state;
	char none[1300];
	snprintf(none, sizeof(none), "%s/no-debug", dir);
	symbols_set_debug_dirs(none);
	symbols_set_debug_cache("");
	struct strbuf sb = STRBUF_INIT;
	struct symbolizer *s = symbolizer_new();
	int id = symbolizer_module(s, stripped);
	assert_true(id >= 0);
	name_module(s, id, &sb);
	assert_null(strstr(strbuf_str(&sb), "outer_work|"));
	assert_non_null(strstr(strbuf_str(&sb), "[sub_"));
	assert_int_equal(symbolizer_module(s, full), id);
	name_module(s, id, &sb);
	assert_non_null(strstr(strbuf_str(&sb), "outer_work|"));
	assert_non_null(strstr(strbuf_str(&sb), "inner_add|"));
	assert_int_equal(symbolizer_module(s, stripped), id);
	name_module(s, id, &sb);
	assert_non_null(strstr(strbuf_str(&sb), "outer_work|"));
	symbolizer_free(s);

	/* found by build-id (a mapping that carries one): a file of another
	 * build at the mapping's path is not taken, the twin is */
	s = symbolizer_new();
	id = symbolizer_module(s, stripped);
	assert_int_equal(symbolizer_module_by_build_id(s, build_id, "/bin/sh"), id);
	name_module(s, id, &sb);
	assert_null(strstr(strbuf_str(&sb), "outer_work|"));
	assert_int_equal(symbolizer_module_by_build_id(s, build_id, full), id);
	name_module(s, id, &sb);
	assert_non_null(strstr(strbuf_str(&sb), "outer_work|"));
	symbolizer_free(s);

	/* the other way round, the stripped file is named by the first */
	s = symbolizer_new();
	id = symbolizer_module(s, full);
	assert_int_equal(symbolizer_module(s, stripped), id);
	name_module(s, id, &sb);
	assert_non_null(strstr(strbuf_str(&sb), "outer_work|"));
	symbolizer_free(s);
	strbuf_release(&sb);
	symbols_set_debug_dirs(dbgdir);
}

/* A module whose lookups named nothing (a header's offsets) writes a
 * names file with no strings, and a warm symbolizer reads it back. */
static void test_nothing_named(void **state)
{
	(void)state;
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	for (int pass = 0; pass < 2; pass++) {
		struct symbolizer *s = symbolizer_new();
		int id = symbolizer_module(s, stripped);
		assert_true(id >= 0);
		for (uint64_t off = 0; off < 16; off++) {
			const struct sym_frame *f;
			assert_int_equal(symbolizer_lookup_ids(s, id, off, &f), 0);
		}
		symbolizer_save_names(s);
		struct symbolizer_stats st;
		symbolizer_get_stats(s, &st);
		assert_int_equal(st.names_written, pass == 0);
		assert_int_equal(st.names_read, pass == 0 ? 0 : 16);
		symbolizer_free(s);
	}
	symbols_set_debug_cache("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off_writes_nothing), cmocka_unit_test(test_cold_then_warm),
	    cmocka_unit_test(test_damaged_is_rebuilt), cmocka_unit_test(test_stripped_then_full_twin),
	    cmocka_unit_test(test_nothing_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
