/* test_eh_frame.c - the shared .eh_frame decoder (capture/eh_frame.c) on
 * hand-made bytes: LEB128 edges, encoded pointers, a CIE and its FDE, an
 * .eh_frame_hdr search. Built twice (tests/CMakeLists.txt): against kiln's
 * build of the decoders and, as test_eh_frame_agent, the agent's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/eh_frame.h"

static struct ehf_reader reader(const void *p, size_t n)
{
	struct ehf_reader r;
	ehf_reader_init(&r, p, n, 0);
	return r;
}

static void test_uleb(void **state)
{
	(void)state;
	static const uint8_t one[] = {0x7f}, two[] = {0xe5, 0x8e, 0x26}, cut[] = {0x80, 0x80};
	struct ehf_reader r = reader(one, sizeof(one));
	assert_int_equal(ehf_uleb(&r), 127);
	assert_false(r.bad);
	r = reader(two, sizeof(two));
	assert_int_equal(ehf_uleb(&r), 624485);
	assert_ptr_equal(r.p, two + 3);
	r = reader(cut, sizeof(cut));
	ehf_uleb(&r);
	assert_true(r.bad); /* runs into the end */
	/* eleven bytes: libdw stops after ten and reads the value as too big */
	uint8_t longer[11];
	memset(longer, 0x80, sizeof(longer));
	longer[10] = 0x01;
	r = reader(longer, sizeof(longer));
	assert_int_equal(ehf_uleb(&r), UINT64_MAX);
	assert_false(r.bad);
	assert_ptr_equal(r.p, longer + EHF_LEB_MAX);
	/* the largest value: nine 7-bit groups and a final bit */
	static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
	r = reader(max, sizeof(max));
	assert_int_equal(ehf_uleb(&r), (1ull << 63) - 1);
}

static void test_sleb(void **state)
{
	(void)state;
	static const uint8_t m1[] = {0x7f}, m128[] = {0x80, 0x7f}, p63[] = {0x3f}, big[] = {0x80, 0x01};
	struct ehf_reader r = reader(m1, sizeof(m1));
	assert_int_equal(ehf_sleb(&r), -1);
	r = reader(m128, sizeof(m128));
	assert_int_equal(ehf_sleb(&r), -128);
	r = reader(p63, sizeof(p63));
	assert_int_equal(ehf_sleb(&r), 63);
	r = reader(big, sizeof(big));
	assert_int_equal(ehf_sleb(&r), 128);
	static const uint8_t min[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
	r = reader(min, sizeof(min));
	assert_int_equal(ehf_sleb(&r), INT64_MIN);
	assert_false(r.bad);
}

static void test_fixed_and_swap(void **state)
{
	(void)state;
	static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04};
	struct ehf_reader r = reader(b, sizeof(b));
	assert_int_equal(ehf_fixed(&r, 4), 0x04030201);
	r = reader(b, sizeof(b));
	r.swap = true;
	assert_int_equal(ehf_fixed(&r, 4), 0x01020304);
	r = reader(b, 3);
	assert_int_equal(ehf_fixed(&r, 4), 0);
	assert_true(r.bad);
	assert_int_equal(ehf_fixed(&r, 1), 0); /* bad stays bad */
}

static void test_encoded_pointers(void **state)
{
	(void)state;
	uint8_t b[8];
	int32_t v = -16;
	memcpy(b, &v, 4);
	bool ind;
	/* pc-relative: from the value's own address in the program */
	struct ehf_reader r;
	ehf_reader_init(&r, b, 4, 0x1000 - (uint64_t)(uintptr_t)b);
	assert_int_equal(ehf_pe_read(&r, EHF_PE_PCREL | EHF_PE_SDATA4, NULL, &ind), 0x1000 - 16);
	assert_false(ind);
	/* datarel needs its base */
	r = reader(b, 4);
	ehf_pe_read(&r, EHF_PE_DATAREL | EHF_PE_SDATA4, NULL, &ind);
	assert_true(r.bad);
	struct ehf_bases bases = {.has_datarel = true, .datarel = 0x5000};
	r = reader(b, 4);
	assert_int_equal(ehf_pe_read(&r, EHF_PE_DATAREL | EHF_PE_SDATA4, &bases, &ind), 0x5000 - 16);
	/* udata2, indirect flag passed on; aligned refused */
	r = reader(b, 4);
	assert_int_equal(ehf_pe_read(&r, EHF_PE_INDIRECT | EHF_PE_UDATA2, NULL, &ind), 0xfff0);
	assert_true(ind);
	r = reader(b, 4);
	ehf_pe_read(&r, EHF_PE_ALIGNED | EHF_PE_UDATA4, NULL, &ind);
	assert_true(r.bad);
	/* absptr follows the reader's address size */
	r = reader(b, 4);
	r.addr_size = 4;
	assert_int_equal(ehf_pe_value(&r, EHF_PE_ABSPTR), 0xfffffff0u);
	assert_int_equal(ehf_pe_fixed_size(EHF_PE_ABSPTR, 4), 4);
	assert_int_equal(ehf_pe_fixed_size(EHF_PE_SDATA8, 4), 8);
	assert_int_equal(ehf_pe_fixed_size(EHF_PE_ULEB128, 8), 0);
	r = reader(b, 4);
	ehf_pe_value(&r, 0x07); /* no such format */
	assert_true(r.bad);
}

/* A CIE "zRS" (pcrel sdata4 FDEs, a signal frame) and one FDE for
 * [0x40, 0x60) relative to its own field, laid out as .eh_frame. */
static size_t make_frame(uint8_t *f)
{
	static const uint8_t cie[] = {
	    0x14, 0,    0,    0, /* length 20 */
	    0,    0,    0,    0, /* CIE id */
	    1,                   /* version */
	    'z',  'R',  'S',  0, /* augmentation */
	    0x01,                /* code align 1 */
	    0x78,                /* data align -8 */
	    0x10,                /* return address column 16 */
	    0x01, 0x1b,          /* augmentation data: R = pcrel|sdata4 */
	    0x0c, 0x07, 0x08,    /* def_cfa r7+8 */
	    0x90, 0x01,          /* offset r16 at cfa-8 */
	    0x00, 0x00,          /* padding */
	};
	memcpy(f, cie, sizeof(cie));
	size_t fde = sizeof(cie);
	static const uint8_t head[] = {0x14, 0, 0, 0};
	memcpy(f + fde, head, 4);
	uint32_t back = (uint32_t)(fde + 4); /* from the id field to the CIE */
	memcpy(f + fde + 4, &back, 4);
	int32_t start = (int32_t)(0x40 - (fde + 8)); /* pcrel: from the field */
	memcpy(f + fde + 8, &start, 4);
	uint32_t range = 0x20;
	memcpy(f + fde + 12, &range, 4);
	f[fde + 16] = 0;    /* no augmentation data */
	f[fde + 17] = 0x41; /* advance_loc 1 */
	f[fde + 18] = 0x0e; /* def_cfa_offset 16 */
	f[fde + 19] = 0x10;
	f[fde + 20] = 0x00;
	f[fde + 21] = 0x00;
	f[fde + 22] = 0x00;
	f[fde + 23] = 0x00;
	memset(f + fde + 24, 0, 4); /* terminator */
	return fde;
}

static void test_cie_fde(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t fde = make_frame(f);
	/* addresses are offsets into f */
	uint64_t bias = 0 - (uint64_t)(uintptr_t)f;
	struct ehf_reader r;
	ehf_reader_init(&r, f + fde, sizeof(f) - fde, bias);
	const uint8_t *cie_at;
	assert_true(ehf_fde_start(&r, &cie_at));
	assert_ptr_equal(cie_at, f);
	struct ehf_reader cr;
	ehf_reader_init(&cr, cie_at, sizeof(f), bias);
	struct ehf_cie c;
	assert_true(ehf_cie_parse(&cr, &c));
	assert_int_equal(c.code_align, 1);
	assert_int_equal(c.data_align, -8);
	assert_int_equal(c.ra_reg, 16);
	assert_int_equal(c.fde_enc, EHF_PE_PCREL | EHF_PE_SDATA4);
	assert_true(c.has_z);
	assert_true(c.signal);
	assert_int_equal(c.lsda_enc, EHF_PE_OMIT);
	assert_ptr_equal(c.insns, f + 18);
	assert_ptr_equal(c.insns_end, f + 24);
	struct ehf_fde d;
	assert_true(ehf_fde_finish(&r, &c, &d));
	assert_int_equal(d.start, 0x40);
	assert_int_equal(d.end, 0x60);
	assert_ptr_equal(d.insns, f + fde + 17);
	assert_ptr_equal(d.insns_end, f + fde + 24);
	/* the CIE read as an FDE, and the terminator */
	ehf_reader_init(&r, f, sizeof(f), bias);
	assert_false(ehf_fde_start(&r, &cie_at));
	bool is64;
	ehf_reader_init(&r, f + fde + 24, 4, bias);
	assert_false(ehf_entry_start(&r, &is64));
	/* an unknown augmentation letter fails the CIE */
	f[10] = 'Q';
	ehf_reader_init(&cr, f, sizeof(f), bias);
	assert_false(ehf_cie_parse(&cr, &c));
	/* a length past the end */
	ehf_reader_init(&cr, f, 20, bias);
	assert_false(ehf_cie_parse(&cr, &c));
}

static void test_hdr_search(void **state)
{
	(void)state;
	/* version 1, eh_frame_ptr pcrel sdata4, count udata4, table datarel sdata4 */
	uint8_t h[12 + 3 * 8];
	h[0] = 1;
	h[1] = EHF_PE_PCREL | EHF_PE_SDATA4;
	h[2] = EHF_PE_UDATA4;
	h[3] = EHF_PE_DATAREL | EHF_PE_SDATA4;
	int32_t frame = 0x100; /* from the field at 4: .eh_frame at 0x104 */
	memcpy(h + 4, &frame, 4);
	uint32_t count = 3;
	memcpy(h + 8, &count, 4);
	int32_t table[6] = {0x1000, 0x200, 0x1100, 0x220, 0x1200, 0x240};
	memcpy(h + 12, table, sizeof(table));
	uint64_t hdr_addr = 0x10;
	struct ehf_reader r;
	ehf_reader_init(&r, h, sizeof(h), hdr_addr - (uint64_t)(uintptr_t)h);
	struct ehf_hdr hd;
	assert_true(ehf_hdr_parse(&r, hdr_addr, &hd));
	assert_int_equal(hd.eh_frame, hdr_addr + 4 + 0x100);
	assert_int_equal(hd.fde_count, 3);
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x10 + 0x0fff), 0);
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x10 + 0x1000), 0x10 + 0x200);
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x10 + 0x11ff), 0x10 + 0x220);
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x10 + 0x9000), 0x10 + 0x240);
	/* a count the table cannot hold */
	hd.fde_count = 4;
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x10 + 0x1000), 0);
	/* version 2 is not a header */
	h[0] = 2;
	ehf_reader_init(&r, h, sizeof(h), 0);
	assert_false(ehf_hdr_parse(&r, hdr_addr, &hd));
	/* no table: count omitted */
	h[0] = 1;
	h[2] = EHF_PE_OMIT;
	ehf_reader_init(&r, h, sizeof(h), 0);
	assert_true(ehf_hdr_parse(&r, hdr_addr, &hd));
	assert_int_equal(hd.fde_count, 0);
	assert_int_equal(ehf_hdr_search(&hd, hdr_addr, 0x2000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uleb),           cmocka_unit_test(test_sleb),
	    cmocka_unit_test(test_fixed_and_swap), cmocka_unit_test(test_encoded_pointers),
	    cmocka_unit_test(test_cie_fde),        cmocka_unit_test(test_hdr_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
