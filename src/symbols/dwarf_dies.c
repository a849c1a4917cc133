/* dwarf_dies.c - an abbreviation table decoded into form lists, and a DIE
 * subtree stepped over by its forms' sizes (see dwarf_dies.h). */
#include "symbols/dwarf_dies.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/dwarf_bytes.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define MAX_CODE  65535u
#define MAX_DEPTH 4096 /* hostile DWARF can nest without end */

#define AT_LOW_PC  0x11
#define AT_HIGH_PC 0x12
#define AT_RANGES  0x55

struct abbrev {
	uint32_t forms_first, forms_n; /* in dwarf_abbrevs.forms */
	int32_t size;                  /* of its attributes when all forms have one size, else -1 */
	uint32_t tag;
	int32_t low_pc, high_pc; /* the first DW_AT_low_pc's and DW_AT_high_pc's place in the forms, -1 when none */
	bool known, children;
	bool ranges; /* it has a DW_AT_ranges */
};

struct dwarf_abbrevs {
	VEC(struct abbrev) by_code;
	VEC(uint16_t) forms;
};

/* The size of a value of form f in a unit of shape u, -1 when it varies. */
static int form_size(unsigned f, const struct dwarf_unit_shape *u)
{
	switch (f) {
	case FORM_FLAG_PRESENT:
	case FORM_IMPLICIT_CONST:
		return 0;
	case FORM_DATA1:
	case FORM_FLAG:
	case FORM_REF1:
	case FORM_STRX1:
	case FORM_ADDRX1:
		return 1;
	case FORM_DATA2:
	case FORM_REF2:
	case FORM_STRX2:
	case FORM_ADDRX2:
		return 2;
	case FORM_STRX3:
	case FORM_ADDRX3:
		return 3;
	case FORM_DATA4:
	case FORM_REF4:
	case FORM_REF_SUP4:
	case FORM_STRX4:
	case FORM_ADDRX4:
		return 4;
	case FORM_DATA8:
	case FORM_REF8:
	case FORM_REF_SIG8:
	case FORM_REF_SUP8:
		return 8;
	case FORM_DATA16:
		return 16;
	case FORM_ADDR:
		return (int)u->address_size;
	case FORM_REF_ADDR:
		return (int)(u->version == 2 ? u->address_size : u->offset_size);
	case FORM_STRP:
	case FORM_SEC_OFFSET:
	case FORM_STRP_SUP:
	case FORM_LINE_STRP:
	case FORM_GNU_REF_ALT:
	case FORM_GNU_STRP_ALT:
		return (int)u->offset_size;
	default:
		return -1;
	}
}

static bool form_known(uint64_t f)
{
	return (f >= FORM_ADDR && f <= FORM_ADDRX4 && f != 0x02) || f == FORM_GNU_ADDR_INDEX ||
	       f == FORM_GNU_STR_INDEX || f == FORM_GNU_REF_ALT || f == FORM_GNU_STRP_ALT;
}

int dwarf_abbrevs_new(const uint8_t *abbrev, size_t size, uint64_t offset, const struct dwarf_unit_shape *u,
                      struct dwarf_abbrevs **out)
{
	if (!abbrev || offset >= size)
		return -ERANGE;
	if ((u->address_size != 4 && u->address_size != 8) || (u->offset_size != 4 && u->offset_size != 8))
		return -EINVAL;
	struct dwarf_abbrevs *a = xcalloc(1, sizeof(*a));
	struct dwarf_cursor c = {abbrev + offset, abbrev + size, false};
	for (;;) {
		uint64_t code = dwc_uleb(&c);
		if (c.bad || code > MAX_CODE)
			goto out_bad;
		if (code == 0)
			break;
		uint64_t tag = dwc_uleb(&c);
		uint8_t children = (uint8_t)dwc_fixed(&c, 1);
		if (c.bad || tag > INT32_MAX)
			goto out_bad;
		if (code >= a->by_code.n) {
			size_t n = a->by_code.n;
			vec_reserve(&a->by_code, code + 1);
			memset(a->by_code.v + n, 0, (code + 1 - n) * sizeof(*a->by_code.v));
			a->by_code.n = code + 1;
		}
		struct abbrev *ab = &a->by_code.v[code];
		if (ab->known) /* a code twice: libdw takes the first; leave it to libdw */
			goto out_bad;
		ab->known = true;
		ab->tag = (uint32_t)tag;
		ab->children = children != 0;
		ab->forms_first = (uint32_t)a->forms.n;
		ab->size = 0;
		ab->low_pc = ab->high_pc = -1;
		for (;;) {
			uint64_t attr = dwc_uleb(&c), form = dwc_uleb(&c);
			if (c.bad)
				goto out_bad;
			if (attr == 0 && form == 0)
				break;
			if (!form_known(form))
				goto out_bad;
			if (form == FORM_IMPLICIT_CONST) /* its value is here, not in the DIE */
				dwc_uleb(&c);
			int32_t at = (int32_t)(a->forms.n - ab->forms_first);
			if (attr == AT_LOW_PC && ab->low_pc < 0)
				ab->low_pc = at;
			else if (attr == AT_HIGH_PC && ab->high_pc < 0)
				ab->high_pc = at;
			else if (attr == AT_RANGES)
				ab->ranges = true;
			vec_push(&a->forms, (uint16_t)form);
			int fs = form_size((unsigned)form, u);
			ab->size = fs < 0 || ab->size < 0 || ab->size > 1 << 20 ? -1 : ab->size + fs;
		}
		ab->forms_n = (uint32_t)(a->forms.n - ab->forms_first);
	}
	*out = a;
	return 0;
out_bad:
	dwarf_abbrevs_free(a);
	return -EINVAL;
}

void dwarf_abbrevs_free(struct dwarf_abbrevs *a)
{
	if (!a)
		return;
	vec_free(&a->by_code);
	vec_free(&a->forms);
	free(a);
}

/* Steps over one attribute value of form f. */
static void skip_form(struct dwarf_cursor *c, const struct dwarf_unit_shape *u, unsigned f, bool indirect_ok)
{
	int size = form_size(f, u);
	if (size >= 0) {
		dwc_skip(c, (uint64_t)size);
		return;
	}
	switch (f) {
	case FORM_SDATA:
	case FORM_UDATA:
	case FORM_REF_UDATA:
	case FORM_STRX:
	case FORM_ADDRX:
	case FORM_LOCLISTX:
	case FORM_RNGLISTX:
	case FORM_GNU_ADDR_INDEX:
	case FORM_GNU_STR_INDEX:
		dwc_skip_leb(c);
		return;
	case FORM_STRING:
		dwc_cstr(c);
		return;
	case FORM_BLOCK1:
		dwc_skip(c, dwc_fixed(c, 1));
		return;
	case FORM_BLOCK2:
		dwc_skip(c, dwc_fixed(c, 2));
		return;
	case FORM_BLOCK4:
		dwc_skip(c, dwc_fixed(c, 4));
		return;
	case FORM_BLOCK:
	case FORM_EXPRLOC:
		dwc_skip(c, dwc_uleb(c));
		return;
	case FORM_INDIRECT: {
		uint64_t real = dwc_uleb(c);
		if (!indirect_ok || real == FORM_INDIRECT || real == FORM_IMPLICIT_CONST || !form_known(real)) {
			c->bad = true;
			return;
		}
		skip_form(c, u, (unsigned)real, false);
		return;
	}
	default:
		c->bad = true;
		return;
	}
}

/* Steps c over the attributes of a DIE of abbreviation ab. */
static void skip_attrs(struct dwarf_cursor *c, const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u,
                       const struct abbrev *ab)
{
	if (ab->size >= 0)
		dwc_skip(c, (uint64_t)ab->size);
	else
		for (uint32_t i = 0; i < ab->forms_n && !c->bad; i++)
			skip_form(c, u, a->forms.v[ab->forms_first + i], true);
}

/* Opens the DIE at die: its abbreviation, with *c past its code; NULL for
 * a null entry, a code the table lacks or bytes that end too soon. */
static const struct abbrev *die_open(const struct dwarf_abbrevs *a, const uint8_t *die, const uint8_t *end,
                                     struct dwarf_cursor *c)
{
	if (!die || die >= end)
		return NULL;
	*c = (struct dwarf_cursor){die, end, false};
	uint64_t code = dwc_uleb(c);
	if (c->bad || code == 0 || code >= a->by_code.n || !a->by_code.v[code].known)
		return NULL;
	return &a->by_code.v[code];
}

const uint8_t *dwarf_die_skip(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                              const uint8_t *end)
{
	if (!die || die >= end)
		return NULL;
	struct dwarf_cursor c = {die, end, false};
	unsigned depth = 0;
	do {
		uint64_t code = dwc_uleb(&c);
		if (c.bad)
			return NULL;
		if (code == 0) { /* the null entry closing a list of children */
			if (depth == 0)
				return NULL; /* die was no DIE */
			depth--;
			continue;
		}
		if (code >= a->by_code.n || !a->by_code.v[code].known)
			return NULL;
		const struct abbrev *ab = &a->by_code.v[code];
		skip_attrs(&c, a, u, ab);
		if (c.bad)
			return NULL;
		if (ab->children && ++depth > MAX_DEPTH)
			return NULL;
	} while (depth > 0);
	return c.p;
}

int dwarf_die_tag(const struct dwarf_abbrevs *a, const uint8_t *die, const uint8_t *end, bool *children)
{
	struct dwarf_cursor c;
	const struct abbrev *ab = die_open(a, die, end, &c);
	if (!ab)
		return -1;
	*children = ab->children;
	return (int)ab->tag;
}

/* A DW_AT_high_pc of form f read at c: an address (*is_addr), a constant
 * offset from DW_AT_low_pc, or false for a form left to libdw. */
static bool read_high_pc(struct dwarf_cursor *c, const struct dwarf_unit_shape *u, unsigned f, uint64_t *v,
                         bool *is_addr)
{
	*is_addr = f == FORM_ADDR;
	switch (f) {
	case FORM_ADDR:
		*v = dwc_fixed(c, u->address_size);
		return true;
	case FORM_DATA1:
		*v = dwc_fixed(c, 1);
		return true;
	case FORM_DATA2:
		*v = dwc_fixed(c, 2);
		return true;
	case FORM_DATA4:
		*v = dwc_fixed(c, 4);
		return true;
	case FORM_DATA8:
		*v = dwc_fixed(c, 8);
		return true;
	case FORM_UDATA:
		*v = dwc_uleb(c);
		return true;
	default:
		return false;
	}
}

int dwarf_die_pc_range(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                       const uint8_t *end, uint64_t *lo, uint64_t *hi)
{
	struct dwarf_cursor c;
	const struct abbrev *ab = die_open(a, die, end, &c);
	if (!ab)
		return -1;
	if (ab->ranges)
		return -1; /* a range list: libdw's */
	if (ab->low_pc < 0 || ab->high_pc < 0)
		return 0; /* libdw finds no range either: no pair, no list */
	const uint16_t *forms = a->forms.v + ab->forms_first;
	if (forms[ab->low_pc] != FORM_ADDR)
		return -1; /* an index into .debug_addr */
	bool have_lo = false, have_hi = false, hi_addr = false;
	uint64_t low = 0, high = 0;
	for (int32_t i = 0; i < (int32_t)ab->forms_n && !c.bad && !(have_lo && have_hi); i++) {
		if (i == ab->low_pc) {
			low = dwc_fixed(&c, u->address_size);
			have_lo = true;
		} else if (i == ab->high_pc) {
			if (!read_high_pc(&c, u, forms[i], &high, &hi_addr))
				return -1;
			have_hi = true;
		} else {
			skip_form(&c, u, forms[i], true);
		}
	}
	if (c.bad || !have_lo || !have_hi)
		return -1;
	*lo = low;
	*hi = hi_addr ? high : low + high;
	return 1;
}

int dwarf_die_child(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                    const uint8_t *end, const uint8_t **child)
{
	struct dwarf_cursor c;
	const struct abbrev *ab = die_open(a, die, end, &c);
	if (!ab)
		return -1;
	if (!ab->children)
		return 1;
	skip_attrs(&c, a, u, ab);
	if (c.bad)
		return -1;
	/* a null entry first (padded as 0x80 0x80 ... 0 or not) is no child,
	 * and so is the unit's end, as libdw says */
	const uint8_t *p = c.p;
	while (p < end && *p == 0x80)
		p++;
	if (p >= end || *p == 0)
		return 1;
	*child = c.p;
	return 0;
}
