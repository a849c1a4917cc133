/* test_debug_cache.c - the cache of decompressed debug files: a stripped C
 * program whose separate debug file (by build-id) has zlib-compressed
 * DWARF is named the same with and without the cache, the cache is
 * written once and then used (even with the original debug file gone), a
 * cut or garbled cache file is ignored and rebuilt, and nothing is written
 * when the cache is off. The first read inflates the build-id debug file
 * into the cache before libdw opens it (libdw maps the copy, never the
 * compressed file), and the copy is byte for byte the one libelf's own
 * inflate gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "symbols/symbols_int.h"
#include "inline_fixture.h"
#include "run_cmd.h"

static char dir[1024];
static char full[1200], stripped[1200], dbgdir[1200], dbgfile[1400], cache[1200], cached[1400];
static uint64_t work_off, work_size;

/* outer_work's file offset and size in the unstripped file. */
static bool find_work(const char *path)
{
	bool found = false;
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	uint64_t value = 0;
	Elf_Scn *scn = NULL;
	while (elf && !found && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n =
			    gelf_getsym(data, (int)i, &sym) ? elf_strptr(elf, sh.sh_link, sym.st_name) : NULL;
			if (n && strcmp(n, "outer_work") == 0) {
				value = sym.st_value;
				work_size = sym.st_size;
				found = true;
				break;
			}
		}
	}
	size_t n = 0;
	if (found && elf_getphdrnum(elf, &n) == 0) {
		found = false;
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && value >= ph.p_vaddr &&
			    value - ph.p_vaddr < ph.p_filesz) {
				work_off = value - ph.p_vaddr + ph.p_offset;
				found = true;
			}
		}
	}
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/debug-cache-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	snprintf(full, sizeof(full), "%s/fix_full", dir);
	snprintf(stripped, sizeof(stripped), "%s/fix", dir);
	snprintf(dbgdir, sizeof(dbgdir), "%s/dbg", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	if (run("mkdir -p '%s' && printf '%%s' '%s' > '%s/fix.c'", dir, fixture_c, dir) ||
	    run("cc -O2 -g -o '%s' '%s/fix.c' && strip -o '%s' '%s'", full, dir, stripped, full) || !find_work(full))
		return -1;
	char bid[130];
	if (symbols_file_build_id(stripped, bid, sizeof(bid)) != 1)
		return -1;
	snprintf(dbgfile, sizeof(dbgfile), "%s/.build-id/%.2s/%s.debug", dbgdir, bid, bid + 2);
	snprintf(cached, sizeof(cached), "%s/%s.debug", cache, bid);
	if (run("mkdir -p \"$(dirname '%s')\" && objcopy --only-keep-debug --compress-debug-sections=zlib '%s' '%s'",
	        dbgfile, full, dbgfile))
		return -1;
	symbols_set_debug_dirs(dbgdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	symbols_set_debug_dirs(NULL);
	run("rm -rf '%s'", dir);
	return 0;
}

/* Every frame of every address of outer_work, as text, into buf. */
static void frames_of_work(char *buf, size_t cap)
{
	struct symbolizer *s = symbolizer_new();
	size_t len = 0;
	buf[0] = '\0';
	for (uint64_t o = work_off; o < work_off + work_size; o++) {
		struct symbol_frame f[8];
		int n = symbolizer_lookup_file(s, stripped, o, f, 8);
		for (int i = 0; i < n && len < cap; i++)
			len += (size_t)snprintf(buf + len, cap - len, "%s %s:%u%s", f[i].function ? f[i].function : "?",
			                        f[i].file ? f[i].file : "?", f[i].line, i + 1 < n ? " < " : "\n");
	}
	assert_true(len < cap);
	symbolizer_free(s);
}

/* The names that only the debug file gives: outer_work with a line, and
 * inner_add inlined into it. */
static void check_named(const char *frames)
{
	assert_non_null(strstr(frames, "outer_work "));
	assert_non_null(strstr(frames, "inner_add "));
	assert_non_null(strstr(frames, " < outer_work "));
	assert_null(strstr(frames, "outer_work ?:0"));
}

/* The cached file: ELF, and no compressed section left. */
static bool cached_is_decompressed(void)
{
	int fd = open(cached, O_RDONLY);
	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	bool ok = elf && elf_kind(elf) == ELF_K_ELF;
	bool any_debug = false;
	size_t shstrndx;
	ok = ok && elf_getshdrstrndx(elf, &shstrndx) == 0;
	Elf_Scn *scn = NULL;
	while (ok && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		ok = gelf_getshdr(scn, &sh) && !(sh.sh_flags & SHF_COMPRESSED);
		const char *name = ok ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (name && strcmp(name, ".debug_info") == 0)
			any_debug = true;
	}
	elf_end(elf);
	close(fd);
	return ok && any_debug;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

enum { FRAMES_CAP = 1 << 20 };

static void test_off_writes_nothing(void **state)
{
	(void)state;
	char *plain = malloc(FRAMES_CAP);
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache("");
	frames_of_work(plain, FRAMES_CAP);
	check_named(plain);
	assert_int_equal(size_of(cache), -1);
	/* the environment turns it off too */
	setenv("KILN_DEBUG_CACHE", "off", 1);
	symbols_set_debug_cache(NULL);
	frames_of_work(plain, FRAMES_CAP);
	check_named(plain);
	assert_int_equal(size_of(cache), -1);
	unsetenv("KILN_DEBUG_CACHE");
	free(plain);
}

static void test_written_then_used(void **state)
{
	(void)state;
	char *plain = malloc(FRAMES_CAP), *first = malloc(FRAMES_CAP), *later = malloc(FRAMES_CAP);
	char moved[1500];
	symbols_set_debug_cache("");
	frames_of_work(plain, FRAMES_CAP);
	run("rm -rf '%s'", cache);
	/* through the environment, as a user sets it */
	setenv("KILN_DEBUG_CACHE", cache, 1);
	symbols_set_debug_cache(NULL);
	frames_of_work(first, FRAMES_CAP); /* the environment is read here, on first use */
	unsetenv("KILN_DEBUG_CACHE");
	assert_string_equal(first, plain);
	assert_true(cached_is_decompressed());
	/* the cached copy alone names the program: it is what is read */
	snprintf(moved, sizeof(moved), "%s.away", dbgfile);
	assert_int_equal(rename(dbgfile, moved), 0);
	frames_of_work(later, FRAMES_CAP);
	assert_int_equal(rename(moved, dbgfile), 0);
	assert_string_equal(later, plain);
	symbols_set_debug_cache("");
	free(plain);
	free(first);
	free(later);
}

static void test_damaged_is_rebuilt(void **state)
{
	(void)state;
	char *plain = malloc(FRAMES_CAP), *got = malloc(FRAMES_CAP);
	symbols_set_debug_cache("");
	frames_of_work(plain, FRAMES_CAP);
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	frames_of_work(got, FRAMES_CAP);
	off_t good = size_of(cached);
	assert_true(good > 0);
	/* cut in half, then garbage, then a valid ELF of another build-id */
	const char *damage[] = {"truncate -s %lld '%s'", "head -c %lld /dev/urandom > '%s'", NULL};
	for (int i = 0; i < 3; i++) {
		if (damage[i])
			assert_int_equal(run(damage[i], (long long)good / 2, cached), 0);
		else
			assert_int_equal(run("cp '%s' '%s'", "/bin/sh", cached), 0);
		frames_of_work(got, FRAMES_CAP);
		assert_string_equal(got, plain);
		assert_int_equal(size_of(cached), good);
		assert_true(cached_is_decompressed());
	}
	symbols_set_debug_cache("");
	free(plain);
	free(got);
}

/* Whether a mapping of path is in /proc/self/maps. */
static bool mapped(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;
	size_t len = strlen(path);
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, path);
		found = at && (at[len] == '\n' || at[len] == '\0');
	}
	if (f)
		fclose(f);
	return found;
}

static void test_first_read_maps_copy(void **state)
{
	(void)state;
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[8];
	assert_true(symbolizer_lookup_file(s, stripped, work_off, f, 8) > 0);
	assert_string_equal(f[0].function, "outer_work");
	/* libdw reads the inflated copy, not the compressed file it was made of */
	assert_true(mapped(cached));
	assert_false(mapped(dbgfile));
	symbolizer_free(s);
	symbols_set_debug_cache("");
}

/* The copy written from a file whose sections libelf inflated (as the
 * cache was first written, from libdw's Elf) into path. */
static void store_from_libelf(const char *path)
{
	int fd = open(dbgfile, O_RDONLY);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(elf);
	Elf_Scn *scn = NULL;
	int inflated = 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		assert_non_null(gelf_getshdr(scn, &sh));
		if (sh.sh_flags & SHF_COMPRESSED) {
			assert_true(elf_compress(scn, 0, 0) >= 0);
			inflated++;
		}
	}
	assert_true(inflated > 1);
	unsigned char bits[64];
	char bid[130];
	assert_int_equal(symbols_file_build_id(stripped, bid, sizeof(bid)), 1);
	int n = (int)strlen(bid) / 2;
	for (int i = 0; i < n; i++)
		sscanf(bid + 2 * i, "%2hhx", &bits[i]);
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	assert_int_equal(debug_cache_store(elf, bits, n), 0);
	elf_end(elf);
	close(fd);
	assert_int_equal(run("mv '%s' '%s'", cached, path), 0);
}

static void test_copy_same_as_libelf(void **state)
{
	(void)state;
	char ref[1500];
	snprintf(ref, sizeof(ref), "%s/libelf.debug", dir);
	store_from_libelf(ref);
	run("rm -rf '%s'", cache);
	symbols_set_debug_cache(cache);
	char *got = malloc(FRAMES_CAP);
	frames_of_work(got, FRAMES_CAP);
	check_named(got);
	assert_true(cached_is_decompressed());
	assert_int_equal(run("cmp -s '%s' '%s'", ref, cached), 0);
	symbols_set_debug_cache("");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off_writes_nothing),  cmocka_unit_test(test_written_then_used),
	    cmocka_unit_test(test_damaged_is_rebuilt),  cmocka_unit_test(test_first_read_maps_copy),
	    cmocka_unit_test(test_copy_same_as_libelf),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
