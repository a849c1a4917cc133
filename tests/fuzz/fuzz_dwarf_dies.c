/* fuzz_dwarf_dies.c - hostile .debug_abbrev and .debug_info bytes through
 * kiln's DIE stepper (symbols/dwarf_dies.c): the first byte picks the
 * unit's shape (version, address and offset size) and where the input
 * splits into the abbreviation table and the DIEs; the DIEs are stepped
 * over one after another to the end, and each one's pc range and first
 * child read. */
#include <stddef.h>
#include <stdint.h>

#include "symbols/dwarf_dies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;
	struct dwarf_unit_shape u = {2 + (ctl & 3), (ctl & 4) ? 8 : 4, (ctl & 8) ? 8 : 4};
	size_t split = size * ((ctl >> 4) + 1) / 17;
	struct dwarf_abbrevs *a = NULL;
	if (dwarf_abbrevs_new(data, split, 0, &u, &a) != 0)
		return 0;
	const uint8_t *p = data + split, *end = data + size;
	for (int n = 0; p && p < end && n < 1000; n++) {
		uint64_t lo, hi;
		const uint8_t *child = NULL;
		dwarf_die_pc_range(a, &u, p, end, &lo, &hi);
		if (dwarf_die_child(a, &u, p, end, &child) == 0 && (child <= p || child >= end))
			__builtin_trap(); /* a child is inside the DIEs, after its parent */
		const uint8_t *next = dwarf_die_skip(a, &u, p, end);
		p = next && next > p ? next : (p + 1 < end ? p + 1 : NULL);
	}
	dwarf_abbrevs_free(a);
	return 0;
}
