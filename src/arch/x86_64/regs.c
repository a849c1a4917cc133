/* regs.c - perf_event register dump to DWARF numbering, x86_64. */
#include "arch/arch.h"

#include <asm/perf_regs.h>
#include <stddef.h>

/* perf's register bit -> the DWARF number + 1 (0: not kept), for the
 * general purpose registers: a table, not a search, as this runs for
 * every sample. */
static const uint8_t dwarf_of_bit[64] = {
    [PERF_REG_X86_AX] = 0 + 1,   [PERF_REG_X86_DX] = 1 + 1,   [PERF_REG_X86_CX] = 2 + 1,   [PERF_REG_X86_BX] = 3 + 1,
    [PERF_REG_X86_SI] = 4 + 1,   [PERF_REG_X86_DI] = 5 + 1,   [PERF_REG_X86_BP] = 6 + 1,   [PERF_REG_X86_SP] = 7 + 1,
    [PERF_REG_X86_R8] = 8 + 1,   [PERF_REG_X86_R9] = 9 + 1,   [PERF_REG_X86_R10] = 10 + 1, [PERF_REG_X86_R11] = 11 + 1,
    [PERF_REG_X86_R12] = 12 + 1, [PERF_REG_X86_R13] = 13 + 1, [PERF_REG_X86_R14] = 14 + 1, [PERF_REG_X86_R15] = 15 + 1,
    [PERF_REG_X86_IP] = 16 + 1,
};

uint64_t arch_perf_regs_mask(void)
{
	uint64_t m = 0;
	for (unsigned bit = 0; bit < 64; bit++)
		if (dwarf_of_bit[bit])
			m |= 1ULL << bit;
	return m;
}

uint64_t arch_perf_regs_to_dwarf(const uint64_t *regs_in, uint64_t mask, uint64_t out[ARCH_DWARF_NREGS])
{
	uint64_t valid = 0;
	unsigned idx = 0;
	for (uint64_t m = mask; m; m &= m - 1) {
		uint64_t v = regs_in[idx++];
		int reg = dwarf_of_bit[__builtin_ctzll(m)] - 1;
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
	    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
	    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip",
	};
	return reg < ARCH_DWARF_NREGS ? names[reg] : NULL;
}
