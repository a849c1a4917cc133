/* test_dwarf_lines.c - kiln's own line table decoding: hand-made version 4
 * and 5 tables (sequences out of order, overlapping at address 0, ties,
 * addresses going back, file names), every cut of them refused, and every
 * row of real programs (C with DWARF 4 and 5, Rust with std) answered as
 * libdw answers it. */
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
#include "symbols/dwarf_lines.h"
#include "util/strbuf.h"

/* ---- building tables */

static void put_uleb(struct strbuf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		strbuf_addch(b, (char)(c | (v ? 0x80 : 0)));
	} while (v);
}

static void put_sleb(struct strbuf *b, int64_t v)
{
	for (;;) {
		uint8_t c = v & 0x7f;
		v >>= 7;
		bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
		strbuf_addch(b, (char)(c | (done ? 0 : 0x80)));
		if (done)
			return;
	}
}

static void put_fixed(struct strbuf *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		strbuf_addch(b, (char)(v >> (8 * i)));
}

static void put_str(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s) + 1);
}

static void set_address(struct strbuf *p, uint64_t a)
{
	strbuf_addch(p, 0);
	put_uleb(p, 9);
	strbuf_addch(p, DW_LNE_set_address);
	put_fixed(p, a, 8);
}

static void end_sequence(struct strbuf *p)
{
	strbuf_addch(p, 0);
	put_uleb(p, 1);
	strbuf_addch(p, DW_LNE_end_sequence);
}

static void advance_pc(struct strbuf *p, uint64_t n)
{
	strbuf_addch(p, DW_LNS_advance_pc);
	put_uleb(p, n);
}

static void advance_line(struct strbuf *p, int64_t n)
{
	strbuf_addch(p, DW_LNS_advance_line);
	put_sleb(p, n);
}

static void set_file(struct strbuf *p, uint64_t f)
{
	strbuf_addch(p, DW_LNS_set_file);
	put_uleb(p, f);
}

/* A row at the current registers, line set to line (from cur). */
static void row(struct strbuf *p, int64_t *cur, int64_t line)
{
	advance_line(p, line - *cur);
	*cur = line;
	strbuf_addch(p, DW_LNS_copy);
}

/* The program both versions share:
 *   0x2000 line 10, 0x2004 lines 11 and 12 (the last wins), end 0x2010
 *   0x1000 file 2 line 5, end 0x1008 (before the first in address)
 *   0 line 1, end 0x30; 0 line 2, 0x10 line 3, end 0x20 (dropped
 *   functions, overlapping)
 *   0x2010: an empty sequence (its end only)
 *   0x3000 line 7, then back to 0x2ff0 line 8, end 0x3008 (addresses
 *   going back: every row sorted) - only when with_back */
static void program(struct strbuf *p, bool with_back)
{
	int64_t cur = 1;
	set_address(p, 0x2000);
	row(p, &cur, 10);
	advance_pc(p, 4);
	row(p, &cur, 11);
	row(p, &cur, 12);
	advance_pc(p, 12);
	end_sequence(p);
	cur = 1;
	set_address(p, 0x1000);
	set_file(p, 2);
	row(p, &cur, 5);
	advance_pc(p, 8);
	end_sequence(p);
	cur = 1;
	set_address(p, 0);
	row(p, &cur, 1);
	advance_pc(p, 0x30);
	end_sequence(p);
	cur = 1;
	set_address(p, 0);
	row(p, &cur, 2);
	advance_pc(p, 0x10);
	row(p, &cur, 3);
	advance_pc(p, 0x10);
	end_sequence(p);
	set_address(p, 0x2010);
	end_sequence(p);
	if (with_back) {
		cur = 1;
		set_address(p, 0x3000);
		row(p, &cur, 7);
		set_address(p, 0x2ff0);
		row(p, &cur, 8);
		set_address(p, 0x3008);
		end_sequence(p);
	}
}

static const uint8_t std_lengths[] = {0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1};

/* header fields from minimum_instruction_length to the opcode lengths */
static void put_params(struct strbuf *b, int version)
{
	strbuf_addch(b, 1); /* minimum_instruction_length */
	if (version >= 4)
		strbuf_addch(b, 1); /* maximum_operations_per_instruction */
	strbuf_addch(b, 1);         /* default_is_stmt */
	strbuf_addch(b, (char)-5);  /* line_base */
	strbuf_addch(b, 14);        /* line_range */
	strbuf_addch(b, 13);        /* opcode_base */
	strbuf_add(b, std_lengths, sizeof(std_lengths));
}

/* A whole unit: length, version, [v5: sizes], header length, rest. */
static void put_unit(struct strbuf *out, int version, const struct strbuf *hdr, const struct strbuf *prog)
{
	struct strbuf body = STRBUF_INIT;
	put_fixed(&body, (uint64_t)version, 2);
	if (version >= 5) {
		strbuf_addch(&body, 8);
		strbuf_addch(&body, 0);
	}
	put_fixed(&body, hdr->len, 4);
	strbuf_add(&body, hdr->buf, hdr->len);
	strbuf_add(&body, prog->buf, prog->len);
	put_fixed(out, body.len, 4);
	strbuf_add(out, body.buf, body.len);
	strbuf_release(&body);
}

static void make_v4(struct strbuf *out, bool with_back)
{
	struct strbuf hdr = STRBUF_INIT, prog = STRBUF_INIT;
	put_params(&hdr, 4);
	put_str(&hdr, "inc");
	strbuf_addch(&hdr, 0);
	const char *files[] = {"a.c", "b.h", "/abs/c.c"};
	const int dirs[] = {0, 1, 0};
	for (int i = 0; i < 3; i++) {
		put_str(&hdr, files[i]);
		put_uleb(&hdr, (uint64_t)dirs[i]);
		put_uleb(&hdr, 0);
		put_uleb(&hdr, 0);
	}
	strbuf_addch(&hdr, 0);
	program(&prog, with_back);
	put_unit(out, 4, &hdr, &prog);
	strbuf_release(&hdr);
	strbuf_release(&prog);
}

static void check_answers(struct dwarf_lines *t, const char *file1, const char *file2)
{
	static const struct {
		uint64_t addr;
		int line; /* -1: no row */
		int file;
	} want[] = {
	    {0x2000, 10, 1}, {0x2003, 10, 1}, {0x2004, 12, 1}, {0x200f, 12, 1}, {0x2010, -1, 0}, {0x2011, -1, 0},
	    {0x1000, 5, 2},  {0x1007, 5, 2},  {0x1008, -1, 0}, {0x0, 2, 1},     {0xf, 2, 1},     {0x10, 3, 1},
	    {0x1f, 3, 1},    {0x20, -1, 0},   {0x2f, -1, 0},   {0x30, -1, 0},   {0x800, -1, 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t f = 99, l = 99;
		bool found = dwarf_lines_find(t, want[i].addr, &f, &l);
		if (want[i].line < 0) {
			assert_false(found);
			continue;
		}
		assert_true(found);
		assert_int_equal(l, want[i].line);
		assert_string_equal(dwarf_lines_file(t, f), want[i].file == 1 ? file1 : file2);
	}
}

static const struct dwarf_line_sections *sections_of(const struct strbuf *b, struct dwarf_line_sections *s)
{
	memset(s, 0, sizeof(*s));
	s->line = (const uint8_t *)b->buf;
	s->line_size = b->len;
	return s;
}

static void test_v4_table(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	put_str(&b, "pad"); /* the unit at an offset */
	size_t off = b.len;
	make_v4(&b, false);
	struct dwarf_line_sections s;
	struct dwarf_lines *t = NULL;
	assert_int_equal(dwarf_lines_new(sections_of(&b, &s), off, 8, "/src", &t), 0);
	assert_int_equal(dwarf_lines_file_count(t), 4);
	assert_string_equal(dwarf_lines_file(t, 0), "???");
	assert_string_equal(dwarf_lines_file(t, 3), "/abs/c.c");
	assert_null(dwarf_lines_file(t, 4));
	check_answers(t, "/src/a.c", "inc/b.h");
	dwarf_lines_free(t);
	/* without a comp_dir, libdw makes the name absolute */
	assert_int_equal(dwarf_lines_new(&s, off, 8, NULL, &t), 0);
	assert_string_equal(dwarf_lines_file(t, 1), "/a.c");
	dwarf_lines_free(t);
	assert_int_equal(dwarf_lines_new(&s, b.len, 8, NULL, &t), -ERANGE);
	strbuf_release(&b);
}

static void test_addresses_going_back(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	make_v4(&b, true);
	struct dwarf_line_sections s;
	struct dwarf_lines *t = NULL;
	assert_int_equal(dwarf_lines_new(sections_of(&b, &s), 0, 8, "/src", &t), 0);
	check_answers(t, "/src/a.c", "inc/b.h");
	uint32_t f, l;
	assert_true(dwarf_lines_find(t, 0x2ff0, &f, &l));
	assert_int_equal(l, 8);
	assert_true(dwarf_lines_find(t, 0x3004, &f, &l));
	assert_int_equal(l, 7);
	assert_false(dwarf_lines_find(t, 0x3008, &f, &l));
	dwarf_lines_free(t);
	strbuf_release(&b);
}

/* Version 5: directories and files by entry formats, names in
 * .debug_line_str and .debug_str, an MD5 skipped, file 0 a real file. */
static void test_v5_table(void **state)
{
	(void)state;
	struct strbuf line_str = STRBUF_INIT, str = STRBUF_INIT, hdr = STRBUF_INIT, prog = STRBUF_INIT, b = STRBUF_INIT;
	put_str(&line_str, "x");
	size_t dir0 = line_str.len;
	put_str(&line_str, "/src");
	size_t dir1 = line_str.len;
	put_str(&line_str, "inc");
	put_str(&str, "y");
	size_t f1 = str.len;
	put_str(&str, "b.h");
	put_params(&hdr, 5);
	strbuf_addch(&hdr, 1); /* directory formats: path as line_strp */
	put_uleb(&hdr, DW_LNCT_path);
	put_uleb(&hdr, DW_FORM_line_strp);
	put_uleb(&hdr, 2);
	put_fixed(&hdr, dir0, 4);
	put_fixed(&hdr, dir1, 4);
	strbuf_addch(&hdr, 3); /* file formats: path (strp), index (udata), MD5 */
	put_uleb(&hdr, DW_LNCT_path);
	put_uleb(&hdr, DW_FORM_strp);
	put_uleb(&hdr, DW_LNCT_directory_index);
	put_uleb(&hdr, DW_FORM_udata);
	put_uleb(&hdr, DW_LNCT_MD5);
	put_uleb(&hdr, DW_FORM_data16);
	put_uleb(&hdr, 3);
	const int dirs[] = {0, 0, 1};
	for (int i = 0; i < 3; i++) {
		put_fixed(&hdr, f1, 4);
		put_uleb(&hdr, (uint64_t)dirs[i]);
		put_fixed(&hdr, 0x1111111111111111u, 8);
		put_fixed(&hdr, 0x2222222222222222u, 8);
	}
	program(&prog, false);
	put_unit(&b, 5, &hdr, &prog);
	struct dwarf_line_sections s = {(const uint8_t *)b.buf,
	                                (const uint8_t *)line_str.buf,
	                                (const uint8_t *)str.buf,
	                                b.len,
	                                line_str.len,
	                                str.len};
	struct dwarf_lines *t = NULL;
	assert_int_equal(dwarf_lines_new(&s, 0, 4 /* the header's 8 is taken */, "/cu", &t), 0);
	assert_int_equal(dwarf_lines_file_count(t), 3);
	assert_string_equal(dwarf_lines_file(t, 0), "/src/b.h");
	check_answers(t, "/src/b.h", "inc/b.h");
	dwarf_lines_free(t);
	/* a string section cut before a name's NUL: refused */
	s.str_size = f1 + 2;
	assert_int_equal(dwarf_lines_new(&s, 0, 8, "/cu", &t), -EINVAL);
	strbuf_release(&line_str);
	strbuf_release(&str);
	strbuf_release(&hdr);
	strbuf_release(&prog);
	strbuf_release(&b);
}

/* Every cut of a table, with its unit length still claiming the whole,
 * is refused without reading past the cut (ASan's build checks). */
static void test_cut_tables(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	make_v4(&b, true);
	for (size_t cut = 0; cut < b.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, b.buf, cut);
		struct dwarf_line_sections s = {copy, NULL, NULL, cut, 0, 0};
		struct dwarf_lines *t = NULL;
		int rc = dwarf_lines_new(&s, 0, 8, "/src", &t);
		assert_true(rc == -EINVAL || rc == -ERANGE);
		free(copy);
	}
	strbuf_release(&b);
}

/* ---- against libdw, on real programs */

/* Every CU of path: at every row's address, one below and one above,
 * kiln's answer is libdw's. Returns the number of addresses compared. */
static size_t compare_with_libdw(const char *path)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	Dwarf *dbg = dwarf_begin(fd, DWARF_C_READ);
	assert_non_null(dbg);
	Elf *elf = dwarf_getelf(dbg);
	struct dwarf_line_sections secs = {0};
	secs.line = dwarf_programs_section(elf, ".debug_line", &secs.line_size);
	secs.line_str = dwarf_programs_section(elf, ".debug_line_str", &secs.line_str_size);
	secs.str = dwarf_programs_section(elf, ".debug_str", &secs.str_size);
	size_t compared = 0, cus = 0;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cudie;
		Dwarf_Attribute a;
		Dwarf_Word stmt;
		Dwarf_Lines *lines;
		size_t n;
		if (dwarf_offdie(dbg, off + hsize, &cudie) && dwarf_attr(&cudie, DW_AT_stmt_list, &a) &&
		    dwarf_formudata(&a, &stmt) == 0 && dwarf_getsrclines(&cudie, &lines, &n) == 0) {
			const char *comp_dir = dwarf_attr(&cudie, DW_AT_comp_dir, &a) ? dwarf_formstring(&a) : NULL;
			struct dwarf_lines *t = NULL;
			assert_int_equal(dwarf_lines_new(&secs, stmt, 8, comp_dir, &t), 0);
			assert_int_equal(dwarf_lines_row_count(t), n);
			cus++;
			for (size_t i = 0; i < n; i++) {
				Dwarf_Addr base;
				dwarf_lineaddr(dwarf_onesrcline(lines, i), &base);
				for (int d = -1; d <= 1; d++) {
					Dwarf_Addr addr = base + (Dwarf_Addr)d;
					Dwarf_Line *l = dwarf_getsrc_die(&cudie, addr);
					int lineno = 0;
					const char *src = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
					if (l)
						dwarf_lineno(l, &lineno);
					uint32_t f = 0, line = 0;
					bool found = dwarf_lines_find(t, addr, &f, &line);
					if (found != (l != NULL))
						fprintf(stderr, "%s: 0x%lx kiln %d libdw %d\n", path,
						        (unsigned long)addr, found, l != NULL);
					assert_int_equal(found, l != NULL);
					if (found) {
						const char *mine = dwarf_lines_file(t, f);
						assert_int_equal(mine != NULL, src != NULL);
						if (src)
							assert_string_equal(mine, src);
						assert_int_equal(line, lineno > 0 ? lineno : 0);
					}
					compared++;
				}
			}
			dwarf_lines_free(t);
		}
		off = next;
	}
	assert_true(cus > 0);
	dwarf_end(dbg);
	close(fd);
	return compared;
}

static void test_c_dwarf4_and_5(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_GCC, compare_with_libdw, 10);
	/* kiln's own test binary: many CUs of gcc's DWARF 5 */
	assert_true(compare_with_libdw("/proc/self/exe") > 1000);
}

/* clang's DWARF 5 (MD5 checksums, its own vendor entry fields) and 64-bit
 * DWARF from clang and gcc: the headers and forms gcc's 32-bit builds
 * above do not have. */
static void test_clang_and_dwarf64(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_CLANG, compare_with_libdw, 10);
}

/* A Rust program carries std's line table: one CU of tens of thousands
 * of rows, with the sequences of dropped functions at address 0. */
static void test_rust_std(void **state)
{
	(void)state;
	dwarf_programs_compare(DWARF_PROGRAMS_RUST, compare_with_libdw, 10000);
}

static int setup(void **state)
{
	(void)state;
	return dwarf_programs_setup("dwarf_lines");
}

static int teardown(void **state)
{
	(void)state;
	return dwarf_programs_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_table),       cmocka_unit_test(test_addresses_going_back),
	    cmocka_unit_test(test_v5_table),       cmocka_unit_test(test_cut_tables),
	    cmocka_unit_test(test_c_dwarf4_and_5), cmocka_unit_test(test_clang_and_dwarf64),
	    cmocka_unit_test(test_rust_std),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
