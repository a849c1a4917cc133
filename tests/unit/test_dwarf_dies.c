/* test_dwarf_dies.c - stepping over DIEs by their forms' sizes: a
 * hand-made abbreviation table (fixed, variable, indirect and implicit
 * forms, nesting), hostile tables and DIEs refused, and every DIE of real
 * programs (gcc's DWARF 4 and 5, with DW_AT_sibling; Rust's LLVM DWARF,
 * without) stepped over to where libdw's dwarf_siblingof() goes, its tag
 * and children flag libdw's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "dwarf_programs.h"
#include "symbols/dwarf_dies.h"

static const struct dwarf_unit_shape shape = {5, 8, 4};

/* abbrev 1: a DIE with children, name as string, low_pc as addr;
 * abbrev 2: no children, data4 + udata + implicit_const;
 * abbrev 3: no children, an indirect form and an exprloc */
static const uint8_t abbrevs[] = {
    1,
    DW_TAG_subprogram,
    1,
    DW_AT_name,
    DW_FORM_string,
    DW_AT_low_pc,
    DW_FORM_addr,
    0,
    0,
    2,
    DW_TAG_variable,
    0,
    DW_AT_type,
    DW_FORM_data4,
    DW_AT_decl_line,
    DW_FORM_udata,
    DW_AT_decl_file,
    DW_FORM_implicit_const,
    7,
    0,
    0,
    3,
    DW_TAG_variable,
    0,
    DW_AT_location,
    DW_FORM_indirect,
    DW_AT_const_value,
    DW_FORM_exprloc,
    0,
    0,
    0,
};

/* 1 "f" addr { 2 data4 udata(2 bytes)  3 (indirect data2) exprloc(2)  1 "g" addr { } } then 2 */
static const uint8_t dies[] = {
    1,    'f',
    0,    1,
    2,    3,
    4,    5,
    6,    7,
    8, /* 0: f */
    2,    9,
    9,    9,
    9,    0x80,
    0x01, /* 11: variable */
    3,    DW_FORM_data2,
    1,    2,
    2,    0xaa,
    0xbb, /* 18: indirect data2, exprloc of 2 */
    1,    'g',
    0,    1,
    2,    3,
    4,    5,
    6,    7,
    8, /* 25: g */
    0, /* 36: g's children end */
    0, /* 37: f's children end */
    2,    1,
    1,    1,
    1,    5, /* 38: a sibling of f */
    0,       /* 44: the unit's end */
};

static void test_hand_made(void **state)
{
	(void)state;
	struct dwarf_abbrevs *a = NULL;
	assert_int_equal(dwarf_abbrevs_new(abbrevs, sizeof(abbrevs), 0, &shape, &a), 0);
	const uint8_t *end = dies + sizeof(dies);
	assert_ptr_equal(dwarf_die_skip(a, &shape, dies, end), dies + 38);
	assert_ptr_equal(dwarf_die_skip(a, &shape, dies + 11, end), dies + 18);
	assert_ptr_equal(dwarf_die_skip(a, &shape, dies + 18, end), dies + 25);
	assert_ptr_equal(dwarf_die_skip(a, &shape, dies + 25, end), dies + 37);
	assert_ptr_equal(dwarf_die_skip(a, &shape, dies + 38, end), dies + 44);
	bool kids = false;
	assert_int_equal(dwarf_die_tag(a, dies, end, &kids), DW_TAG_subprogram);
	assert_true(kids);
	assert_int_equal(dwarf_die_tag(a, dies + 11, end, &kids), DW_TAG_variable);
	assert_false(kids);
	assert_int_equal(dwarf_die_tag(a, dies + 36, end, &kids), -1);
	/* a null entry is no DIE; every cut is refused, never read past */
	assert_null(dwarf_die_skip(a, &shape, dies + 36, end));
	for (size_t cut = 0; cut < 38; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, dies, cut);
		assert_null(dwarf_die_skip(a, &shape, copy, copy + cut));
		free(copy);
	}
	/* an unknown code */
	static const uint8_t bad_code[] = {9, 0};
	assert_null(dwarf_die_skip(a, &shape, bad_code, bad_code + sizeof(bad_code)));
	/* a low_pc without a high_pc is no range (as libdw says) */
	uint64_t lo, hi;
	assert_int_equal(dwarf_die_pc_range(a, &shape, dies, end, &lo, &hi), 0);
	assert_int_equal(dwarf_die_pc_range(a, &shape, bad_code, bad_code + sizeof(bad_code), &lo, &hi), -1);
	/* f's first child is the variable at 11; g's children are only the
	 * null entry; a variable has none */
	const uint8_t *first = NULL;
	assert_int_equal(dwarf_die_child(a, &shape, dies, end, &first), 0);
	assert_ptr_equal(first, dies + 11);
	assert_int_equal(dwarf_die_child(a, &shape, dies + 25, end, &first), 1);
	assert_int_equal(dwarf_die_child(a, &shape, dies + 11, end, &first), 1);
	assert_int_equal(dwarf_die_child(a, &shape, dies, dies + 5, &first), -1);
	dwarf_abbrevs_free(a);
	/* a pair after a variable-sized form, high_pc an address, then an
	 * offset; cut short, refused */
	static const uint8_t pair_abbrevs[] = {1,
	                                       DW_TAG_subprogram,
	                                       0,
	                                       DW_AT_name,
	                                       DW_FORM_string,
	                                       DW_AT_low_pc,
	                                       DW_FORM_addr,
	                                       DW_AT_high_pc,
	                                       DW_FORM_addr,
	                                       0,
	                                       0,
	                                       2,
	                                       DW_TAG_subprogram,
	                                       0,
	                                       DW_AT_high_pc,
	                                       DW_FORM_udata,
	                                       DW_AT_low_pc,
	                                       DW_FORM_addr,
	                                       0,
	                                       0,
	                                       0};
	static const uint8_t pair_dies[] = {1, 'f', 'g', 0, 0x10, 0,    0,    0,    0, 0, 0, 0, 0x30, 0, 0, 0,
	                                    0, 0,   0,   0, 2,    0x81, 0x01, 0x20, 0, 0, 0, 0, 0,    0, 0};
	assert_int_equal(dwarf_abbrevs_new(pair_abbrevs, sizeof(pair_abbrevs), 0, &shape, &a), 0);
	const uint8_t *pend = pair_dies + sizeof(pair_dies);
	assert_int_equal(dwarf_die_pc_range(a, &shape, pair_dies, pend, &lo, &hi), 1);
	assert_true(lo == 0x10 && hi == 0x30);
	assert_int_equal(dwarf_die_pc_range(a, &shape, pair_dies + 20, pend, &lo, &hi), 1);
	assert_true(lo == 0x20 && hi == 0x20 + 0x81);
	assert_int_equal(dwarf_die_pc_range(a, &shape, pair_dies + 20, pend - 1, &lo, &hi), -1);
	assert_int_equal(dwarf_die_pc_range(a, &shape, pair_dies, pair_dies + 15, &lo, &hi), -1);
	dwarf_abbrevs_free(a);
}

static void test_bad_tables(void **state)
{
	(void)state;
	struct dwarf_abbrevs *a = NULL;
	/* an unknown form, a code twice, a code above 65535, a cut table */
	static const uint8_t unknown_form[] = {1, DW_TAG_variable, 0, DW_AT_name, 0x7f, 0, 0, 0};
	static const uint8_t twice[] = {1, DW_TAG_variable, 0, 0, 0, 1, DW_TAG_variable, 0, 0, 0, 0};
	static const uint8_t huge[] = {0x80, 0x80, 0x04, DW_TAG_variable, 0, 0, 0, 0};
	assert_int_equal(dwarf_abbrevs_new(unknown_form, sizeof(unknown_form), 0, &shape, &a), -EINVAL);
	assert_int_equal(dwarf_abbrevs_new(twice, sizeof(twice), 0, &shape, &a), -EINVAL);
	assert_int_equal(dwarf_abbrevs_new(huge, sizeof(huge), 0, &shape, &a), -EINVAL);
	for (size_t cut = 0; cut + 1 < sizeof(abbrevs); cut++)
		assert_int_not_equal(dwarf_abbrevs_new(abbrevs, cut, 0, &shape, &a), 0);
	assert_int_equal(dwarf_abbrevs_new(abbrevs, sizeof(abbrevs), sizeof(abbrevs), &shape, &a), -ERANGE);
	struct dwarf_unit_shape odd = {5, 2, 4};
	assert_int_equal(dwarf_abbrevs_new(abbrevs, sizeof(abbrevs), 0, &odd, &a), -EINVAL);
}

/* ---- against libdw */

static size_t checked;

static size_t pc_read, pc_none;

/* The DIE's pc range as kiln reads it is libdw's dwarf_ranges(): the same
 * one range, or none when libdw has none; -1 (libdw's to say) is taken
 * only with a range list or forms kiln leaves to libdw. */
static void check_pc_range(struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, Dwarf_Die *die,
                           const uint8_t *unit_end)
{
	uint64_t lo = 0, hi = 0;
	int own = dwarf_die_pc_range(a, u, die->addr, unit_end, &lo, &hi);
	Dwarf_Addr base, dlo, dhi;
	ptrdiff_t off = dwarf_ranges(die, 0, &base, &dlo, &dhi);
	if (own == 1) {
		assert_true(off > 0);
		assert_true(lo == dlo);
		assert_true(hi == dhi);
		assert_true(dwarf_ranges(die, off, &base, &dlo, &dhi) <= 0); /* and only that one */
		pc_read++;
	} else if (own == 0) {
		assert_true(off <= 0);
		pc_none++;
	} else {
		Dwarf_Attribute at;
		bool list = dwarf_attr(die, DW_AT_ranges, &at) != NULL;
		bool pair = dwarf_attr(die, DW_AT_low_pc, &at) != NULL;
		assert_true(list || (pair && dwarf_whatform(&at) != DW_FORM_addr) ||
		            (dwarf_attr(die, DW_AT_high_pc, &at) && dwarf_whatform(&at) == DW_FORM_implicit_const));
	}
}

/* Every DIE below parent: stepped over, it ends where libdw's sibling
 * starts, or at the null entry closing the list when it is the last. */
static void check_children(struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, Dwarf_Die *parent,
                           const uint8_t *unit_end, int depth)
{
	Dwarf_Die child, next;
	if (depth > 200 || dwarf_child(parent, &child) != 0)
		return;
	for (;;) {
		const uint8_t *after = dwarf_die_skip(a, u, child.addr, unit_end);
		assert_non_null(after);
		bool kids = false;
		assert_int_equal(dwarf_die_tag(a, child.addr, unit_end, &kids), dwarf_tag(&child));
		assert_int_equal(kids, dwarf_haschildren(&child) > 0);
		check_pc_range(a, u, &child, unit_end);
		Dwarf_Die first;
		const uint8_t *own_first = NULL;
		int own = dwarf_die_child(a, u, child.addr, unit_end, &own_first);
		assert_int_equal(own, dwarf_child(&child, &first));
		if (own == 0)
			assert_ptr_equal(own_first, first.addr);
		int rc = dwarf_siblingof(&child, &next);
		assert_true(rc == 0 || rc == 1);
		if (rc == 0)
			assert_ptr_equal(after, next.addr);
		else
			assert_int_equal(*after, 0);
		checked++;
		if (dwarf_haschildren(&child) > 0)
			check_children(a, u, &child, unit_end, depth + 1);
		if (rc != 0)
			return;
		child = next;
	}
}

/* Every DIE of path against libdw; returns how many. */
static size_t compare_with_libdw(const char *path)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	Dwarf *dbg = dwarf_begin(fd, DWARF_C_READ);
	assert_non_null(dbg);
	Elf *elf = dwarf_getelf(dbg);
	size_t abbrev_size;
	const uint8_t *abbrev = dwarf_programs_section(elf, ".debug_abbrev", &abbrev_size);
	assert_non_null(abbrev);
	Dwarf_Off off = 0, next, abbrev_off;
	size_t hsize;
	Dwarf_Half version;
	uint8_t asize, osize;
	size_t before = checked;
	while (dwarf_next_unit(dbg, off, &next, &hsize, &version, &abbrev_off, &asize, &osize, NULL, NULL) == 0) {
		Dwarf_Die cudie;
		struct dwarf_unit_shape u = {version, asize, osize};
		struct dwarf_abbrevs *a = NULL;
		if (dwarf_offdie(dbg, off + hsize, &cudie)) {
			assert_int_equal(dwarf_abbrevs_new(abbrev, abbrev_size, abbrev_off, &u, &a), 0);
			const uint8_t *unit_end = (const uint8_t *)cudie.addr + (next - (off + hsize));
			assert_ptr_equal(dwarf_die_skip(a, &u, cudie.addr, unit_end), unit_end);
			check_children(a, &u, &cudie, unit_end, 0);
			dwarf_abbrevs_free(a);
		}
		off = next;
	}
	dwarf_end(dbg);
	close(fd);
	return checked - before;
}

static void test_c_and_self(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_GCC, compare_with_libdw, 10);
	assert_true(compare_with_libdw("/proc/self/exe") > 10);
}

/* clang's DWARF 5 (strx1, addrx, loclistx, implicit_const: forms gcc's
 * builds above do not use) and 64-bit DWARF from clang and gcc. */
static void test_clang_and_dwarf64(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_CLANG, compare_with_libdw, 10);
}

static void test_rust(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_RUST, compare_with_libdw, 10);
	/* read by kiln, not left to libdw: Rust's functions have pc pairs */
	assert_true(pc_read > 1000);
	assert_true(pc_none > 1000);
}

static int setup(void **state)
{
	(void)state;
	return dwarf_programs_setup("dwarf_dies");
}

static int teardown(void **state)
{
	(void)state;
	return dwarf_programs_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand_made),  cmocka_unit_test(test_bad_tables),
	    cmocka_unit_test(test_c_and_self), cmocka_unit_test(test_clang_and_dwarf64),
	    cmocka_unit_test(test_rust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
