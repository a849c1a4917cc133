/* cfi_check.h - private to src/unwind: refuses call frame information that
 * would make libdw allocate without bound. libdw sizes a frame's register
 * table by the largest register number a rule names (it refuses only numbers
 * near 2^28, a 2 GB table), so one hostile instruction costs gigabytes; real
 * x86-64 CFI never names a register above 127. cfi.c checks a section here
 * before it lets libdw replay it.
 */
#ifndef KILN_UNWIND_CFI_CHECK_H
#define KILN_UNWIND_CFI_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libelf.h>

#include "arch/arch.h"

/* An .eh_frame_hdr as libdw reads it: its search table sends libdw to FDEs
 * at any offset of .eh_frame, not only those a walk from the start meets. */
struct cfi_check_hdr {
	const uint8_t *bytes;
	size_t size;
	uint64_t vaddr;
};

/* True when libdw may be given `data` as a .debug_frame (eh_frame false) or
 * as an .eh_frame loaded at frame_vaddr (with its hdr, or NULL): every CIE
 * and FDE libdw could replay (those a walk from offset 0 meets, the CIEs
 * their FDEs point at, the FDEs hdr's search table points at) is made of
 * whole instructions and names no register >= ARCH_DWARF_REG_LIMIT, nor does
 * any CIE's return address column; and reading them all takes no more
 * than twice data's size (hostile tables can name overlapping entries).
 * Reads nothing outside data and hdr; allocates only a bitmap of data's
 * size / 8 bytes, and only with a table. */
bool cfi_check_section(const unsigned char *e_ident, Elf_Data *data, bool eh_frame, uint64_t frame_vaddr,
                       const struct cfi_check_hdr *hdr);

/* Reads the .eh_frame address hdr names, as dwarf_getcfi_elf does for a
 * file without section headers. Returns 0 or -EINVAL (libdw would refuse
 * the header, or we cannot decode its pointer the way libdw does). */
int cfi_check_hdr_eh_frame(const unsigned char *e_ident, const struct cfi_check_hdr *hdr, uint64_t *eh_frame_vaddr);

#endif
