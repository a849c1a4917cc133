/* test_symbols.c - the symbolizer on fixtures compiled at test time: a C
 * program (PIE, non-PIE, shared object, stripped) with a forced inline,
 * Rust programs with legacy and v0 mangling, kallsyms files, and a whole
 * profile through symbols_resolve_profile. */
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
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "symbols/symbols_int.h"
#include "run_cmd.h"

static char dir[1024];
static char src_c[1200], exe_pie[1200], exe_nopie[1200], lib_so[1200], exe_stripped[1200], exe_twin[1200];
static char src_rs[1200], rs_legacy[1200], rs_v0[1200];
static bool have_rust;

static const char fixture_c[] = "#include <stdio.h>\n"
                                "static int sink;\n"
                                "static inline __attribute__((always_inline)) int inner_add(int x)\n"
                                "{\n"
                                "\tsink += x * 3; /* MARK_INNER */\n"
                                "\treturn sink;\n"
                                "}\n"
                                "__attribute__((noinline)) int outer_work(int n)\n"
                                "{\n"
                                "\tint t = 0;\n"
                                "\tfor (int i = 0; i < n; i++)\n"
                                "\t\tt += inner_add(i); /* MARK_CALL */\n"
                                "\treturn t;\n"
                                "}\n"
                                "__attribute__((noinline)) static int static_helper(int n)\n"
                                "{\n"
                                "\treturn outer_work(n) + sink * 7; /* MARK_STATIC */\n"
                                "}\n"
                                "int gi_style(int n) __asm__(\"__GI_gi_style\");\n"
                                "__attribute__((noinline)) int gi_style(int n)\n"
                                "{\n"
                                "\treturn n * 5 + sink;\n"
                                "}\n"
                                "int main(int argc, char **argv)\n"
                                "{\n"
                                "\t(void)argv;\n"
                                "\tprintf(\"%d\\n\", static_helper(argc * 1000) + gi_style(argc));\n"
                                "\treturn 0;\n"
                                "}\n";

static const char fixture_rs[] =
    "trait Trait { fn method(&self, x: u64) -> u64; }\n"
    "struct Foo(u64);\n"
    "impl Trait for Foo {\n"
    "    #[inline(never)]\n"
    "    fn method(&self, x: u64) -> u64 { leaf(x ^ self.0) }\n"
    "}\n"
    "mod work {\n"
    "    #[inline(never)]\n"
    "    pub fn leaf(x: u64) -> u64 { std::hint::black_box(x.wrapping_mul(31)) }\n"
    "    #[inline(always)]\n"
    "    pub fn mid(x: u64) -> u64 { leaf(x) + 1 } // MARK_MID\n"
    "}\n"
    "use work::leaf;\n"
    "#[inline(never)]\n"
    "fn run(t: &dyn Trait, n: u64) -> u64 {\n"
    "    let mut s = 0;\n"
    "    for i in 0..n { s += t.method(i) + work::mid(i); } // MARK_RUN\n"
    "    s\n"
    "}\n"
    "fn main() { let f = Foo(std::env::args().count() as u64); println!(\"{}\", run(&f, 1000)); }\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The line of the first source line containing marker. */
static unsigned marker_line(const char *text, const char *marker)
{
	const char *hit = strstr(text, marker);
	assert_non_null(hit);
	unsigned line = 1;
	for (const char *p = text; p < hit; p++)
		line += *p == '\n';
	return line;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* path opened for libelf to read, with its fd in *fd; NULL (and *fd -1)
 * when it cannot be opened. Closed by elf_close(). */
static Elf *elf_open(const char *path, int *fd)
{
	elf_version(EV_CURRENT);
	*fd = open(path, O_RDONLY);
	return *fd >= 0 ? elf_begin(*fd, ELF_C_READ, NULL) : NULL;
}

static void elf_close(Elf *elf, int fd)
{
	elf_end(elf);
	if (fd >= 0)
		close(fd);
}

/* A symbol's link-time address and size, found by exact name or (when
 * contains is set) as a substring, in symtab or dynsym. */
static bool elf_symbol(const char *path, const char *name, bool contains, uint64_t *value, uint64_t *size)
{
	bool found = false;
	int fd;
	Elf *elf = elf_open(path, &fd);
	Elf_Scn *scn = NULL;
	while (elf && !found && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
				continue;
			const char *n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && (contains ? strstr(n, name) != NULL : strcmp(n, name) == 0)) {
				*value = sym.st_value;
				*size = sym.st_size;
				found = true;
				break;
			}
		}
	}
	elf_close(elf, fd);
	return found;
}

/* The link-time address and size of the section called name; false when
 * there is none. */
static bool elf_section(const char *path, const char *name, uint64_t *addr, uint64_t *size)
{
	bool found = false;
	int fd;
	Elf *elf = elf_open(path, &fd);
	size_t shstrndx = 0;
	Elf_Scn *scn = NULL;
	while (elf && !found && !elf_getshdrstrndx(elf, &shstrndx) && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *n = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (n && !strcmp(n, name)) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			found = true;
		}
	}
	elf_close(elf, fd);
	return found;
}

/* The file offset holding a link-time address, through PT_LOAD. */
static uint64_t vaddr_to_offset(const char *path, uint64_t vaddr)
{
	uint64_t off = UINT64_MAX;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t n = 0;
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr - ph.p_vaddr < ph.p_filesz)
			off = vaddr - ph.p_vaddr + ph.p_offset;
	}
	elf_end(elf);
	close(fd);
	assert_true(off != UINT64_MAX);
	return off;
}

static uint64_t symbol_offset(const char *path, const char *name, bool contains, uint64_t *size)
{
	uint64_t value = 0, sz = 0;
	if (!elf_symbol(path, name, contains, &value, &sz))
		fail_msg("no symbol '%s' in %s", name, path);
	if (size)
		*size = sz;
	return vaddr_to_offset(path, value);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KILN_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/symbols-test-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(src_c, sizeof(src_c), "%s/fix.c", dir);
	snprintf(exe_pie, sizeof(exe_pie), "%s/fix_pie", dir);
	snprintf(exe_nopie, sizeof(exe_nopie), "%s/fix_nopie", dir);
	snprintf(lib_so, sizeof(lib_so), "%s/libfix.so", dir);
	snprintf(exe_stripped, sizeof(exe_stripped), "%s/fix_stripped", dir);
	snprintf(exe_twin, sizeof(exe_twin), "%s/fix_twin", dir);
	write_file(src_c, fixture_c);
	if (run("cc -O2 -g -fPIE -pie -o %s %s", exe_pie, src_c) ||
	    run("cc -O2 -g -fno-pie -no-pie -o %s %s", exe_nopie, src_c) ||
	    run("cc -O2 -g -fPIC -shared -o %s %s", lib_so, src_c) ||
	    run("cc -O2 -g -rdynamic -o %s %s && strip -o %s %s", exe_twin, src_c, exe_stripped, exe_twin))
		return -1;
	snprintf(src_rs, sizeof(src_rs), "%s/fx.rs", dir);
	snprintf(rs_legacy, sizeof(rs_legacy), "%s/fx_legacy", dir);
	snprintf(rs_v0, sizeof(rs_v0), "%s/fx_v0", dir);
	write_file(src_rs, fixture_rs);
	have_rust = run("rustc --version >/dev/null 2>&1") == 0;
	if (have_rust) {
		if (run("rustc -C opt-level=1 -g -o %s %s", rs_legacy, src_rs))
			return -1;
		/* stable rustc takes -C symbol-mangling-version=v0; older ones need -Z */
		if (run("rustc -C opt-level=1 -g -C symbol-mangling-version=v0 -o %s %s 2>/dev/null", rs_v0, src_rs) &&
		    run("RUSTC_BOOTSTRAP=1 rustc -C opt-level=1 -g -Z symbol-mangling-version=v0 -o %s %s", rs_v0,
		        src_rs))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf '%s'", dir);
	return 0;
}

/* Scans [off, off + size) for an address inside an inlined copy of
 * `inner` (frame 0) in `outer` (frame 1); returns its offset or UINT64_MAX. */
static uint64_t find_inlined(struct symbolizer *s, const char *path, uint64_t off, uint64_t size, const char *inner,
                             const char *outer)
{
	for (uint64_t o = off; o < off + size; o++) {
		struct symbol_frame f[8];
		int n = symbolizer_lookup_file(s, path, o, f, 8);
		if (n >= 2 && f[0].function && f[1].function && strcmp(f[0].function, inner) == 0 &&
		    strcmp(f[1].function, outer) == 0)
			return o;
	}
	return UINT64_MAX;
}

static void check_c_module(const char *path)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t size;
	uint64_t off = symbol_offset(path, "outer_work", false, &size);
	assert_true(size > 0);

	struct symbol_frame f[8];
	int n = symbolizer_lookup_file(s, path, off, f, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "outer_work");
	assert_non_null(f[0].file);
	assert_true(f[0].file[0] == '/'); /* made absolute with the CU directory */
	assert_string_equal(base_of(f[0].file), "fix.c");
	unsigned first_line = marker_line(fixture_c, "__attribute__((noinline)) int outer_work");
	assert_true(f[0].line >= first_line && f[0].line <= first_line + 5);

	/* an address in the inlined inner_add: innermost first, the inlined
	 * frame at its own line, the caller at the call site */
	uint64_t inl = find_inlined(s, path, off, size, "inner_add", "outer_work");
	assert_true(inl != UINT64_MAX);
	n = symbolizer_lookup_file(s, path, inl, f, 8);
	assert_int_equal(n, 2);
	assert_string_equal(base_of(f[0].file), "fix.c");
	assert_int_equal(f[0].line, marker_line(fixture_c, "MARK_INNER"));
	assert_string_equal(base_of(f[1].file), "fix.c");
	assert_int_equal(f[1].line, marker_line(fixture_c, "MARK_CALL"));

	/* max limits the frames written, innermost kept */
	n = symbolizer_lookup_file(s, path, inl, f, 1);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "inner_add");

	/* the static function is named from DWARF */
	uint64_t soff = symbol_offset(path, "static_helper", true, NULL);
	n = symbolizer_lookup_file(s, path, soff, f, 8);
	assert_true(n >= 1);
	assert_non_null(strstr(f[n - 1].function, "static_helper"));

	/* glibc's internal alias alone (__GI_NAME, as ld.so's
	 * __GI___tunables_init): named NAME */
	uint64_t goff = symbol_offset(path, "__GI_gi_style", false, NULL);
	n = symbolizer_lookup_file(s, path, goff, f, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "gi_style");

	/* far past the end of the file: nothing known, not an error */
	assert_int_equal(symbolizer_lookup_file(s, path, 1ULL << 40, f, 8), 0);
	symbolizer_free(s);
}

static void test_pie(void **state)
{
	(void)state;
	check_c_module(exe_pie);
}

static void test_non_pie(void **state)
{
	(void)state;
	/* link-time addresses 0x40xxxx, file offsets small: PT_LOAD decides */
	uint64_t value, size;
	assert_true(elf_symbol(exe_nopie, "outer_work", false, &value, &size));
	assert_true(value >= 0x400000);
	check_c_module(exe_nopie);
}

static void test_shared_object(void **state)
{
	(void)state;
	check_c_module(lib_so);
}

static void test_stripped(void **state)
{
	(void)state;
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[8];
	/* offsets are the same as in the unstripped twin it was made from */
	uint64_t off = symbol_offset(exe_twin, "outer_work", false, NULL);
	int n = symbolizer_lookup_file(s, exe_stripped, off, f, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "outer_work"); /* from dynsym (-rdynamic) */
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	/* a static function has no name left at all */
	uint64_t soff = symbol_offset(exe_twin, "static_helper", true, NULL);
	n = symbolizer_lookup_file(s, exe_stripped, soff, f, 8);
	assert_true(n == 0 || (f[0].function && strstr(f[0].function, "static_helper") == NULL));
	/* .init's and .fini's code are _init and _fini without a symbol for
	 * them (objdump's and gdb's names), from their first byte to their
	 * last but no further: .plt follows .init */
	static const char *const secs[][2] = {{".init", "_init"}, {".fini", "_fini"}};
	for (size_t k = 0; k < 2; k++) {
		uint64_t addr = 0, size = 0;
		assert_true(elf_section(exe_stripped, secs[k][0], &addr, &size));
		assert_true(size > 1);
		uint64_t off = vaddr_to_offset(exe_stripped, addr);
		const uint64_t probes[2] = {off, off + size - 1};
		for (size_t i = 0; i < 2; i++) {
			n = symbolizer_lookup_file(s, exe_stripped, probes[i], f, 8);
			assert_int_equal(n, 1);
			assert_string_equal(f[0].function, secs[k][1]);
		}
		n = symbolizer_lookup_file(s, exe_stripped, off + size, f, 8);
		assert_true(n == 0 || !f[0].function || strcmp(f[0].function, secs[k][1]) != 0);
	}
	symbolizer_free(s);
}

static void test_missing_and_bad_files(void **state)
{
	(void)state;
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[4];
	char path[1300];
	snprintf(path, sizeof(path), "%s/does-not-exist.so", dir);
	assert_int_equal(symbolizer_lookup_file(s, path, 0x1000, f, 4), -ENOENT);
	/* cached: the same answer again */
	assert_int_equal(symbolizer_lookup_file(s, path, 0x1000, f, 4), -ENOENT);
	assert_int_equal(symbolizer_lookup_file(s, src_c, 0x10, f, 4), -ENOEXEC);
	assert_int_equal(symbolizer_lookup_file(s, dir, 0x10, f, 4), -ENOEXEC);
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, "");
	assert_int_equal(symbolizer_lookup_file(s, path, 0, f, 4), -ENOEXEC);
	symbolizer_free(s);
}

static void check_rust(const char *path, const char *leaf_sym, const char *method_sym)
{
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[16];
	uint64_t off = symbol_offset(path, leaf_sym, true, NULL);
	int n = symbolizer_lookup_file(s, path, off, f, 16);
	assert_true(n >= 1);
	assert_string_equal(f[n - 1].function, "fx::work::leaf");
	assert_string_equal(base_of(f[n - 1].file), "fx.rs");

	off = symbol_offset(path, method_sym, true, NULL);
	n = symbolizer_lookup_file(s, path, off, f, 16);
	assert_true(n >= 1);
	assert_string_equal(f[n - 1].function, "<fx::Foo as fx::Trait>::method");

	/* work::mid is always inlined into run */
	uint64_t size;
	off = symbol_offset(path, "3run", true, &size);
	uint64_t inl = find_inlined(s, path, off, size, "fx::work::mid", "fx::run");
	assert_true(inl != UINT64_MAX);
	n = symbolizer_lookup_file(s, path, inl, f, 16);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].line, marker_line(fixture_rs, "MARK_MID"));
	assert_int_equal(f[1].line, marker_line(fixture_rs, "MARK_RUN"));
	assert_string_equal(base_of(f[1].file), "fx.rs");
	symbolizer_free(s);
}

static void test_rust_legacy(void **state)
{
	(void)state;
	if (!have_rust)
		skip();
	check_rust(rs_legacy, "_ZN2fx4work4leaf17h", "Trait$GT$6method17h");
}

static void test_rust_v0(void **state)
{
	(void)state;
	if (!have_rust)
		skip();
	check_rust(rs_v0, "_2fx4work4leaf", "5Trait6method");
}

static void test_kallsyms_file(void **state)
{
	(void)state;
	char path[1300];
	snprintf(path, sizeof(path), "%s/kallsyms", dir);
	write_file(path, "ffffffff81000000 T _stext\n"
	                 "ffffffff81000100 t do_thing\n"
	                 "ffffffff81000200 D some_data\n"
	                 "ffffffff81000300 T _RNvNtCslsDZ0BHrDfJ_6kernel4rust4func\n"
	                 "garbage line\n"
	                 "ffffffffc0000000 t ext4_thing\t[ext4]\n");
	struct symbolizer *s = symbolizer_new();
	symbolizer_set_kallsyms_path(s, path);
	struct symbol_frame f;
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000150, &f), 1);
	assert_string_equal(f.function, "do_thing");
	assert_null(f.file);
	/* data symbols do not name code */
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000250, &f), 1);
	assert_string_equal(f.function, "do_thing");
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000300, &f), 1);
	assert_string_equal(f.function, "kernel::rust::func");
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffffc0000010, &f), 1);
	assert_string_equal(f.function, "ext4_thing");
	const struct ksym *k = kallsyms_find(&s->kernel, 0xffffffffc0000010);
	assert_non_null(k);
	assert_string_equal(strtab_get(&s->strs, k->module), "[ext4]");
	k = kallsyms_find(&s->kernel, 0xffffffff81000000);
	assert_string_equal(strtab_get(&s->strs, k->module), "[kernel.kallsyms]");
	assert_int_equal(symbolizer_lookup_kernel(s, 0x1000, &f), 0);

	/* kptr_restrict: every address reads as zero */
	write_file(path, "0000000000000000 T _stext\n0000000000000000 t do_thing\n");
	symbolizer_set_kallsyms_path(s, path);
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000150, &f), -EACCES);

	snprintf(path, sizeof(path), "%s/no-kallsyms", dir);
	symbolizer_set_kallsyms_path(s, path);
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000150, &f), -ENOENT);
	symbolizer_free(s);
}

/* Names addrs[0..n) with a symbolizer loaded for exactly those addresses
 * (as a whole profile is resolved) and with one that loads the whole
 * table, and checks that both say the same: function and module. */
static void check_partial_like_full(const char *path, const uint64_t *addrs, size_t n)
{
	struct symbolizer *part = symbolizer_new(), *full = symbolizer_new();
	symbolizer_set_kallsyms_path(part, path);
	symbolizer_set_kallsyms_path(full, path);
	symbolizer_prepare_kernel(part, addrs, n);
	assert_true(part->kernel.partial);
	/* fewer symbols kept than the table has */
	size_t kept = part->kernel.syms.n;
	for (size_t i = 0; i < n; i++) {
		struct symbol_frame a, b;
		int ra = symbolizer_lookup_kernel(part, addrs[i], &a),
		    rb = symbolizer_lookup_kernel(full, addrs[i], &b);
		assert_int_equal(ra, rb);
		if (ra != 1)
			continue;
		assert_string_equal(a.function, b.function);
		const struct ksym *ka = kallsyms_find(&part->kernel, addrs[i]),
		                  *kb = kallsyms_find(&full->kernel, addrs[i]);
		assert_int_equal(ka->addr, kb->addr);
		assert_string_equal(strtab_get(&part->strs, ka->module), strtab_get(&full->strs, kb->module));
	}
	assert_true(part->kernel.partial); /* no address above needed the whole table */
	assert_true(kept <= n && kept < full->kernel.syms.n);
	symbolizer_free(part);
	symbolizer_free(full);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_kallsyms_partial(void **state)
{
	(void)state;
	char path[1300];
	snprintf(path, sizeof(path), "%s/kallsyms-big", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	/* 3000 symbols, unique addresses, written out of order (as modules'
	 * are), mixing text and data, some in modules, some garbage lines */
	enum { NSYM = 3000, NASK = 400 };
	static uint64_t sym_addr[NSYM], asked[NASK];
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < NSYM; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sym_addr[i] = 0xffffffff81000000ull + (uint64_t)i * 0x100 + (x & 0xf0);
	}
	for (int i = 0; i < NSYM; i++) {
		int k = (i * 7919) % NSYM; /* a permutation: out of order */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		const char *type = (x & 3) == 0 ? "D" : (x & 3) == 1 ? "t" : "T";
		if (k % 5 == 0)
			fprintf(f, "%016llx %s mod_fn_%d\t[mod%d]\n", (unsigned long long)sym_addr[k], type, k, k % 3);
		else
			fprintf(f, "%016llx %s fn_%d\n", (unsigned long long)sym_addr[k], type, k);
		if (i % 500 == 0)
			fputs("not a line\n", f);
	}
	fclose(f);
	for (int i = 0; i < NASK; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i % 3 == 2) {
			/* a few bytes further into the same function, as samples fall */
			asked[i] = asked[i - 1] + 1 + (x & 7);
			continue;
		}
		/* inside the table, at symbols exactly, and below its first */
		asked[i] = i % 7 == 0    ? sym_addr[x % NSYM]
		           : i % 50 == 1 ? 0xffffffff80000000ull + (x & 0xffff)
		                         : 0xffffffff81000000ull + x % ((uint64_t)NSYM * 0x100 + 0x200);
	}
	qsort(asked, NASK, sizeof(*asked), u64_cmp);
	size_t n = 1;
	for (size_t i = 1; i < NASK; i++)
		if (asked[i] != asked[n - 1])
			asked[n++] = asked[i];
	check_partial_like_full(path, asked, n);

	/* symbols sharing an address, in a sorted file: the later line names
	 * it, in both */
	write_file(path, "ffffffff81000000 T _stext\n"
	                 "ffffffff81000100 T alias_a\n"
	                 "ffffffff81000100 t alias_b\n"
	                 "ffffffff81000100 D data_c\n"
	                 "ffffffff81000200 T next\n");
	uint64_t two[] = {0xffffffff81000100, 0xffffffff81000180};
	check_partial_like_full(path, two, 2);

	/* an address the table was not loaded for: the whole table is read */
	struct symbolizer *s = symbolizer_new();
	symbolizer_set_kallsyms_path(s, path);
	symbolizer_prepare_kernel(s, two, 2);
	struct symbol_frame fr;
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000250, &fr), 1);
	assert_string_equal(fr.function, "next");
	assert_false(s->kernel.partial);
	/* hidden addresses and a missing file say so as before */
	write_file(path, "0000000000000000 T _stext\n0000000000000000 t do_thing\n");
	symbolizer_set_kallsyms_path(s, path);
	symbolizer_prepare_kernel(s, two, 2);
	assert_int_equal(symbolizer_lookup_kernel(s, two[0], &fr), -EACCES);
	snprintf(path, sizeof(path), "%s/no-kallsyms", dir);
	symbolizer_set_kallsyms_path(s, path);
	symbolizer_prepare_kernel(s, two, 2);
	assert_int_equal(symbolizer_lookup_kernel(s, two[0], &fr), -ENOENT);
	symbolizer_free(s);
}

/* The address column's edge cases, read alike by the whole table and the
 * partial pass: more than 64 bits or a non-hex digit skips the line;
 * leading zeros and upper case are digits like others. */
static void test_kallsyms_numbers(void **state)
{
	(void)state;
	char path[1300];
	snprintf(path, sizeof(path), "%s/kallsyms-numbers", dir);
	write_file(path, "ffffffff81000000 T _stext\n"
	                 "1ffffffff81000100 t too_wide\n"
	                 "00ffffffff81000200 t zero_padded\n"
	                 "ffffffff8100030g t not_hex\n"
	                 " t no_address\n"
	                 "FFFFFFFF81000400 t upper_case\n"
	                 "ffffffff81000500 t not_asked\n");
	struct symbolizer *s = symbolizer_new();
	symbolizer_set_kallsyms_path(s, path);
	struct symbol_frame f;
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000150, &f), 1);
	assert_string_equal(f.function, "_stext");
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000350, &f), 1);
	assert_string_equal(f.function, "zero_padded");
	assert_int_equal(symbolizer_lookup_kernel(s, 0xffffffff81000450, &f), 1);
	assert_string_equal(f.function, "upper_case");
	symbolizer_free(s);
	uint64_t addrs[] = {0xffffffff81000150, 0xffffffff81000350, 0xffffffff81000450};
	check_partial_like_full(path, addrs, 3);
}

/* The name kernel address addr gets from a new symbolizer prepared for it
 * alone (as a profile's resolve does), into out. */
static void partial_name(const char *path, uint64_t addr, char *out, size_t n)
{
	struct symbolizer *s = symbolizer_new();
	symbolizer_set_kallsyms_path(s, path);
	symbolizer_prepare_kernel(s, &addr, 1);
	struct symbol_frame f;
	snprintf(out, n, "%s", symbolizer_lookup_kernel(s, addr, &f) == 1 ? f.function : "(none)");
	symbolizer_free(s);
}

static void test_kallsyms_index(void **state)
{
	(void)state;
	char path[1300], cache[1300], idx[1400] = "";
	snprintf(path, sizeof(path), "%s/kallsyms-ix", dir);
	snprintf(cache, sizeof(cache), "%s/ix-cache", dir);
	symbols_set_debug_cache(cache);
	write_file(path, "ffffffff81000000 T _stext\n"
	                 "ffffffff81000100 t first_fn\n"
	                 "ffffffff81000200 D some_data\n"
	                 "ffffffff81000300 T second_fn\n"
	                 "ffffffffc0000000 t mod_fn\t[ext4]\n"
	                 "ffffffff81000400 T third_fn\n");
	char name[256];
	partial_name(path, 0xffffffff81000150, name, sizeof(name));
	assert_string_equal(name, "first_fn");
	/* the pass left an index of the text symbols in the cache */
	char cmd[1500];
	snprintf(cmd, sizeof(cmd), "ls %s/kallsyms-*.idx", cache);
	FILE *ls = popen(cmd, "r");
	assert_non_null(ls);
	assert_non_null(fgets(idx, sizeof(idx), ls));
	pclose(ls);
	idx[strcspn(idx, "\n")] = '\0';
	/* a later read names from it, like the pass */
	uint64_t some[] = {0xffffffff80000000, 0xffffffff81000100, 0xffffffff81000250,
	                   0xffffffff81000310, 0xffffffff81000500, 0xffffffffc0000004};
	check_partial_like_full(path, some, sizeof(some) / sizeof(*some));
	/* and does not pass over the file: an entry planted in the index
	 * (first_fn's address pointing at _stext's line) is what it says */
	FILE *f = fopen(idx, "r+b");
	assert_non_null(f);
	uint8_t buf[4096];
	size_t len = fread(buf, 1, sizeof(buf), f);
	uint64_t a1 = 0xffffffff81000100, a0 = 0xffffffff81000000;
	uint8_t *e1 = memmem(buf, len, &a1, 8), *e0 = memmem(buf, len, &a0, 8);
	assert_non_null(e1);
	assert_non_null(e0);
	memcpy(e1 + 8, e0 + 8, 4); /* the line offset */
	fseek(f, 0, SEEK_SET);
	fwrite(buf, 1, len, f);
	fclose(f);
	partial_name(path, 0xffffffff81000150, name, sizeof(name));
	assert_string_equal(name, "_stext");
	/* a changed file is read again, not named from its old index */
	write_file(path, "ffffffff81000000 T _stext\n"
	                 "ffffffff81000100 t renamed_fn\n");
	partial_name(path, 0xffffffff81000150, name, sizeof(name));
	assert_string_equal(name, "renamed_fn");
	/* a damaged index is not used */
	f = fopen(idx, "r+b");
	assert_non_null(f);
	fwrite("garbage!", 1, 8, f);
	fclose(f);
	partial_name(path, 0xffffffff81000150, name, sizeof(name));
	assert_string_equal(name, "renamed_fn");
	symbols_set_debug_cache(NULL);
}

/* The address of a kernel text symbol from /proc/kallsyms, and whether
 * another symbol shares it; false when kallsyms is hidden or unreadable. */
static bool real_kernel_symbol(const char *want, uint64_t *addr)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		unsigned long long a;
		if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 && a && strcmp(name, want) == 0 &&
		    (type == 'T' || type == 't')) {
			*addr = a;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_kallsyms_real(void **state)
{
	(void)state;
	uint64_t addr;
	if (!real_kernel_symbol("schedule", &addr)) {
		print_message("skipped: /proc/kallsyms hidden or has no 'schedule'\n");
		skip();
	}
	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f;
	assert_int_equal(symbolizer_lookup_kernel(s, addr + 1, &f), 1);
	/* aliases at the same address are equally right */
	const struct ksym *k = kallsyms_find(&s->kernel, addr + 1);
	assert_non_null(k);
	assert_true(k->addr == addr);
	assert_non_null(f.function);
	symbolizer_free(s);
}

/* The address of clock_gettime in this process's vdso, relative to its
 * start; 0 when there is no vdso. */
static uint64_t own_vdso_symbol(const char *name)
{
	uint64_t start = getauxval(AT_SYSINFO_EHDR), found = 0;
	if (!start)
		return 0;
	elf_version(EV_CURRENT);
	/* 8 KB covers the ELF image of every x86_64 vdso; libelf reads only
	 * what the headers point at */
	Elf *elf = elf_memory((char *)(uintptr_t)start, 8192);
	Elf_Scn *scn = NULL;
	while (elf && !found && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;
			if (gelf_getsym(data, (int)i, &sym) && (n = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strcmp(n, name) == 0) {
				found = sym.st_value;
				break;
			}
		}
	}
	elf_end(elf);
	return found;
}

static const struct profile_frame *loc_frames(const struct profile *p, uint32_t loc, uint32_t *n)
{
	*n = p->locations.v[loc].nframes;
	return &p->frames.v[p->locations.v[loc].first_frame];
}

static void test_resolve_profile(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t size;
	uint64_t off = symbol_offset(exe_pie, "outer_work", false, &size);
	uint64_t soff = symbol_offset(exe_pie, "static_helper", true, NULL);

	struct symbolizer *probe = symbolizer_new();
	uint64_t inl = find_inlined(probe, exe_pie, off, size, "inner_add", "outer_work");
	symbolizer_free(probe);
	assert_true(inl != UINT64_MAX);

	struct profile_mapping m = {.pid = 4242, .start = 0x555555554000, .end = 0x555555560000, .pgoff = 0};
	m.path = profile_intern(p, exe_pie);
	uint32_t m0 = profile_add_mapping(p, &m);
	/* only the text segment mapped, at its page-aligned file offset */
	m.start = 0x7f0000001000;
	m.pgoff = inl & ~0xfffULL;
	m.end = m.start + 0x10000;
	uint32_t m1 = profile_add_mapping(p, &m);
	m.path = profile_intern(p, "/nonexistent/libgone.so");
	m.pgoff = 0;
	uint32_t m2 = profile_add_mapping(p, &m);
	m.path = profile_intern(p, "[vdso]");
	uint32_t m3 = profile_add_mapping(p, &m);
	m.path = profile_intern(p, "//anon");
	m.pid = 999999999; /* no perf map for this pid */
	uint32_t m4 = profile_add_mapping(p, &m);
	m.path = profile_intern(p, exe_stripped);
	m.pid = 4242;
	m.start = 0x560000000000;
	uint32_t m5 = profile_add_mapping(p, &m);

	uint32_t l_outer = profile_location(p, m0, 0x555555554000 + off, PROFILE_LOC_USER);
	uint32_t l_inl = profile_location(p, m1, 0x7f0000001000 + (inl - (inl & ~0xfffULL)), PROFILE_LOC_USER);
	uint32_t l_gone = profile_location(p, m2, 0x7f0000002234, PROFILE_LOC_USER);
	uint32_t l_vdso = profile_location(p, m3, 0x7f0000001010, PROFILE_LOC_USER);
	uint64_t cg = own_vdso_symbol("__vdso_clock_gettime");
	uint32_t l_vdso_cg = cg ? profile_location(p, m3, 0x7f0000001000 + cg, PROFILE_LOC_USER) : UINT32_MAX;
	uint32_t l_anon = profile_location(p, m4, 0x7f0000001abc, PROFILE_LOC_USER);
	uint32_t l_none = profile_location(p, PROFILE_NO_MAPPING, 0xdead, PROFILE_LOC_USER);
	uint64_t twin_soff = symbol_offset(exe_twin, "static_helper", true, NULL);
	uint32_t l_strip = profile_location(p, m5, 0x560000000000 + twin_soff, PROFILE_LOC_USER);
	uint32_t l_kern = profile_location(p, PROFILE_NO_MAPPING, 0x10, PROFILE_LOC_KERNEL);
	uint32_t l_done = profile_location(p, m0, 0x555555554000 + soff, PROFILE_LOC_USER);
	struct profile_frame preset = {.function = profile_intern(p, "already_named")};
	profile_set_location_frames(p, l_done, &preset, 1);

	struct symbols_stats st;
	assert_int_equal(symbols_resolve_profile(p, &st), 0);
	assert_int_equal(st.locations, cg ? 9 : 8);
	assert_int_equal(st.missing_modules, 1);
	assert_int_equal(st.inlined, 1);
	assert_true(st.named >= 2);
	assert_true(st.with_lines >= 2);
	assert_string_equal(profile_get_meta(p, "missing_modules"), "/nonexistent/libgone.so");

	uint32_t n;
	const struct profile_frame *f = loc_frames(p, l_outer, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "outer_work");
	assert_string_equal(base_of(profile_str(p, f[0].file)), "fix.c");
	assert_string_equal(profile_str(p, f[0].module), "fix_pie");
	assert_false(f[0].inlined);

	f = loc_frames(p, l_inl, &n);
	assert_int_equal(n, 2);
	assert_string_equal(profile_str(p, f[0].function), "inner_add");
	assert_true(f[0].inlined);
	assert_int_equal(f[0].line, marker_line(fixture_c, "MARK_INNER"));
	assert_string_equal(profile_str(p, f[1].function), "outer_work");
	assert_false(f[1].inlined);
	assert_int_equal(f[1].line, marker_line(fixture_c, "MARK_CALL"));

	f = loc_frames(p, l_gone, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "libgone.so+0x1234");
	assert_string_equal(profile_str(p, f[0].module), "libgone.so");
	assert_int_equal(f[0].file, 0);

	f = loc_frames(p, l_vdso, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "[vdso]");
	if (l_vdso_cg != UINT32_MAX) {
		/* named from the recorder's own copy of the vdso */
		f = loc_frames(p, l_vdso_cg, &n);
		assert_int_equal(n, 1);
		assert_non_null(strstr(profile_str(p, f[0].function), "clock_gettime"));
		assert_string_equal(profile_str(p, f[0].module), "[vdso]");
	}

	f = loc_frames(p, l_anon, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "[unknown]+0x7f0000001abc");

	f = loc_frames(p, l_none, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "[unknown]+0xdead");

	char want[128];
	f = loc_frames(p, l_strip, &n);
	assert_int_equal(n, 1);
	/* a stripped function is named after its FDE, which starts where the
	 * twin's symbol does, at its link-time address */
	uint64_t twin_svaddr, twin_ssize;
	assert_true(elf_symbol(exe_twin, "static_helper", true, &twin_svaddr, &twin_ssize));
	snprintf(want, sizeof(want), "sub_%llx@fix_stripped", (unsigned long long)twin_svaddr);
	assert_string_equal(profile_str(p, f[0].function), want);
	assert_int_equal(f[0].file, 0);
	assert_true(p->locations.v[l_strip].has_vaddr);
	assert_int_equal(p->locations.v[l_strip].vaddr, twin_svaddr);
	assert_non_null(strstr(profile_get_meta(p, "unsymbolized_modules"), "fix_stripped"));

	f = loc_frames(p, l_kern, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].module), "[kernel.kallsyms]");

	f = loc_frames(p, l_done, &n);
	assert_int_equal(n, 1);
	assert_string_equal(profile_str(p, f[0].function), "already_named");

	/* a second pass has nothing left to do */
	assert_int_equal(symbols_resolve_profile(p, &st), 0);
	assert_int_equal(st.locations, 0);
	profile_free(p);
}

/* Issue 10: a profile none of whose files can be read says so through the
 * return value, so record's and heap's "symbolization failed" can print;
 * one readable file among them is a success. */
static void test_resolve_error(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct profile_mapping m = {.pid = 1, .start = 0x400000, .end = 0x500000};
	m.path = profile_intern(p, "/nonexistent/gone-binary");
	uint32_t m0 = profile_add_mapping(p, &m);
	profile_location(p, m0, 0x401234, PROFILE_LOC_USER);
	struct symbols_stats st;
	assert_int_equal(symbols_resolve_profile(p, &st), -ENOENT);
	assert_int_equal(st.missing_modules, 1);
	profile_free(p);

	p = profile_new();
	m.path = profile_intern(p, "/nonexistent/gone-binary");
	m0 = profile_add_mapping(p, &m);
	m.path = profile_intern(p, exe_pie);
	m.start = 0x555555554000;
	m.end = 0x555555560000;
	uint32_t m1 = profile_add_mapping(p, &m);
	profile_location(p, m0, 0x401234, PROFILE_LOC_USER);
	profile_location(p, m1, 0x555555554000 + symbol_offset(exe_pie, "outer_work", false, NULL), PROFILE_LOC_USER);
	assert_int_equal(symbols_resolve_profile(p, &st), 0);
	profile_free(p);
}

static void test_resolve_many(void **state)
{
	(void)state;
	/* every byte of outer_work, many times over: cached, all named */
	struct profile *p = profile_new();
	uint64_t size;
	uint64_t off = symbol_offset(exe_pie, "outer_work", false, &size);
	struct profile_mapping m = {.pid = 1, .start = 0x400000, .end = 0x500000};
	m.path = profile_intern(p, exe_pie);
	uint32_t m0 = profile_add_mapping(p, &m);
	m.pid = 2;
	uint32_t m1 = profile_add_mapping(p, &m);
	for (uint64_t i = 0; i < size; i++) {
		profile_location(p, m0, 0x400000 + off + i, PROFILE_LOC_USER);
		profile_location(p, m1, 0x400000 + off + i, PROFILE_LOC_USER);
	}
	struct symbols_stats st;
	assert_int_equal(symbols_resolve_profile(p, &st), 0);
	assert_int_equal(st.locations, 2 * size);
	assert_int_equal(st.named, 2 * size);
	assert_int_equal(st.unknown, 0);
	for (size_t i = 0; i < p->locations.n; i++) {
		uint32_t n;
		const struct profile_frame *f = loc_frames(p, (uint32_t)i, &n);
		assert_true(n >= 1);
		assert_string_equal(profile_str(p, f[n - 1].function), "outer_work");
	}
	profile_free(p);
}

/* Addresses named on the prefetch thread, then the profile through its
 * symbolizer: the same frames as a pass from cold, whether the thread got
 * to an address or left it to the final pass; an unreadable module and an
 * idle prefetch are harmless. */
static void test_prefetch(void **state)
{
	(void)state;
	uint64_t size;
	uint64_t off = symbol_offset(exe_pie, "outer_work", false, &size);
	struct symbols_prefetch *pf = symbols_prefetch_start();
	for (uint64_t i = 0; i < size; i++)
		symbols_prefetch_add(pf, exe_pie, off + i);
	symbols_prefetch_add(pf, "/nonexistent/lib.so", 0x10); /* not fatal */
	/* let the thread get through some of it; whatever is left is named at the end */
	usleep(100000);
	struct symbolizer *warm = symbols_prefetch_finish(pf);
	assert_non_null(warm);

	struct profile *cold = profile_new(), *hot = profile_new();
	struct profile *ps[2] = {cold, hot};
	for (int k = 0; k < 2; k++) {
		struct profile_mapping m = {.pid = 1, .start = 0x400000, .end = 0x500000};
		m.path = profile_intern(ps[k], exe_pie);
		uint32_t id = profile_add_mapping(ps[k], &m);
		for (uint64_t i = 0; i < size; i++)
			profile_location(ps[k], id, 0x400000 + off + i, PROFILE_LOC_USER);
	}
	struct symbols_stats st;
	assert_int_equal(symbols_resolve_profile(cold, &st), 0);
	assert_int_equal(symbols_resolve_profile_with(hot, warm, &st), 0);
	assert_int_equal(st.named, size);
	for (size_t i = 0; i < cold->locations.n; i++) {
		uint32_t na, nb;
		const struct profile_frame *a = loc_frames(cold, (uint32_t)i, &na);
		const struct profile_frame *b = loc_frames(hot, (uint32_t)i, &nb);
		assert_int_equal(na, nb);
		for (uint32_t j = 0; j < na; j++) {
			assert_string_equal(profile_str(cold, a[j].function), profile_str(hot, b[j].function));
			assert_string_equal(profile_str(cold, a[j].file), profile_str(hot, b[j].file));
			assert_int_equal(a[j].line, b[j].line);
		}
	}
	profile_free(cold);
	profile_free(hot);
	symbolizer_free(warm);
	/* finishing a prefetch that never got an address, and NULL */
	symbolizer_free(symbols_prefetch_finish(symbols_prefetch_start()));
	assert_null(symbols_prefetch_finish(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pie),
	    cmocka_unit_test(test_non_pie),
	    cmocka_unit_test(test_shared_object),
	    cmocka_unit_test(test_stripped),
	    cmocka_unit_test(test_missing_and_bad_files),
	    cmocka_unit_test(test_rust_legacy),
	    cmocka_unit_test(test_rust_v0),
	    cmocka_unit_test(test_kallsyms_file),
	    cmocka_unit_test(test_kallsyms_partial),
	    cmocka_unit_test(test_kallsyms_numbers),
	    cmocka_unit_test(test_kallsyms_index),
	    cmocka_unit_test(test_kallsyms_real),
	    cmocka_unit_test(test_resolve_profile),
	    cmocka_unit_test(test_resolve_error),
	    cmocka_unit_test(test_resolve_many),
	    cmocka_unit_test(test_prefetch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
