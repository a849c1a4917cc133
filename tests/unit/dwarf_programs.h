/* dwarf_programs.h - the real programs test_dwarf_lines and
 * test_dwarf_dies hold kiln's DWARF decoders against libdw on, built in a
 * scratch directory of the test's own, and a section's bytes.
 *
 * gcc: DWARF 4 and 5 (p4, p5); clang: DWARF 5 (strx1, addrx, MD5 file
 * entries) and 64-bit DWARF from clang and gcc (c5, c64, g64); rust: a
 * program carrying std (r). Included by one test file each: its functions
 * are static; cmocka.h comes first. */
#ifndef KILN_TESTS_DWARF_PROGRAMS_H
#define KILN_TESTS_DWARF_PROGRAMS_H

#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dwarf_tmpdir[512];

/* Makes the scratch directory, named after the test. */
static int dwarf_programs_setup(const char *test)
{
	const char *base = getenv("KILN_TEST_TMP");
	snprintf(dwarf_tmpdir, sizeof(dwarf_tmpdir), "%s/%s.%d", base ? base : "/tmp", test, (int)getpid());
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dwarf_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int dwarf_programs_teardown(void)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dwarf_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

enum dwarf_program_set { DWARF_PROGRAMS_GCC, DWARF_PROGRAMS_CLANG, DWARF_PROGRAMS_RUST };

#define DWARF_PROGRAMS_MAX 3

/* Builds a set into the scratch directory and puts the programs' paths in
 * paths; returns how many, 0 when its compiler is not installed (the test
 * skips). A build that fails is the test's failure (-1). */
static int dwarf_programs_build(enum dwarf_program_set set, char paths[DWARF_PROGRAMS_MAX][1200])
{
	/* a struct, an inlined function and a loop; % is doubled for
	 * snprintf, then again for the shell's printf */
	static const char c_source[] =
	    "printf '#include <stdio.h>\\nstruct s { int a, b; };\\n"
	    "static inline int f(struct s *x) { return x->a * 3; }\\n"
	    "int main(int c, char **v) { (void)v; for (int i = 0; i < c; i++) {\\n"
	    " struct s x = {i, 2}; printf(\"%%%%d\\\\n\", f(&x)); }\\n return 0; }\\n' > %s/p.c";
	static const char *const names[][DWARF_PROGRAMS_MAX] = {{"p4", "p5"}, {"c5", "c64", "g64"}, {"r"}};
	static const char *const compiler[] = {"cc", "clang", "rustc"};
	char cmd[8192], check[64];
	snprintf(check, sizeof(check), "command -v %s >/dev/null 2>&1", compiler[set]);
	if (system(check) != 0)
		return 0;
	const char *d = dwarf_tmpdir;
	int n =
	    set == DWARF_PROGRAMS_RUST ? snprintf(cmd, sizeof(cmd), "true") : snprintf(cmd, sizeof(cmd), c_source, d);
	switch (set) {
	case DWARF_PROGRAMS_GCC:
		snprintf(cmd + n, sizeof(cmd) - (size_t)n,
		         " && cc -O2 -g -gdwarf-4 -o %s/p4 %s/p.c && cc -O2 -g -gdwarf-5 -o %s/p5 %s/p.c", d, d, d, d);
		break;
	case DWARF_PROGRAMS_CLANG:
		snprintf(
		    cmd + n, sizeof(cmd) - (size_t)n,
		    " && clang -O2 -g -gdwarf-5 -o %s/c5 %s/p.c && clang -O2 -g -gdwarf-5 -gdwarf64 -o %s/c64 %s/p.c"
		    " && cc -O2 -g -gdwarf-5 -gdwarf64 -o %s/g64 %s/p.c",
		    d, d, d, d, d, d);
		break;
	case DWARF_PROGRAMS_RUST:
		snprintf(cmd + n, sizeof(cmd) - (size_t)n,
		         " && printf 'fn main() { let v: Vec<u64> = std::env::args().map(|a| a.len() as u64).collect();"
		         " println!(\"{}\", v.iter().sum::<u64>()); }\\n' > %s/r.rs && "
		         "rustc -C opt-level=2 -g -o %s/r %s/r.rs 2>/dev/null",
		         d, d, d);
		break;
	}
	if (system(cmd) != 0)
		return -1;
	int count = 0;
	for (; count < DWARF_PROGRAMS_MAX && names[set][count]; count++)
		snprintf(paths[count], 1200, "%s/%s", d, names[set][count]);
	return count;
}

/* Builds a set and runs compare on each of its programs, which must
 * answer more than least (what compare counts: rows, DIEs); skipped
 * without the set's compiler. */
static void dwarf_programs_compare(enum dwarf_program_set set, size_t (*compare)(const char *path), size_t least)
{
	char paths[DWARF_PROGRAMS_MAX][1200];
	int n = dwarf_programs_build(set, paths);
	if (n == 0) {
		skip();
		return;
	}
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		assert_true(compare(paths[i]) > least);
}

/* The bytes of elf's section name, or NULL (*size 0). */
static const uint8_t *dwarf_programs_section(Elf *elf, const char *name, size_t *size)
{
	size_t shstrndx;
	*size = 0;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *s = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		Elf_Data *data = s && !strcmp(s, name) ? elf_getdata(scn, NULL) : NULL;
		if (data) {
			*size = data->d_size;
			return data->d_buf;
		}
	}
	return NULL;
}

#endif
