/* dwarf_dies.h - stepping over a DIE and its children in .debug_info by
 * the sizes its abbreviation's forms give, without decoding them.
 *
 * LLVM (so Rust) emits no DW_AT_sibling, so libdw's dwarf_siblingof()
 * finds the next sibling of a DIE with children by parsing its whole
 * subtree, attribute by attribute through libdw's abbreviation cache and
 * its locks: indexing the functions of Rust's std, which steps past every
 * function body, spent most of its time there.
 */
#ifndef KILN_SYMBOLS_DWARF_DIES_H
#define KILN_SYMBOLS_DWARF_DIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a unit's header says that form sizes depend on. */
struct dwarf_unit_shape {
	unsigned version, address_size, offset_size;
};

/* One unit's abbreviation table, decoded. */
struct dwarf_abbrevs;

/* Decodes the table at offset in .debug_abbrev for a unit of shape u (the
 * bytes need not outlive it). Returns 0 and sets *out, -EINVAL for a
 * table it does not take (malformed, codes above 65535, forms it does not
 * know, a shape with other than 4- or 8-byte addresses or offsets), or
 * -ERANGE for an offset outside the section. */
int dwarf_abbrevs_new(const uint8_t *abbrev, size_t size, uint64_t offset, const struct dwarf_unit_shape *u,
                      struct dwarf_abbrevs **out);
void dwarf_abbrevs_free(struct dwarf_abbrevs *a);

/* Where the DIE at die ends together with all its children (after the
 * null entry that closes them), no further than end; NULL when a byte
 * does not decode (the caller then asks libdw). u is the shape a was
 * made for. */
const uint8_t *dwarf_die_skip(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                              const uint8_t *end);

/* The tag of the DIE at die and whether it has children (*children), as
 * its abbreviation says; -1 when its code is not one of a's (or is the
 * null entry). */
int dwarf_die_tag(const struct dwarf_abbrevs *a, const uint8_t *die, const uint8_t *end, bool *children);

/* The pc range of the DIE at die from its own DW_AT_low_pc (an address)
 * and DW_AT_high_pc (an address, or a constant added to low_pc), as
 * libdw's dwarf_ranges() gives it, without libdw's attribute lookups
 * (indexing std's functions asked for 17,000 of them): 1 with [*lo, *hi),
 * 0 when the DIE has no range (not both, and no DW_AT_ranges), -1 when
 * libdw is to say (a range list, address indexes, other forms, bytes
 * that do not decode). u is the shape a was made for. */
int dwarf_die_pc_range(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                       const uint8_t *end, uint64_t *lo, uint64_t *hi);

/* The first child of the DIE at die, as libdw's dwarf_child() finds it
 * (which parses the DIE's attributes through libdw's abbreviation cache:
 * 900 instructions a call): 0 with *child set, 1 when it has none (no
 * children flag, or a null entry first), -1 when a byte does not decode
 * (libdw is to say). */
int dwarf_die_child(const struct dwarf_abbrevs *a, const struct dwarf_unit_shape *u, const uint8_t *die,
                    const uint8_t *end, const uint8_t **child);

#endif
