/* dwarf_dies.c - an abbreviation table decoded into form lists, and a DIE
 * subtree stepped over by its forms' sizes (see dwarf_dies.h). */
#include "symbols/dwarf_dies.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "util/xalloc.h"

#define MAX_CODE  65535u
#define MAX_DEPTH 4096 /* hostile DWARF can nest without end */

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

struct abbrev {
	uint32_t forms_first, forms_n; /* in dwarf_abbrevs.forms */
	int32_t size;                  /* of its attributes when all forms have one size, else -1 */
	uint32_t tag;
	bool known, children;
};

struct dwarf_abbrevs {
	VEC(struct abbrev) by_code;
	VEC(uint16_t) forms;
};

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t uleb(struct cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static void skip(struct cursor *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		c->p = c->end;
		return;
	}
	c->p += n;
}

static uint64_t fixed(struct cursor *c, unsigned n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

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
	struct cursor c = {abbrev + offset, abbrev + size, false};
	for (;;) {
		uint64_t code = uleb(&c);
		if (c.bad || code > MAX_CODE)
			goto out_bad;
		if (code == 0)
			break;
		uint64_t tag = uleb(&c);
		uint8_t children = (uint8_t)fixed(&c, 1);
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
		for (;;) {
			uint64_t attr = uleb(&c), form = uleb(&c);
			if (c.bad)
				goto out_bad;
			if (attr == 0 && form == 0)
				break;
			if (!form_known(form))
				goto out_bad;
			if (form == FORM_IMPLICIT_CONST) /* its value is here, not in the DIE */
				uleb(&c);
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
static void skip_form(struct cursor *c, const struct dwarf_unit_shape *u, unsigned f, bool indirect_ok)
{
	switch (f) {
	case FORM_FLAG_PRESENT:
	case FORM_IMPLICIT_CONST:
		return;
	case FORM_DATA1:
	case FORM_FLAG:
	case FORM_REF1:
	case FORM_STRX1:
	case FORM_ADDRX1:
		skip(c, 1);
		return;
	case FORM_DATA2:
	case FORM_REF2:
	case FORM_STRX2:
	case FORM_ADDRX2:
		skip(c, 2);
		return;
	case FORM_STRX3:
	case FORM_ADDRX3:
		skip(c, 3);
		return;
	case FORM_DATA4:
	case FORM_REF4:
	case FORM_REF_SUP4:
	case FORM_STRX4:
	case FORM_ADDRX4:
		skip(c, 4);
		return;
	case FORM_DATA8:
	case FORM_REF8:
	case FORM_REF_SIG8:
	case FORM_REF_SUP8:
		skip(c, 8);
		return;
	case FORM_DATA16:
		skip(c, 16);
		return;
	case FORM_ADDR:
		skip(c, u->address_size);
		return;
	case FORM_REF_ADDR:
		skip(c, u->version == 2 ? u->address_size : u->offset_size);
		return;
	case FORM_STRP:
	case FORM_SEC_OFFSET:
	case FORM_STRP_SUP:
	case FORM_LINE_STRP:
	case FORM_GNU_REF_ALT:
	case FORM_GNU_STRP_ALT:
		skip(c, u->offset_size);
		return;
	case FORM_SDATA:
	case FORM_UDATA:
	case FORM_REF_UDATA:
	case FORM_STRX:
	case FORM_ADDRX:
	case FORM_LOCLISTX:
	case FORM_RNGLISTX:
	case FORM_GNU_ADDR_INDEX:
	case FORM_GNU_STR_INDEX:
		uleb(c); /* an SLEB128 ends as a ULEB128 does */
		return;
	case FORM_STRING: {
		const uint8_t *z = memchr(c->p, 0, (size_t)(c->end - c->p));
		if (!z) {
			c->bad = true;
			c->p = c->end;
			return;
		}
		c->p = z + 1;
		return;
	}
	case FORM_BLOCK1:
		skip(c, fixed(c, 1));
		return;
	case FORM_BLOCK2:
		skip(c, fixed(c, 2));
		return;
	case FORM_BLOCK4:
		skip(c, fixed(c, 4));
		return;
	case FORM_BLOCK:
	case FORM_EXPRLOC:
		skip(c, uleb(c));
		return;
	case FORM_INDIRECT: {
		uint64_t real = uleb(c);
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

const uint8_t *dwarf_die_skip(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                              const uint8_t *end)
{
	if (!die || die >= end)
		return NULL;
	struct cursor c = {die, end, false};
	unsigned depth = 0;
	do {
		uint64_t code = uleb(&c);
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
		if (ab->size >= 0)
			skip(&c, (uint64_t)ab->size);
		else
			for (uint32_t i = 0; i < ab->forms_n && !c.bad; i++)
				skip_form(&c, u, a->forms.v[ab->forms_first + i], true);
		if (c.bad)
			return NULL;
		if (ab->children && ++depth > MAX_DEPTH)
			return NULL;
	} while (depth > 0);
	return c.p;
}

int dwarf_die_tag(const struct dwarf_abbrevs *a, const uint8_t *die, const uint8_t *end, bool *children)
{
	if (!die || die >= end)
		return -1;
	struct cursor c = {die, end, false};
	uint64_t code = uleb(&c);
	if (c.bad || code == 0 || code >= a->by_code.n || !a->by_code.v[code].known)
		return -1;
	*children = a->by_code.v[code].children;
	return (int)a->by_code.v[code].tag;
}
