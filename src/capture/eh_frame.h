/* eh_frame.h - the one decoder of .eh_frame bytes: LEB128, DW_EH_PE encoded
 * pointers, the .eh_frame_hdr search table, CIE and FDE headers.
 *
 * Part of the decoders kiln and libkiln-agent.so both compile (kiln_decode,
 * CMakeLists.txt): no allocation, no stdio, no errno, no lock; every read
 * is bounds-checked against the reader's end. The bytes may be a file's
 * section or a loaded module's memory: a reader knows the address its bytes
 * have in the program (for pc-relative pointers) and their byte order.
 * Policy (which encodings or registers a caller accepts) is the caller's.
 */
#ifndef KILN_CAPTURE_EH_FRAME_H
#define KILN_CAPTURE_EH_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* DW_EH_PE_* pointer encodings (LSB Core, .eh_frame) */
enum {
	EHF_PE_ABSPTR = 0x00,
	EHF_PE_ULEB128 = 0x01,
	EHF_PE_UDATA2 = 0x02,
	EHF_PE_UDATA4 = 0x03,
	EHF_PE_UDATA8 = 0x04,
	EHF_PE_SIGNED = 0x08,
	EHF_PE_SLEB128 = 0x09,
	EHF_PE_SDATA2 = 0x0a,
	EHF_PE_SDATA4 = 0x0b,
	EHF_PE_SDATA8 = 0x0c,
	EHF_PE_PCREL = 0x10,
	EHF_PE_TEXTREL = 0x20,
	EHF_PE_DATAREL = 0x30,
	EHF_PE_FUNCREL = 0x40,
	EHF_PE_ALIGNED = 0x50,
	EHF_PE_INDIRECT = 0x80,
	EHF_PE_OMIT = 0xff,
};

/* libdw, and so kiln, reads at most this many bytes of a LEB128. */
#define EHF_LEB_MAX 10

/* Bytes [p, end) that may be read; bad (sticky) once a read would pass
 * end. The byte at p has address p + addr_bias in the program (0 for a
 * loaded module's memory); swap: multi-byte values are in the other byte
 * order than the host's. */
struct ehf_reader {
	const uint8_t *p, *end;
	bool bad;
	bool swap;
	uint8_t addr_size; /* of absptr values: 8, or 4 for a 32-bit ELF file */
	uint64_t addr_bias;
};

static inline void ehf_reader_init(struct ehf_reader *r, const void *p, size_t len, uint64_t addr_bias)
{
	r->p = p;
	r->end = (const uint8_t *)p + len;
	r->bad = false;
	r->swap = false;
	r->addr_size = 8;
	r->addr_bias = addr_bias;
}

/* True when n more bytes may be read; marks the reader bad otherwise. */
static inline bool ehf_have(struct ehf_reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n)
		r->bad = true;
	return !r->bad;
}

uint64_t ehf_fixed_slow(struct ehf_reader *r, size_t n);

/* An unsigned value of n bytes (1, 2, 4 or 8); 0 when bad. */
static inline uint64_t ehf_fixed(struct ehf_reader *r, size_t n)
{
	uint64_t v = 0;
	if (r->swap || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || !ehf_have(r, n))
		return ehf_fixed_slow(r, n);
	memcpy(&v, r->p, n); /* the low bytes, on this little-endian host */
	r->p += n;
	return v;
}

uint64_t ehf_uleb_slow(struct ehf_reader *r);
int64_t ehf_sleb_slow(struct ehf_reader *r);

/* An unsigned LEB128 as libdw reads it: at most EHF_LEB_MAX bytes (the
 * next read starts after them), and a value that does not fit 64 bits
 * reads as UINT64_MAX. Bad when it runs into end. */
static inline uint64_t ehf_uleb(struct ehf_reader *r)
{
	if (r->p < r->end && !(*r->p & 0x80) && !r->bad)
		return *r->p++;
	return ehf_uleb_slow(r);
}

/* A signed LEB128, at most EHF_LEB_MAX bytes; one that does not fit 64
 * bits makes the reader bad. */
static inline int64_t ehf_sleb(struct ehf_reader *r)
{
	if (r->p < r->end && !(*r->p & 0x80) && !r->bad) {
		uint8_t b = *r->p++;
		return (int64_t)(b & 0x40 ? (uint64_t)b | ~0x7full : (uint64_t)b);
	}
	return ehf_sleb_slow(r);
}

/* Skips a block: a uleb128 length and that many bytes. */
void ehf_skip_block(struct ehf_reader *r);

/* The size of an encoding's value when it is fixed (by addr_size for
 * absptr); 0 for leb128 and for encodings that do not exist. */
unsigned ehf_pe_fixed_size(uint8_t enc, unsigned addr_size);

/* The value part of an encoded pointer (sign-extended), before a base is
 * applied; absptr is the reader's addr_size. Bad for an unknown value format. */
uint64_t ehf_pe_value(struct ehf_reader *r, uint8_t enc);

/* The bases an encoded pointer may be relative to; pc-relative counts
 * from the value's own address (the reader's). A relation whose has_ flag
 * is false makes the read bad. */
struct ehf_bases {
	bool has_datarel, has_textrel, has_funcrel;
	uint64_t datarel, textrel, funcrel;
};

/* An encoded pointer, its base applied; DW_EH_PE_indirect is the caller's
 * to follow (*indirect is set). DW_EH_PE_aligned is refused (its size
 * depends on the load address). 0 and bad when refused. */
uint64_t ehf_pe_read(struct ehf_reader *r, uint8_t enc, const struct ehf_bases *bases, bool *indirect);

/* ---- .eh_frame_hdr ---- */

struct ehf_hdr {
	uint64_t eh_frame;    /* the .eh_frame's address */
	uint64_t fde_count;   /* 0 when there is no table */
	uint8_t table_enc;    /* DW_EH_PE_omit when there is no table */
	const uint8_t *table; /* the search table's bytes */
	size_t table_size;    /* bytes from table to the header's end */
};

/* Decodes the header at r (whose addresses are the header's, datarel
 * relative to its start hdr_addr): version 1, the .eh_frame pointer and,
 * unless omitted, the count and table encoding. False when malformed or
 * an encoding is refused by ehf_pe_read. */
bool ehf_hdr_parse(struct ehf_reader *r, uint64_t hdr_addr, struct ehf_hdr *h);

/* The FDE address the table names for the last entry whose initial
 * location is at or below pc, when the table is datarel sdata4 (what every
 * linker writes); 0 when pc is below the first entry or the table is of
 * another encoding or too short for its count. */
uint64_t ehf_hdr_search(const struct ehf_hdr *h, uint64_t hdr_addr, uint64_t pc);

/* ---- CIE and FDE ---- */

/* Reads an entry's length at r, which then ends with the entry; *is64
 * tells the 64-bit DWARF format. False for the zero terminator or a length
 * past end. */
bool ehf_entry_start(struct ehf_reader *r, bool *is64);

struct ehf_cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;  /* the return address column */
	uint8_t version;  /* 1 or 3 */
	uint8_t fde_enc;  /* 'R', else absptr */
	uint8_t lsda_enc; /* 'L', else DW_EH_PE_omit */
	bool has_z;       /* augmentation data present (and its length) */
	bool signal;      /* 'S': the frame of a signal handler's return */
	const uint8_t *insns, *insns_end;
};

/* Decodes the CIE at r (.eh_frame's format: id 0). The personality
 * routine is skipped; an unknown augmentation letter, or an aligned
 * personality encoding, fails it. */
bool ehf_cie_parse(struct ehf_reader *r, struct ehf_cie *c);

/* Reads an FDE's start at r up to its CIE pointer: false for a CIE or a
 * malformed entry, else *cie_at is the CIE's position (r's bytes or
 * memory). */
bool ehf_fde_start(struct ehf_reader *r, const uint8_t **cie_at);

struct ehf_fde {
	uint64_t start, end; /* the code it covers */
	const uint8_t *insns, *insns_end;
};

/* The rest of the FDE after ehf_fde_start, with its CIE: the code range
 * (pc-relative and absolute encodings), augmentation skipped. */
bool ehf_fde_finish(struct ehf_reader *r, const struct ehf_cie *c, struct ehf_fde *f);

#endif
