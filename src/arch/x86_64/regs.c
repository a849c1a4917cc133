/* regs.c - perf_event register dump to DWARF numbering, x86_64. */
#include "arch/arch.h"

#include <asm/perf_regs.h>
#include <stddef.h>

/* perf order -> DWARF number, for the general purpose registers. */
static const struct {
	int perf, dwarf;
} reg_map[] = {
    {PERF_REG_X86_AX, 0},   {PERF_REG_X86_DX, 1},   {PERF_REG_X86_CX, 2},   {PERF_REG_X86_BX, 3},
    {PERF_REG_X86_SI, 4},   {PERF_REG_X86_DI, 5},   {PERF_REG_X86_BP, 6},   {PERF_REG_X86_SP, 7},
    {PERF_REG_X86_R8, 8},   {PERF_REG_X86_R9, 9},   {PERF_REG_X86_R10, 10}, {PERF_REG_X86_R11, 11},
    {PERF_REG_X86_R12, 12}, {PERF_REG_X86_R13, 13}, {PERF_REG_X86_R14, 14}, {PERF_REG_X86_R15, 15},
    {PERF_REG_X86_IP, 16},
};

uint64_t arch_perf_regs_mask(void)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < sizeof(reg_map) / sizeof(reg_map[0]); i++)
		m |= 1ULL << reg_map[i].perf;
	return m;
}

uint64_t arch_perf_regs_to_dwarf(const uint64_t *regs_in, uint64_t mask, uint64_t out[ARCH_DWARF_NREGS])
{
	uint64_t valid = 0;
	unsigned idx = 0;
	for (int bit = 0; bit < 64; bit++) {
		if (!(mask & (1ULL << bit)))
			continue;
		uint64_t v = regs_in[idx++];
		for (unsigned i = 0; i < sizeof(reg_map) / sizeof(reg_map[0]); i++) {
			if (reg_map[i].perf == bit) {
				out[reg_map[i].dwarf] = v;
				valid |= 1ULL << reg_map[i].dwarf;
			}
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
