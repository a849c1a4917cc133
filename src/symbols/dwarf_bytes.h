/* dwarf_bytes.h - what kiln's own DWARF decoders (dwarf_lines.c,
 * dwarf_dies.c) read bytes with: a bounded cursor with LEB128 and
 * little-endian fixed-width values, and the DW_FORM codes.
 *
 * Every read is checked against the cursor's end; a read that would pass
 * it, or a value that does not fit 64 bits, makes the cursor bad (sticky)
 * and reads 0: the caller then refuses the table and libdw reads it.
 * (capture/eh_frame.h has the .eh_frame reader the agent shares; symbols/
 * may not include capture/, and these tables need none of its pointer
 * encodings or byte swapping: x86-64 and aarch64 files are little-endian.)
 */
#ifndef KILN_SYMBOLS_DWARF_BYTES_H
#define KILN_SYMBOLS_DWARF_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* DWARF 5 forms (and the GNU ones libdw reads) */
enum {
	FORM_ADDR = 0x01,
	FORM_BLOCK2 = 0x03,
	FORM_BLOCK4,
	FORM_DATA2,
	FORM_DATA4,
	FORM_DATA8,
	FORM_STRING,
	FORM_BLOCK,
	FORM_BLOCK1,
	FORM_DATA1,
	FORM_FLAG,
	FORM_SDATA,
	FORM_STRP,
	FORM_UDATA,
	FORM_REF_ADDR,
	FORM_REF1,
	FORM_REF2,
	FORM_REF4,
	FORM_REF8,
	FORM_REF_UDATA,
	FORM_INDIRECT,
	FORM_SEC_OFFSET,
	FORM_EXPRLOC,
	FORM_FLAG_PRESENT,
	FORM_STRX,
	FORM_ADDRX,
	FORM_REF_SUP4,
	FORM_STRP_SUP,
	FORM_DATA16,
	FORM_LINE_STRP,
	FORM_REF_SIG8,
	FORM_IMPLICIT_CONST,
	FORM_LOCLISTX,
	FORM_RNGLISTX,
	FORM_REF_SUP8,
	FORM_STRX1,
	FORM_STRX2,
	FORM_STRX3,
	FORM_STRX4,
	FORM_ADDRX1,
	FORM_ADDRX2,
	FORM_ADDRX3,
	FORM_ADDRX4,
	FORM_GNU_ADDR_INDEX = 0x1f01,
	FORM_GNU_STR_INDEX = 0x1f02,
	FORM_GNU_REF_ALT = 0x1f20,
	FORM_GNU_STRP_ALT = 0x1f21,
};

/* Bytes [p, end) that may be read; bad once a read failed. */
struct dwarf_cursor {
	const uint8_t *p, *end;
	bool bad;
};

static inline void dwc_fail(struct dwarf_cursor *c)
{
	c->bad = true;
	c->p = c->end;
}

static inline uint64_t dwc_uleb(struct dwarf_cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		else if (b & 0x7f)
			c->bad = true; /* does not fit: libdw would truncate it */
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static inline int64_t dwc_sleb(struct dwarf_cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->p < c->end;) {
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		else
			c->bad = true;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

/* Past a LEB128 of any length and sign, its value unread. */
static inline void dwc_skip_leb(struct dwarf_cursor *c)
{
	while (c->p < c->end)
		if (!(*c->p++ & 0x80))
			return;
	c->bad = true;
}

static inline void dwc_skip(struct dwarf_cursor *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p))
		dwc_fail(c);
	else
		c->p += n;
}

/* n (at most 8) little-endian bytes. */
static inline uint64_t dwc_fixed(struct dwarf_cursor *c, unsigned n)
{
	if ((size_t)(c->end - c->p) < n) {
		dwc_fail(c);
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static inline uint8_t dwc_u8(struct dwarf_cursor *c)
{
	return (uint8_t)dwc_fixed(c, 1);
}

/* A NUL-terminated string at the cursor, or NULL. */
static inline const char *dwc_cstr(struct dwarf_cursor *c)
{
	const uint8_t *z = memchr(c->p, 0, (size_t)(c->end - c->p));
	if (!z) {
		dwc_fail(c);
		return NULL;
	}
	const char *s = (const char *)c->p;
	c->p = z + 1;
	return s;
}

#endif
