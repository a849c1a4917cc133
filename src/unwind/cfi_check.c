/* cfi_check.c - one bounds-checked pass over a CFI section (.eh_frame or
 * .debug_frame) that finds every register number its instructions name, so
 * that cfi.c never hands libdw a section that makes it allocate a register
 * table of gigabytes (see cfi_check.h).
 *
 * The pass reads the section the way libdw does (elfutils libdw/cfi.c,
 * cie.c, fde.c, dwarf_getcfi_elf.c), so the two agree on which bytes are
 * instructions; DW_CFA_set_loc and an FDE's address fields are sized by the
 * CIE's 'R' encoding, as libdw sizes them. Where libdw fails an entry before
 * it allocates, the pass stops reading that entry; where the two could
 * disagree, the section is bad:
 * - an opcode libdw does not know, or an address encoding it refuses, ends
 *   the entry (libdw fails it there);
 * - an instruction whose operands run past its entry is bad (libdw would
 *   read past the entry; no toolchain writes one), as are DW_EH_PE_aligned
 *   (sized by the load address; never emitted) and .eh_frame_hdr encodings
 *   no linker writes.
 * A register at or above the limit anywhere in a CIE or FDE makes the
 * section bad even where libdw would have stopped before it (at the pc it
 * looks for), since the pass knows no pc. CFA registers and DW_CFA_register's
 * source count too: no real x86-64 CFI names one >= 128 either.
 */
#include "unwind/cfi_check.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "capture/eh_frame.h"

#define CIE_SLOTS 16

enum {
	CHECK_OK,   /* fine as far as it goes */
	CHECK_STOP, /* libdw fails the entry here; nothing after it runs */
	CHECK_BAD,  /* the section must not reach libdw */
};

struct cie_info {
	Dwarf_Off offset; /* (Dwarf_Off)-1: empty slot */
	bool is_cie;      /* dwarf_next_cfi read a CIE there */
	bool sized;       /* 'z': each FDE says how long its augmentation is */
	uint8_t fde_encoding;
	size_t fde_aug_size; /* FDE augmentation bytes, without 'z' */
};

struct checker {
	const unsigned char *e_ident;
	Elf_Data *data;
	bool eh_frame;
	unsigned addr_size;
	struct cie_info cies[CIE_SLOTS]; /* recently used CIEs, by offset */
	uint64_t *seen;                  /* a bit per offset: an FDE there was checked */
	uint64_t budget;                 /* instruction bytes left to read */
};

/* A LEB128 as libdw reads it (capture/eh_frame.h: at most EHF_LEB_MAX
 * bytes, too big reads as UINT64_MAX). False when it runs into end. */
static inline bool read_leb(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	struct ehf_reader r;
	ehf_reader_init(&r, *pp, (size_t)(end - *pp), 0);
	*out = ehf_uleb(&r);
	*pp = r.p;
	return !r.bad;
}

/* Moves *pp past the value libdw's read_encoded_value reads for enc.
 * CHECK_STOP when libdw refuses enc, CHECK_BAD when the value runs into end
 * or its size depends on the load address (DW_EH_PE_aligned). */
static int skip_encoded(const struct checker *c, uint8_t enc, const uint8_t **pp, const uint8_t *end)
{
	size_t n;
	uint64_t v;

	switch (enc & 0x70) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_pcrel:
	case DW_EH_PE_textrel:
	case DW_EH_PE_datarel:
	case DW_EH_PE_funcrel:
		break;
	case DW_EH_PE_aligned:
		return CHECK_BAD;
	default:
		return CHECK_STOP;
	}
	if ((enc & 0x0f) == DW_EH_PE_uleb128 || (enc & 0x0f) == DW_EH_PE_sleb128)
		return read_leb(pp, end, &v) ? CHECK_OK : CHECK_BAD;
	n = ehf_pe_fixed_size(enc, c->addr_size);
	if (!n)
		return CHECK_STOP;
	if ((size_t)(end - *pp) < n)
		return CHECK_BAD;
	*pp += n;
	return CHECK_OK;
}

/* libdw's encoded_value_size, quirks included: it sizes by enc & 7, and
 * counts a uleb128 at p up to its first byte with the high bit *set*. A
 * uleb128 with no such byte before end gives SIZE_MAX (libdw would look
 * further, past the entry). 0 for sizes libdw does not know. */
static size_t value_size(unsigned addr_size, uint8_t enc, const uint8_t *p, const uint8_t *end)
{
	if (enc == DW_EH_PE_omit)
		return 0;
	switch (enc & 0x07) {
	case DW_EH_PE_udata2:
		return 2;
	case DW_EH_PE_udata4:
		return 4;
	case DW_EH_PE_udata8:
		return 8;
	case DW_EH_PE_absptr:
		return addr_size;
	case DW_EH_PE_uleb128:
		if (!p)
			return 0;
		for (const uint8_t *q = p; q < end;)
			if (*q++ & 0x80)
				return (size_t)(q - p);
		return SIZE_MAX;
	default:
		return 0;
	}
}

/* Checks one instruction stream (DWARF 5 section 6.4.2). */
static int check_insns(struct checker *c, const struct cie_info *ci, const uint8_t *p, const uint8_t *end)
{
	uint64_t v, len;
	int r;

	/* Entries a hostile table sends us to may overlap: bound the work. */
	if ((uint64_t)(end - p) > c->budget)
		return CHECK_BAD;
	c->budget -= (uint64_t)(end - p);

#define LEB(x)                                                                                                         \
	do {                                                                                                           \
		if (!read_leb(&p, end, &(x)))                                                                          \
			return CHECK_BAD;                                                                              \
	} while (0)
#define REG()                                                                                                          \
	do {                                                                                                           \
		LEB(v);                                                                                                \
		if (v >= ARCH_DWARF_REG_LIMIT)                                                                         \
			return CHECK_BAD;                                                                              \
	} while (0)
#define SKIP(n)                                                                                                        \
	do {                                                                                                           \
		if ((uint64_t)(end - p) < (n))                                                                         \
			return CHECK_BAD;                                                                              \
		p += (n);                                                                                              \
	} while (0)

	while (p < end) {
		uint8_t op = *p++;

		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
		case DW_CFA_restore: /* the register is in the low 6 bits */
			continue;
		case DW_CFA_offset:
			LEB(v);
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
		case DW_CFA_remember_state:
		case DW_CFA_restore_state:
		case DW_CFA_GNU_window_save: /* libdw fills registers 8..31 */
			break;
		case DW_CFA_advance_loc1:
			SKIP(1);
			break;
		case DW_CFA_advance_loc2:
			SKIP(2);
			break;
		case DW_CFA_advance_loc4:
			SKIP(4);
			break;
		case DW_CFA_MIPS_advance_loc8:
			SKIP(8);
			break;
		case DW_CFA_set_loc:
			r = skip_encoded(c, ci->fde_encoding, &p, end);
			if (r != CHECK_OK)
				return r;
			break;
		case DW_CFA_def_cfa_register:
		case DW_CFA_undefined:
		case DW_CFA_same_value:
		case DW_CFA_restore_extended:
			REG();
			break;
		case DW_CFA_def_cfa:
		case DW_CFA_def_cfa_sf:
		case DW_CFA_offset_extended:
		case DW_CFA_offset_extended_sf:
		case DW_CFA_GNU_negative_offset_extended:
		case DW_CFA_val_offset:
		case DW_CFA_val_offset_sf:
			REG();
			LEB(v);
			break;
		case DW_CFA_register:
			REG();
			REG();
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_def_cfa_offset_sf:
		case DW_CFA_GNU_args_size:
			LEB(v);
			break;
		case DW_CFA_def_cfa_expression:
			LEB(len);
			SKIP(len);
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			REG();
			LEB(len);
			SKIP(len);
			break;
		default:
			return CHECK_STOP;
		}
	}
#undef LEB
#undef REG
#undef SKIP
	return CHECK_OK;
}

/* What FDEs need from their CIE, read from its augmentation as libdw's
 * intern_new_cie reads it. */
static int cie_decode(const struct checker *c, const Dwarf_CIE *e, struct cie_info *ci)
{
	const uint8_t *end = e->initial_instructions_end;
	const uint8_t *d = e->augmentation_data ? e->augmentation_data : end;
	size_t n;

	ci->sized = false;
	ci->fde_encoding = DW_EH_PE_absptr;
	ci->fde_aug_size = 0;
	for (const char *ap = e->augmentation; *ap != '\0'; ap++) {
		switch (*ap) {
		case 'z':
			ci->sized = true;
			continue;
		case 'S':
			continue;
		case 'L':
			if (d >= end)
				return CHECK_BAD;
			n = value_size(c->addr_size, *d++, NULL, end);
			if (!ci->sized)
				ci->fde_aug_size += n;
			continue;
		case 'R':
			if (d >= end)
				return CHECK_BAD;
			ci->fde_encoding = *d++;
			continue;
		case 'P':
			if (d >= end)
				return CHECK_BAD;
			n = value_size(c->addr_size, d[0], d + 1, end);
			d++;
			if (n > (size_t)(end - d))
				return CHECK_BAD;
			d += n;
			continue;
		default:
			if (ci->sized)
				continue;
		}
		break;
	}
	if ((ci->fde_encoding & 0x0f) == DW_EH_PE_absptr)
		ci->fde_encoding |= c->addr_size == 4 ? DW_EH_PE_udata4 : DW_EH_PE_udata8;
	return CHECK_OK;
}

/* The CIE at off, checked when first met. CHECK_STOP when there is none. */
static int cie_get(struct checker *c, Dwarf_Off off, const struct cie_info **out)
{
	struct cie_info *ci = &c->cies[(off ^ (off >> 9)) % CIE_SLOTS];
	Dwarf_CFI_Entry e;
	Dwarf_Off next = off;
	int r;

	if (ci->offset != off) {
		ci->offset = off;
		ci->is_cie = false;
		if (dwarf_next_cfi(c->e_ident, c->data, c->eh_frame, off, &next, &e) != 0 || !dwarf_cfi_cie_p(&e))
			return CHECK_STOP;
		if (e.cie.return_address_register >= ARCH_DWARF_REG_LIMIT)
			return CHECK_BAD;
		r = cie_decode(c, &e.cie, ci);
		if (r != CHECK_OK)
			return r;
		/* Failing instructions fail the CIE's FDEs in libdw; check them anyway. */
		if (check_insns(c, ci, e.cie.initial_instructions, e.cie.initial_instructions_end) == CHECK_BAD)
			return CHECK_BAD;
		ci->is_cie = true;
	}
	*out = ci;
	return ci->is_cie ? CHECK_OK : CHECK_STOP;
}

/* An FDE's instructions, found as libdw's intern_fde finds them. */
static int fde_check(struct checker *c, const Dwarf_FDE *f)
{
	const struct cie_info *ci;
	const uint8_t *p = f->start, *end = f->end;
	uint64_t len;
	int r;

	r = cie_get(c, f->CIE_pointer, &ci);
	if (r == CHECK_OK)
		r = skip_encoded(c, ci->fde_encoding, &p, end); /* initial location */
	if (r == CHECK_OK)
		r = skip_encoded(c, ci->fde_encoding & 0x0f, &p, end); /* address range */
	if (r != CHECK_OK)
		return r;
	if (ci->sized) {
		if (!read_leb(&p, end, &len))
			return CHECK_BAD;
		if (len > (uint64_t)(end - p))
			return CHECK_STOP;
		p += len;
	} else {
		if (ci->fde_aug_size > (size_t)(end - p))
			return CHECK_STOP;
		p += ci->fde_aug_size;
	}
	return check_insns(c, ci, p, end);
}

static bool seen_test(const struct checker *c, Dwarf_Off off)
{
	return c->seen && off < c->data->d_size && (c->seen[off / 64] >> (off % 64) & 1);
}

static void seen_mark(struct checker *c, Dwarf_Off off)
{
	if (c->seen && off < c->data->d_size)
		c->seen[off / 64] |= 1ull << (off % 64);
}

/* The entry at off, if it is an FDE (libdw's __libdw_fde_by_offset). */
static int check_fde_at(struct checker *c, Dwarf_Off off)
{
	Dwarf_CFI_Entry e;
	Dwarf_Off next = off;

	if (seen_test(c, off))
		return CHECK_OK;
	seen_mark(c, off);
	if (dwarf_next_cfi(c->e_ident, c->data, c->eh_frame, off, &next, &e) != 0 || dwarf_cfi_cie_p(&e))
		return CHECK_OK;
	return fde_check(c, &e.fde);
}

/* ---- .eh_frame_hdr ---- */

/* read_encoded_value for the header's fields, where base is what libdw
 * takes as its data's start (pcrel counts from there) and vaddr that
 * start's address. Encodings libdw refuses, and those we do not follow
 * (leb128, aligned, indirect: no linker writes them here), give -EINVAL. */
static int read_value(const unsigned char *e_ident, uint8_t enc, const uint8_t *base, uint64_t vaddr,
                      const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	unsigned addr_size = e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
	struct ehf_bases bases = {.has_datarel = true, .datarel = vaddr, .has_textrel = true, .has_funcrel = true};
	struct ehf_reader r;
	bool indirect;

	/* indirect, aligned, omit and unknown relations; leb128 and unknown
	 * value formats */
	if ((enc & 0xf0) > EHF_PE_FUNCREL || !ehf_pe_fixed_size(enc, addr_size))
		return -EINVAL;
	ehf_reader_init(&r, *pp, (size_t)(end - *pp), vaddr - (uint64_t)(uintptr_t)base);
	r.addr_size = (uint8_t)addr_size;
	/* libdw reads the other byte order whenever EI_DATA is not the host's */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	r.swap = e_ident[EI_DATA] != ELFDATA2LSB;
#else
	r.swap = e_ident[EI_DATA] == ELFDATA2MSB;
#endif
	*out = ehf_pe_read(&r, enc, &bases, &indirect);
	if (r.bad)
		return -EINVAL;
	*pp = r.p;
	return 0;
}

struct search_table {
	const uint8_t *bytes;
	size_t entries;
	size_t stride; /* libdw's: twice encoded_value_size */
	uint8_t enc;
};

/* libdw's parse_eh_frame_hdr and the size check after it. Returns 1 with
 * a table, 0 without, -EINVAL where libdw refuses the header or we do not
 * follow it. */
static int hdr_parse(const unsigned char *e_ident, const struct cfi_check_hdr *h, uint64_t *eh_frame_vaddr,
                     struct search_table *t)
{
	const uint8_t *p, *end = h->bytes + h->size;
	uint64_t count;
	size_t vsize;

	if (!h->bytes || h->size < 4 || h->bytes[0] != 1 || h->bytes[1] == DW_EH_PE_omit)
		return -EINVAL;
	p = h->bytes + 4;
	if (read_value(e_ident, h->bytes[1], h->bytes, h->vaddr, &p, end, eh_frame_vaddr) != 0)
		return -EINVAL;
	if (h->bytes[2] == DW_EH_PE_omit)
		return 0;
	if (read_value(e_ident, h->bytes[2], h->bytes, h->vaddr, &p, end, &count) != 0)
		return -EINVAL;
	t->enc = h->bytes[3];
	if (count == 0 || t->enc == DW_EH_PE_omit || (t->enc & ~DW_EH_PE_signed) == DW_EH_PE_uleb128)
		return 0;
	vsize = value_size(e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8, t->enc, NULL, NULL);
	if (vsize == 0 || count > ((size_t)(end - p) / vsize) / 2)
		return -EINVAL;
	t->bytes = p;
	t->entries = count;
	t->stride = 2 * vsize;
	return 1;
}

int cfi_check_hdr_eh_frame(const unsigned char *e_ident, const struct cfi_check_hdr *hdr, uint64_t *eh_frame_vaddr)
{
	struct search_table t;

	return hdr_parse(e_ident, hdr, eh_frame_vaddr, &t) < 0 ? -EINVAL : 0;
}

/* Every FDE the table can send libdw to (libdw's binary_search_fde). */
static int check_table(struct checker *c, const struct cfi_check_hdr *h, const struct search_table *t,
                       uint64_t frame_vaddr)
{
	const uint8_t *end = h->bytes + h->size;

	/* libdw reads entries with the table's start as its data's start */
	for (size_t i = 0; i < t->entries; i++) {
		const uint8_t *p = t->bytes + i * t->stride;
		uint64_t start, fde;
		if (read_value(c->e_ident, t->enc, t->bytes, h->vaddr, &p, end, &start) != 0 ||
		    read_value(c->e_ident, t->enc, t->bytes, h->vaddr, &p, end, &fde) != 0) {
			/* libdw refuses the encoding for every entry alike;
			 * any other failure is one we do not follow */
			if ((t->enc & 0x0f) == 0x08 || (t->enc & 0x70) >= 0x60)
				return CHECK_OK;
			return CHECK_BAD;
		}
		if (check_fde_at(c, fde - frame_vaddr) == CHECK_BAD)
			return CHECK_BAD;
	}
	return CHECK_OK;
}

bool cfi_check_section(const unsigned char *e_ident, Elf_Data *data, bool eh_frame, uint64_t frame_vaddr,
                       const struct cfi_check_hdr *hdr)
{
	struct checker c = {.e_ident = e_ident, .data = data, .eh_frame = eh_frame};
	struct search_table table = {0};
	uint64_t hdr_frame_vaddr = 0;
	bool has_table = false;
	Dwarf_Off off = 0;
	int r = CHECK_OK;

	if (!e_ident || !data)
		return false;
	if (!data->d_buf)
		return data->d_size == 0;
	c.addr_size = e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
	/* real sections read each byte about once; CIEs come back to the cache */
	c.budget = 2 * (uint64_t)data->d_size + 65536;
	for (int i = 0; i < CIE_SLOTS; i++)
		c.cies[i].offset = (Dwarf_Off)-1;
	if (hdr) {
		int h = hdr_parse(e_ident, hdr, &hdr_frame_vaddr, &table);
		if (h < 0)
			return false;
		/* libdw ignores a table for some other .eh_frame */
		has_table = h > 0 && hdr_frame_vaddr == frame_vaddr;
		if (has_table) /* without it, every FDE the table names is read again */
			c.seen = calloc(data->d_size / 64 + 1, sizeof(*c.seen));
	}

	/* The walk libdw's linear search makes: a bad entry is skipped when
	 * its length lets it be, else the walk ends. */
	for (;;) {
		Dwarf_CFI_Entry e;
		Dwarf_Off next = off;
		int n = dwarf_next_cfi(e_ident, data, eh_frame, off, &next, &e);
		if (n > 0)
			break;
		if (n == 0) {
			const struct cie_info *ci;
			if (dwarf_cfi_cie_p(&e)) {
				r = cie_get(&c, off, &ci);
			} else {
				seen_mark(&c, off);
				r = fde_check(&c, &e.fde);
			}
			if (r == CHECK_BAD)
				goto out_free_seen;
		}
		if (next <= off)
			break;
		off = next;
	}
	if (has_table)
		r = check_table(&c, hdr, &table, frame_vaddr);
out_free_seen:
	free(c.seen);
	return r != CHECK_BAD;
}
