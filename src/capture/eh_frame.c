/* eh_frame.c - the .eh_frame decoder kiln and the agent share (see
 * eh_frame.h). Allocation-free and async-signal-safe: the agent calls it
 * inside the profiled program, from its allocation hooks. */
#include "capture/eh_frame.h"

uint64_t ehf_fixed_slow(struct ehf_reader *r, size_t n)
{
	uint64_t v = 0;
	if (!ehf_have(r, n))
		return 0;
	bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? !r->swap : r->swap;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[little ? i : n - 1 - i] << (8 * i);
	r->p += n;
	return v;
}

uint64_t ehf_uleb_slow(struct ehf_reader *r)
{
	uint64_t v = 0;
	bool big = false;
	uint8_t b = 0x80;
	for (unsigned i = 0; i < EHF_LEB_MAX && (b & 0x80); i++) {
		if (!ehf_have(r, 1))
			return 0;
		b = *r->p++;
		if (i < EHF_LEB_MAX - 1)
			v |= (uint64_t)(b & 0x7f) << (7 * i);
		else if (b & 0x7f)
			big = true;
	}
	return big || (b & 0x80) ? UINT64_MAX : v;
}

int64_t ehf_sleb_slow(struct ehf_reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0x80;
	for (unsigned i = 0; i < EHF_LEB_MAX && (b & 0x80); i++) {
		if (!ehf_have(r, 1))
			return 0;
		b = *r->p++;
		if (i == EHF_LEB_MAX - 1) { /* 63 bits read: only a sign may follow */
			if ((b & 0x7f) != 0 && (b & 0x7f) != 0x7f)
				r->bad = true;
			v |= (uint64_t)(b & 1) << 63;
			shift = 64;
			continue;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		r->bad = true;
	if (r->bad)
		return 0;
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

void ehf_skip_block(struct ehf_reader *r)
{
	uint64_t n = ehf_uleb(r);
	if (ehf_have(r, n))
		r->p += n;
}

unsigned ehf_pe_fixed_size(uint8_t enc, unsigned addr_size)
{
	switch (enc & 0x0f) {
	case EHF_PE_ABSPTR:
		return addr_size;
	case EHF_PE_UDATA2:
	case EHF_PE_SDATA2:
		return 2;
	case EHF_PE_UDATA4:
	case EHF_PE_SDATA4:
		return 4;
	case EHF_PE_UDATA8:
	case EHF_PE_SDATA8:
		return 8;
	}
	return 0;
}

uint64_t ehf_pe_value(struct ehf_reader *r, uint8_t enc)
{
	switch (enc & 0x0f) {
	case EHF_PE_ABSPTR:
		return ehf_fixed(r, r->addr_size == 4 ? 4 : 8);
	case EHF_PE_UDATA8:
	case EHF_PE_SDATA8:
		return ehf_fixed(r, 8);
	case EHF_PE_ULEB128:
		return ehf_uleb(r);
	case EHF_PE_UDATA2:
		return ehf_fixed(r, 2);
	case EHF_PE_UDATA4:
		return ehf_fixed(r, 4);
	case EHF_PE_SLEB128:
		return (uint64_t)ehf_sleb(r);
	case EHF_PE_SDATA2:
		return (uint64_t)(int64_t)(int16_t)ehf_fixed(r, 2);
	case EHF_PE_SDATA4:
		return (uint64_t)(int64_t)(int32_t)ehf_fixed(r, 4);
	}
	r->bad = true;
	return 0;
}

uint64_t ehf_pe_read(struct ehf_reader *r, uint8_t enc, const struct ehf_bases *bases, bool *indirect)
{
	uint64_t at = (uint64_t)(uintptr_t)r->p + r->addr_bias;
	uint64_t v = ehf_pe_value(r, enc);
	*indirect = (enc & EHF_PE_INDIRECT) != 0;
	switch (enc & 0x70) {
	case EHF_PE_ABSPTR:
		break;
	case EHF_PE_PCREL:
		v += at;
		break;
	case EHF_PE_DATAREL:
		if (!bases || !bases->has_datarel)
			r->bad = true;
		else
			v += bases->datarel;
		break;
	case EHF_PE_TEXTREL:
		if (!bases || !bases->has_textrel)
			r->bad = true;
		else
			v += bases->textrel;
		break;
	case EHF_PE_FUNCREL:
		if (!bases || !bases->has_funcrel)
			r->bad = true;
		else
			v += bases->funcrel;
		break;
	default: /* aligned: sized by the load address */
		r->bad = true;
	}
	return r->bad ? 0 : v;
}

bool ehf_hdr_parse(struct ehf_reader *r, uint64_t hdr_addr, struct ehf_hdr *h)
{
	struct ehf_bases b = {.has_datarel = true, .datarel = hdr_addr};
	bool ind;
	uint8_t version = (uint8_t)ehf_fixed(r, 1);
	uint8_t frame_enc = (uint8_t)ehf_fixed(r, 1);
	uint8_t count_enc = (uint8_t)ehf_fixed(r, 1);
	uint8_t table_enc = (uint8_t)ehf_fixed(r, 1);
	if (r->bad || version != 1 || frame_enc == EHF_PE_OMIT)
		return false;
	h->eh_frame = ehf_pe_read(r, frame_enc, &b, &ind);
	if (r->bad || ind)
		return false;
	h->fde_count = 0;
	h->table_enc = EHF_PE_OMIT;
	h->table = NULL;
	h->table_size = 0;
	if (count_enc == EHF_PE_OMIT)
		return true;
	h->fde_count = ehf_pe_read(r, count_enc, &b, &ind);
	if (r->bad || ind)
		return false;
	h->table_enc = table_enc;
	h->table = r->p;
	h->table_size = (size_t)(r->end - r->p);
	return true;
}

static int32_t table_word(const uint8_t *tab, uint64_t i)
{
	int32_t v;
	memcpy(&v, tab + i * 4, sizeof(v));
	return v;
}

uint64_t ehf_hdr_search(const struct ehf_hdr *h, uint64_t hdr_addr, uint64_t pc)
{
	uint64_t count = h->fde_count;
	const uint8_t *tab = h->table;
	if (h->table_enc != (EHF_PE_DATAREL | EHF_PE_SDATA4) || !count || count > h->table_size / 8)
		return 0;
	if (pc < hdr_addr + (uint64_t)(int64_t)table_word(tab, 0))
		return 0;
	uint64_t lo = 0, hi = count; /* entry lo starts at or below pc; entry hi (if any) above */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (hdr_addr + (uint64_t)(int64_t)table_word(tab, 2 * mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return hdr_addr + (uint64_t)(int64_t)table_word(tab, 2 * lo + 1);
}

bool ehf_entry_start(struct ehf_reader *r, bool *is64)
{
	uint64_t len = ehf_fixed(r, 4);
	*is64 = len == 0xffffffffu;
	if (*is64)
		len = ehf_fixed(r, 8);
	if (r->bad || !len || len > (uint64_t)(r->end - r->p))
		return false;
	r->end = r->p + len;
	return true;
}

/* The CIE's augmentation data: the FDE pointer encoding, the LSDA's and
 * the signal flag; a personality routine is skipped. */
static bool cie_augmentation(struct ehf_reader *r, const char *aug, struct ehf_cie *c)
{
	uint64_t n = ehf_uleb(r);
	if (!ehf_have(r, n))
		return false;
	const uint8_t *data_end = r->p + n;
	for (const char *a = aug + 1; *a; a++) {
		switch (*a) {
		case 'R':
			c->fde_enc = (uint8_t)ehf_fixed(r, 1);
			break;
		case 'P': {
			uint8_t enc = (uint8_t)ehf_fixed(r, 1);
			if ((enc & 0x70) == EHF_PE_ALIGNED)
				return false;
			ehf_pe_value(r, enc);
			break;
		}
		case 'L':
			c->lsda_enc = (uint8_t)ehf_fixed(r, 1);
			break;
		case 'S':
			c->signal = true;
			break;
		default: /* unknown: may change what the FDE means */
			return false;
		}
	}
	if (r->bad || r->p > data_end)
		return false;
	r->p = data_end;
	return true;
}

bool ehf_cie_parse(struct ehf_reader *r, struct ehf_cie *c)
{
	bool is64;
	if (!ehf_entry_start(r, &is64))
		return false;
	uint64_t id = ehf_fixed(r, is64 ? 8 : 4);
	c->version = (uint8_t)ehf_fixed(r, 1);
	if (r->bad || id != 0 || (c->version != 1 && c->version != 3))
		return false;
	const char *aug = (const char *)r->p;
	while (ehf_have(r, 1) && *r->p)
		r->p++;
	if (!ehf_have(r, 1))
		return false;
	r->p++;
	c->code_align = ehf_uleb(r);
	c->data_align = ehf_sleb(r);
	c->ra_reg = c->version == 1 ? ehf_fixed(r, 1) : ehf_uleb(r);
	if (r->bad)
		return false;
	c->fde_enc = EHF_PE_ABSPTR;
	c->lsda_enc = EHF_PE_OMIT;
	c->has_z = aug[0] == 'z';
	c->signal = false;
	if (c->has_z ? !cie_augmentation(r, aug, c) : aug[0] != '\0')
		return false;
	c->insns = r->p;
	c->insns_end = r->end;
	return true;
}

bool ehf_fde_start(struct ehf_reader *r, const uint8_t **cie_at)
{
	bool is64;
	if (!ehf_entry_start(r, &is64))
		return false;
	const uint8_t *id_at = r->p;
	uint64_t id = ehf_fixed(r, is64 ? 8 : 4); /* back to the CIE; 0 would make this a CIE */
	if (r->bad || !id || id > (uint64_t)(uintptr_t)id_at)
		return false;
	*cie_at = (const uint8_t *)((uintptr_t)id_at - id);
	return true;
}

bool ehf_fde_finish(struct ehf_reader *r, const struct ehf_cie *c, struct ehf_fde *f)
{
	bool ind;
	f->start = ehf_pe_read(r, c->fde_enc, NULL, &ind);
	f->end = f->start + ehf_pe_value(r, c->fde_enc);
	if (ind)
		r->bad = true;
	if (c->has_z)
		ehf_skip_block(r);
	f->insns = r->p;
	f->insns_end = r->end;
	return !r->bad;
}
