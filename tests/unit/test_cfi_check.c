/* test_cfi_check.c - the CFI validator on hand-made .eh_frame and
 * .debug_frame bytes: sane entries pass; a register >= 128 in a rule, a huge
 * LEB128 register, a return address column of 300, a hidden FDE that only
 * the .eh_frame_hdr table reaches, all fail; truncated operands fail without
 * a read past the section (the bytes sit at the end of a heap block, for
 * ASan); and the fuzzer's out-of-memory input opens with its CFI refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dwarf.h>
#include <errno.h>
#include <gelf.h>

#include "unwind/cfi.h"
#include "unwind/cfi_check.h"

static const unsigned char ident64[EI_NIDENT] = {ELFMAG0,    ELFMAG1,     ELFMAG2,   ELFMAG3,
                                                 ELFCLASS64, ELFDATA2LSB, EV_CURRENT};

struct sec {
	uint8_t b[8192];
	size_t n;
	bool eh; /* .eh_frame format, else .debug_frame */
};

static void put(struct sec *s, const void *p, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void u8(struct sec *s, uint8_t v)
{
	put(s, &v, 1);
}

static void u32(struct sec *s, uint32_t v)
{
	put(s, &v, 4); /* little-endian host */
}

static void u64(struct sec *s, uint64_t v)
{
	put(s, &v, 8);
}

static void uleb(struct sec *s, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		u8(s, b | (v ? 0x80 : 0));
	} while (v);
}

/* Pads the entry that starts at `start` with DW_CFA_nop to a multiple of
 * 4 bytes and writes its length; pad false leaves it as it is. */
static void finish(struct sec *s, size_t start, bool pad)
{
	while (pad && (s->n - start) % 4)
		u8(s, DW_CFA_nop);
	uint32_t len = (uint32_t)(s->n - start - 4);
	memcpy(s->b + start, &len, 4);
}

/* A CIE "zR" (eh) or "" (debug), code alignment 1, data alignment -8, FDE
 * addresses pcrel|sdata4 (eh) or absolute; version 1 stores the return
 * address column in a byte, 3 in a ULEB128. Returns its offset. */
static size_t cie(struct sec *s, uint8_t version, uint64_t ra, const uint8_t *insns, size_t n)
{
	size_t start = s->n;

	u32(s, 0);
	u32(s, s->eh ? 0 : 0xffffffffu);
	u8(s, version);
	put(s, s->eh ? "zR" : "", s->eh ? 3 : 1);
	uleb(s, 1);
	u8(s, 0x78); /* sleb128 -8 */
	if (version == 1)
		u8(s, (uint8_t)ra);
	else
		uleb(s, ra);
	if (s->eh) {
		uleb(s, 1);
		u8(s, DW_EH_PE_pcrel | DW_EH_PE_sdata4);
	}
	put(s, insns, n);
	finish(s, start, true);
	return start;
}

/* An FDE of cie_off covering 0x100 bytes; pad false ends it right after
 * insns. Returns its offset. */
static size_t fde(struct sec *s, size_t cie_off, const uint8_t *insns, size_t n, bool pad)
{
	size_t start = s->n;

	u32(s, 0);
	if (s->eh) {
		u32(s, (uint32_t)(start + 4 - cie_off));
		u32(s, 0x1000);
		u32(s, 0x100);
		uleb(s, 0); /* augmentation data length */
	} else {
		u32(s, (uint32_t)cie_off);
		u64(s, 0x401000);
		u64(s, 0x100);
	}
	put(s, insns, n);
	finish(s, start, pad);
	return start;
}

/* The CIE instructions of every x86-64 object: CFA = rsp + 8, ra at cfa-8. */
static const uint8_t cie_insns[] = {DW_CFA_def_cfa, 7, 8, DW_CFA_offset | 16, 1};
/* push rbp; mov rbp, rsp; ...; a frame that uses every operand shape */
static const uint8_t sane_insns[] = {DW_CFA_advance_loc | 1,
                                     DW_CFA_def_cfa_offset,
                                     16,
                                     DW_CFA_offset | 6,
                                     2,
                                     DW_CFA_advance_loc1,
                                     3,
                                     DW_CFA_def_cfa_register,
                                     6,
                                     DW_CFA_advance_loc2,
                                     1,
                                     0,
                                     DW_CFA_remember_state,
                                     DW_CFA_offset_extended,
                                     3,
                                     3,
                                     DW_CFA_val_offset,
                                     12,
                                     4,
                                     DW_CFA_register,
                                     13,
                                     14,
                                     DW_CFA_undefined,
                                     15,
                                     DW_CFA_same_value,
                                     127,
                                     DW_CFA_expression,
                                     5,
                                     2,
                                     DW_OP_breg7,
                                     0x10,
                                     DW_CFA_def_cfa_expression,
                                     3,
                                     DW_OP_breg6,
                                     0x10,
                                     DW_OP_deref,
                                     DW_CFA_advance_loc4,
                                     1,
                                     0,
                                     0,
                                     0,
                                     DW_CFA_restore_state,
                                     DW_CFA_restore | 6,
                                     DW_CFA_restore_extended,
                                     3,
                                     DW_CFA_GNU_args_size,
                                     0x80,
                                     0x01,
                                     DW_CFA_def_cfa,
                                     7,
                                     8};

static bool check(const struct sec *s)
{
	/* An exact-size heap copy: a read past it is an ASan error. */
	uint8_t *copy = malloc(s->n);
	assert_non_null(copy);
	memcpy(copy, s->b, s->n);
	Elf_Data d = {.d_buf = copy, .d_size = s->n, .d_type = ELF_T_BYTE};
	bool ok = cfi_check_section(ident64, &d, s->eh, 0x3000, NULL);
	free(copy);
	return ok;
}

/* One CIE (sane) and one FDE with the given instructions. */
static bool check_fde(bool eh, const uint8_t *insns, size_t n)
{
	struct sec s = {.eh = eh};
	size_t c = cie(&s, 1, 16, cie_insns, sizeof(cie_insns));
	fde(&s, c, insns, n, true);
	return check(&s);
}

static void test_sane(void **state)
{
	(void)state;
	assert_true(check_fde(true, sane_insns, sizeof(sane_insns)));
	assert_true(check_fde(false, sane_insns, sizeof(sane_insns)));
	/* and with the terminator ld writes, and an empty section */
	struct sec s = {.eh = true};
	fde(&s, cie(&s, 1, 16, cie_insns, sizeof(cie_insns)), sane_insns, sizeof(sane_insns), true);
	u32(&s, 0);
	assert_true(check(&s));
	s.n = 0;
	assert_true(check(&s));
}

static void test_register_200(void **state)
{
	(void)state;
	const uint8_t insns[] = {DW_CFA_advance_loc | 4, DW_CFA_offset_extended, 0xc8, 0x01, 2};
	assert_false(check_fde(true, insns, sizeof(insns)));
	assert_false(check_fde(false, insns, sizeof(insns)));
	/* 127 is the last one allowed */
	const uint8_t ok[] = {DW_CFA_offset_extended, 127, 2};
	assert_true(check_fde(true, ok, sizeof(ok)));
	const uint8_t other[][4] = {
	    {DW_CFA_undefined, 0x80, 0x01},
	    {DW_CFA_same_value, 0x80, 0x01},
	    {DW_CFA_restore_extended, 0x80, 0x01},
	    {DW_CFA_register, 3, 0x80, 0x01},
	    {DW_CFA_val_offset, 0x80, 0x01, 1},
	    {DW_CFA_def_cfa, 0x90, 0x01, 8},
	    {DW_CFA_expression, 0x80, 0x01, 0},
	    {DW_CFA_offset_extended_sf, 0x80, 0x01, 0x7f},
	    {DW_CFA_GNU_negative_offset_extended, 0x80, 0x01, 1},
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_false(check_fde(true, other[i], 4));
}

static void test_huge_uleb(void **state)
{
	(void)state;
	/* the fuzzer's register, 0x0ffffff7: libdw would allocate 4 GiB */
	const uint8_t insns[] = {DW_CFA_same_value, 0xf7, 0xff, 0xff, 0x7f};
	assert_false(check_fde(true, insns, sizeof(insns)));
	/* more than 64 bits, and more than the 10 bytes libdw reads */
	const uint8_t wide[] = {DW_CFA_undefined, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	assert_false(check_fde(true, wide, sizeof(wide)));
	const uint8_t long_[] = {DW_CFA_undefined, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	assert_false(check_fde(true, long_, sizeof(long_)));
	/* a padded encoding of a small number is still that number */
	const uint8_t padded[] = {DW_CFA_undefined, 0x85, 0x80, 0x80, 0x00};
	assert_true(check_fde(true, padded, sizeof(padded)));
}

static void test_truncated(void **state)
{
	(void)state;
	/* Each stream ends inside an operand, and the FDE is the last bytes
	 * of the section: nothing may be read past it. */
	const uint8_t cut[][4] = {
	    {DW_CFA_def_cfa_offset, 0x80},
	    {DW_CFA_offset | 3},
	    {DW_CFA_undefined},
	    {DW_CFA_def_cfa, 7},
	    {DW_CFA_advance_loc2, 1},
	    {DW_CFA_expression, 3, 4, 0},
	    {DW_CFA_def_cfa_expression, 9},
	    {DW_CFA_register, 3, 0x81},
	    {DW_CFA_set_loc, 0, 0},
	    {DW_CFA_offset_extended_sf, 0x83},
	    {DW_CFA_advance_loc1},
	};
	const size_t len[] = {2, 1, 1, 2, 2, 4, 2, 3, 3, 2, 1};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		struct sec s = {.eh = true};
		fde(&s, cie(&s, 1, 16, cie_insns, sizeof(cie_insns)), cut[i], len[i], false);
		assert_false(check(&s));
	}
	/* a length that runs past the section ends the walk, as in libdw */
	struct sec s = {.eh = true};
	cie(&s, 1, 16, cie_insns, sizeof(cie_insns));
	u32(&s, 0x100);
	u32(&s, 0);
	assert_true(check(&s));
}

static void test_return_address_300(void **state)
{
	(void)state;
	struct sec s = {.eh = true};
	fde(&s, cie(&s, 3, 300, cie_insns, sizeof(cie_insns)), sane_insns, sizeof(sane_insns), true);
	assert_false(check(&s));
	/* even with no FDE using it */
	s.n = 0;
	cie(&s, 3, 300, cie_insns, sizeof(cie_insns));
	assert_false(check(&s));
	s.n = 0;
	fde(&s, cie(&s, 3, 16, cie_insns, sizeof(cie_insns)), sane_insns, sizeof(sane_insns), true);
	assert_true(check(&s));
	/* and in the CIE's own instructions */
	const uint8_t bad_cie[] = {DW_CFA_def_cfa, 7, 8, DW_CFA_offset_extended, 0xac, 0x02, 1};
	s.n = 0;
	cie(&s, 1, 16, bad_cie, sizeof(bad_cie));
	assert_false(check(&s));
}

/* DW_CFA_set_loc's operand is sized by the CIE's 'R' encoding (sdata4 in
 * .eh_frame, 8 bytes in .debug_frame); an operand that looks like
 * "DW_CFA_undefined 200" is skipped, not decoded. */
static void test_set_loc(void **state)
{
	(void)state;
	const uint8_t eh[] = {DW_CFA_set_loc, DW_CFA_undefined, 0xc8, 0x01, 0, DW_CFA_def_cfa_offset, 16};
	assert_true(check_fde(true, eh, sizeof(eh)));
	const uint8_t dbg[] = {DW_CFA_set_loc, DW_CFA_undefined, 0xc8, 0x01, 0, 0, 0, 0, 0, DW_CFA_def_cfa_offset, 16};
	assert_true(check_fde(false, dbg, sizeof(dbg)));
	const uint8_t bad[] = {DW_CFA_set_loc, 1, 2, 3, 4, DW_CFA_undefined, 0xc8, 0x01};
	assert_false(check_fde(true, bad, sizeof(bad)));
}

/* libdw fails an entry at an opcode it does not know, so what follows never
 * runs and is not held against the section. */
static void test_unknown_opcode(void **state)
{
	(void)state;
	const uint8_t insns[] = {DW_CFA_def_cfa_offset, 16, 0x3f, DW_CFA_undefined, 0xc8, 0x01};
	assert_true(check_fde(true, insns, sizeof(insns)));
	const uint8_t before[] = {DW_CFA_undefined, 0xc8, 0x01, 0x3f};
	assert_false(check_fde(true, before, sizeof(before)));
}

/* An FDE after the terminator is out of the walk's (and libdw's linear
 * search's) reach; only .eh_frame_hdr's table can send libdw there. */
static void test_search_table(void **state)
{
	(void)state;
	const uint64_t hdr_vaddr = 0x2000, frame_vaddr = 0x3000;
	const uint8_t bad[] = {DW_CFA_same_value, 0xf7, 0xff, 0xff, 0x7f};
	struct sec s = {.eh = true}, h = {.eh = true};
	size_t c = cie(&s, 1, 16, cie_insns, sizeof(cie_insns));
	size_t good = fde(&s, c, sane_insns, sizeof(sane_insns), true);
	u32(&s, 0);
	size_t hidden = fde(&s, c, bad, sizeof(bad), true);
	Elf_Data d = {.d_buf = s.b, .d_size = s.n, .d_type = ELF_T_BYTE};
	uint64_t vaddr = 0;

	u8(&h, 1);
	u8(&h, DW_EH_PE_pcrel | DW_EH_PE_sdata4);
	u8(&h, DW_EH_PE_udata4);
	u8(&h, DW_EH_PE_datarel | DW_EH_PE_sdata4);
	u32(&h, (uint32_t)(frame_vaddr - (hdr_vaddr + 4)));
	u32(&h, 1);
	u32(&h, 0x1000);
	u32(&h, (uint32_t)(frame_vaddr + good - hdr_vaddr));
	struct cfi_check_hdr hdr = {h.b, h.n, hdr_vaddr};
	assert_int_equal(cfi_check_hdr_eh_frame(ident64, &hdr, &vaddr), 0);
	assert_int_equal(vaddr, frame_vaddr);
	assert_true(cfi_check_section(ident64, &d, true, frame_vaddr, &hdr));
	assert_true(cfi_check_section(ident64, &d, true, frame_vaddr, NULL));

	uint32_t to_hidden = (uint32_t)(frame_vaddr + hidden - hdr_vaddr);
	memcpy(h.b + 16, &to_hidden, 4);
	assert_false(cfi_check_section(ident64, &d, true, frame_vaddr, &hdr));
	/* libdw ignores a table made for another .eh_frame */
	assert_true(cfi_check_section(ident64, &d, true, frame_vaddr + 0x10, &hdr));
	/* an encoding libdw would follow but we do not: refused */
	h.b[3] = DW_EH_PE_aligned | DW_EH_PE_sdata4;
	assert_false(cfi_check_section(ident64, &d, true, frame_vaddr, &hdr));
	h.b[0] = 2;
	assert_int_equal(cfi_check_hdr_eh_frame(ident64, &hdr, &vaddr), -EINVAL);
}

/* More CIEs than the checker keeps at once, used in turn. */
static void test_many_cies(void **state)
{
	(void)state;
	struct sec s = {.eh = true};
	size_t c[40];

	for (size_t i = 0; i < 40; i++)
		c[i] = cie(&s, 1, 16, cie_insns, sizeof(cie_insns));
	for (size_t i = 0; i < 120; i++)
		fde(&s, c[i * 7 % 40], sane_insns, 8, true);
	assert_true(check(&s));
	s.b[c[33] + 14] = 200; /* one return address column */
	assert_false(check(&s));
}

static size_t nested_size(unsigned depth)
{
	size_t n = 4 + 4 + 4 + 4 + 1 + 2, inner;
	for (unsigned d = 1; d <= depth; d++) {
		inner = n;
		n = 17 + 1 + (inner < 128 ? 1 : inner < 16384 ? 2 : 3) + inner;
	}
	return n;
}

/* An FDE whose instructions (a DW_CFA_def_cfa_expression block) hold an
 * FDE, which holds another, depth deep; off[d] is where level d starts. */
static void nested(struct sec *s, size_t cie_off, unsigned depth, size_t *off)
{
	size_t start = s->n;

	off[depth] = start;
	u32(s, 0);
	u32(s, (uint32_t)(start + 4 - cie_off));
	u32(s, 0x1000);
	u32(s, 0x100);
	uleb(s, 0);
	if (depth == 0) {
		u8(s, DW_CFA_def_cfa_offset);
		u8(s, 16);
	} else {
		u8(s, DW_CFA_def_cfa_expression);
		uleb(s, nested_size(depth - 1));
		nested(s, cie_off, depth - 1, off);
	}
	finish(s, start, false);
	assert_int_equal(s->n - start, nested_size(depth));
}

/* A table that names every level of a nested FDE makes the reading
 * quadratic; the checker gives up (and refuses) instead. */
static void test_overlap_budget(void **state)
{
	(void)state;
	enum { DEPTH = 150 };
	const uint64_t hdr_vaddr = 0x2000, frame_vaddr = 0x3000;
	struct sec s = {.eh = true}, h = {.eh = true};
	size_t off[DEPTH + 1];
	unsigned entries = DEPTH + 1;

	nested(&s, cie(&s, 1, 16, cie_insns, sizeof(cie_insns)), DEPTH, off);
	u32(&s, 0);
	Elf_Data d = {.d_buf = s.b, .d_size = s.n, .d_type = ELF_T_BYTE};
	for (int pass = 0; pass < 2; pass++) {
		h.n = 0;
		u8(&h, 1);
		u8(&h, DW_EH_PE_pcrel | DW_EH_PE_sdata4);
		u8(&h, DW_EH_PE_udata4);
		u8(&h, DW_EH_PE_datarel | DW_EH_PE_sdata4);
		u32(&h, (uint32_t)(frame_vaddr - (hdr_vaddr + 4)));
		u32(&h, entries);
		for (unsigned i = 0; i < entries; i++) {
			u32(&h, 0x1000 + i);
			u32(&h, (uint32_t)(frame_vaddr + off[DEPTH - i] - hdr_vaddr));
		}
		struct cfi_check_hdr hdr = {h.b, h.n, hdr_vaddr};
		/* the outermost alone is fine; all of them is too much reading */
		assert_int_equal(cfi_check_section(ident64, &d, true, frame_vaddr, &hdr), entries == 1);
		entries = 1;
	}
	assert_true(cfi_check_section(ident64, &d, true, frame_vaddr, NULL));
}

/* x86-64 only: the fuzz seed is an x86-64 image, which the aarch64 build
 * does not open. */
#if defined(__x86_64__)
/* The fuzzer's input (a .debug_frame rule for register 0x0ffffff7) opens,
 * and its .debug_frame is refused instead of replayed. */
static void test_fuzz_oom_input(void **state)
{
	(void)state;
	const char *dir = getenv("KILN_TEST_DATA");
	char path[1024];
	static uint8_t buf[65536];
	struct cfi_module m = {.path = "oom", .fd = -1};
	struct cfi_row row;
	struct cfi_op_pool pool = {0};
	uint32_t len;

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/fuzz/corpus/fuzz_unwind_cfi/debug_frame_huge_register", dir);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t size = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	memcpy(&len, buf, 4);
	assert_true(4 + (size_t)len <= size);
	assert_int_equal(cfi_module_open_memory(&m, buf + 4, len), 0);
	for (uint64_t pc = 0x2a0; pc < 0x320; pc += 4)
		cfi_module_compile(&m, pc, &row, &pool);
	assert_true(m.debug_tried);
	assert_null(m.debug_cfi);
	cfi_module_close(&m);
	vec_free(&pool.ops);
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sane),
		cmocka_unit_test(test_register_200),
		cmocka_unit_test(test_huge_uleb),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_return_address_300),
		cmocka_unit_test(test_set_loc),
		cmocka_unit_test(test_unknown_opcode),
		cmocka_unit_test(test_search_table),
		cmocka_unit_test(test_many_cies),
		cmocka_unit_test(test_overlap_budget),
#if defined(__x86_64__)
		cmocka_unit_test(test_fuzz_oom_input),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
