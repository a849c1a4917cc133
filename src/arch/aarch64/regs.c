/* regs.c - perf_event register dump to DWARF numbering, aarch64. */
#include "arch/arch.h"

#include <asm/perf_regs.h>
#include <stddef.h>

/* PERF_REG_ARM64_X0..LR are x0-x30 in order, as the DWARF numbers are;
 * SP and PC follow. Checked at build time so a kernel header that ever
 * reorders them cannot silently swap registers. */
_Static_assert(PERF_REG_ARM64_X0 == 0 && PERF_REG_ARM64_LR == 30, "perf x0-x30 are not 0-30");
_Static_assert(PERF_REG_ARM64_SP == 31 && PERF_REG_ARM64_PC == 32, "perf sp, pc are not 31, 32");

static int perf_to_dwarf(int bit)
{
	if (bit <= PERF_REG_ARM64_LR)
		return bit; /* x0-x30 */
	if (bit == PERF_REG_ARM64_SP)
		return ARCH_DWARF_XSP;
	if (bit == PERF_REG_ARM64_PC)
		return ARCH_DWARF_PC;
	return -1;
}

uint64_t arch_perf_regs_mask(void)
{
	/* x0-x30, sp, pc: bits 0-32 */
	return (1ULL << PERF_REG_ARM64_MAX) - 1;
}

uint64_t arch_perf_regs_to_dwarf(const uint64_t *regs_in, uint64_t mask, uint64_t out[ARCH_DWARF_NREGS])
{
	uint64_t valid = 0;
	unsigned idx = 0;
	for (uint64_t m = mask; m; m &= m - 1) {
		uint64_t v = regs_in[idx++];
		int reg = perf_to_dwarf(__builtin_ctzll(m));
		if (reg >= 0) {
			out[reg] = v;
			valid |= 1ULL << reg;
		}
	}
	return valid;
}

const char *arch_dwarf_reg_name(unsigned reg)
{
	static const char names[ARCH_DWARF_NREGS][4] = {
	    "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
	    "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
	    "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp",  "pc",
	};
	return reg < ARCH_DWARF_NREGS ? names[reg] : NULL;
}
