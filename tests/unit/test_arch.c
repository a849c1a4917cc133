/* test_arch.c - the arch seam (src/arch/arch.h) for the architecture this
 * build is for: perf's register dump lands in the right DWARF slots, and the
 * pc, sp and return address column are where the ABI puts them. Runs under
 * qemu-aarch64 in the cross build too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <asm/perf_regs.h>

#include "arch/arch.h"

/* Every register in the mask reaches out[], each in its own slot. */
static void test_perf_regs_round_trip(void **state)
{
	(void)state;
	uint64_t mask = arch_perf_regs_mask(), in[64], out[ARCH_DWARF_NREGS];
	unsigned n = (unsigned)__builtin_popcountll(mask);

	for (unsigned i = 0; i < n; i++)
		in[i] = 0x1000 + i;
	memset(out, 0, sizeof(out));
	uint64_t valid = arch_perf_regs_to_dwarf(in, mask, out);
	assert_int_equal(__builtin_popcountll(valid), n);
	assert_true(valid & (1ULL << ARCH_DWARF_IP));
	assert_true(valid & (1ULL << ARCH_DWARF_SP));
	assert_true(valid & (1ULL << ARCH_DWARF_FP));
	assert_true(valid & (1ULL << ARCH_DWARF_RA));
	for (unsigned a = 0; a < ARCH_DWARF_NREGS; a++)
		for (unsigned b = a + 1; b < ARCH_DWARF_NREGS; b++)
			if ((valid >> a & 1) && (valid >> b & 1))
				assert_true(out[a] != out[b]);
}

/* Each perf register in the DWARF slot the ABI gives it (the round trip
 * above would not see two of them swapped). */
static void test_perf_regs_slots(void **state)
{
	(void)state;
	uint64_t mask = arch_perf_regs_mask(), in[64], out[ARCH_DWARF_NREGS];
	for (unsigned i = 0; i < 64; i++)
		in[i] = 0;
	/* the value of perf's register bit: its bit number plus 0x100, at
	 * its place in the dump (one u64 per bit set, in bit order) */
	for (unsigned bit = 0, idx = 0; bit < 64; bit++)
		if (mask >> bit & 1)
			in[idx++] = 0x100 + bit;
	memset(out, 0, sizeof(out));
	arch_perf_regs_to_dwarf(in, mask, out);
#if defined(__x86_64__)
	static const struct {
		unsigned perf, dwarf;
	} want[] = {
	    {PERF_REG_X86_AX, 0},   {PERF_REG_X86_DX, 1},   {PERF_REG_X86_CX, 2},   {PERF_REG_X86_BX, 3},
	    {PERF_REG_X86_SI, 4},   {PERF_REG_X86_DI, 5},   {PERF_REG_X86_BP, 6},   {PERF_REG_X86_SP, 7},
	    {PERF_REG_X86_R8, 8},   {PERF_REG_X86_R9, 9},   {PERF_REG_X86_R10, 10}, {PERF_REG_X86_R11, 11},
	    {PERF_REG_X86_R12, 12}, {PERF_REG_X86_R13, 13}, {PERF_REG_X86_R14, 14}, {PERF_REG_X86_R15, 15},
	    {PERF_REG_X86_IP, 16},
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(out[want[i].dwarf], 0x100 + want[i].perf);
#elif defined(__aarch64__)
	for (unsigned r = 0; r <= 30; r++)
		assert_int_equal(out[r], 0x100 + r); /* x0-x30 */
	assert_int_equal(out[ARCH_DWARF_SP], 0x100 + PERF_REG_ARM64_SP);
	assert_int_equal(out[ARCH_DWARF_IP], 0x100 + PERF_REG_ARM64_PC);
#endif
}

/* The ABI's numbers, spelled out per architecture. */
static void test_abi_numbers(void **state)
{
	(void)state;
	assert_true(ARCH_DWARF_NREGS <= 64); /* masks are u64 */
	assert_true(ARCH_DWARF_REG_LIMIT >= ARCH_DWARF_NREGS);
	assert_true(ARCH_PTRACE_REG_SP < ARCH_PTRACE_NREGS);
#if defined(__x86_64__)
	assert_int_equal(ARCH_ELF_MACHINE, EM_X86_64);
	assert_int_equal(ARCH_DWARF_SP, 7);
	assert_int_equal(ARCH_DWARF_FP, 6);
	assert_int_equal(ARCH_DWARF_IP, 16);
	assert_int_equal(ARCH_DWARF_RA, 16);
	assert_string_equal(arch_dwarf_reg_name(ARCH_DWARF_SP), "rsp");
	assert_string_equal(arch_dwarf_reg_name(ARCH_DWARF_IP), "rip");
#elif defined(__aarch64__)
	assert_int_equal(ARCH_ELF_MACHINE, EM_AARCH64);
	assert_int_equal(ARCH_DWARF_SP, 31);
	assert_int_equal(ARCH_DWARF_FP, 29);
	assert_int_equal(ARCH_DWARF_RA, 30);
	assert_int_equal(ARCH_DWARF_IP, 32);
	assert_int_equal(arch_perf_regs_mask(), (1ULL << 33) - 1);
	assert_string_equal(arch_dwarf_reg_name(ARCH_DWARF_SP), "sp");
	assert_string_equal(arch_dwarf_reg_name(ARCH_DWARF_RA), "x30");
#endif
	assert_null(arch_dwarf_reg_name(ARCH_DWARF_NREGS));
}

/* A PLT entry of this machine names the GOT slot it jumps through. */
static void test_plt_decode(void **state)
{
	(void)state;
	uint64_t got = 0;
	uint32_t reloc = 0;
#if defined(__aarch64__)
	/* bti c; adrp x16, +1 page; ldr x17, [x16, #16]; add x16, x16, #16; br x17 */
	static const uint32_t insns[] = {0xd503245f, 0xb0000010, 0xf9400a11, 0x91004210, 0xd61f0220};
	assert_int_equal(arch_plt_decode((const uint8_t *)insns, sizeof(insns), 0x10010, &got, &reloc), 1);
	assert_true(got == 0x11010);
	static const uint32_t not_plt[] = {0xd503201f, 0xd503201f, 0xd503201f, 0xd503201f};
	assert_int_equal(arch_plt_decode((const uint8_t *)not_plt, sizeof(not_plt), 0x10000, &got, &reloc), 0);
#else
	/* jmp *0x2fe2(%rip) at 0x1020: the slot is 0x1026 + 0x2fe2 */
	static const uint8_t entry[16] = {0xff, 0x25, 0xe2, 0x2f, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00, 0x00, 0xe9};
	assert_int_equal(arch_plt_decode(entry, sizeof(entry), 0x1020, &got, &reloc), 1);
	assert_true(got == 0x1026 + 0x2fe2);
	/* endbr64; notrack jmp *0x10(%rip) at 0x2000: the slot is 0x200b + 0x10 */
	static const uint8_t ibt[11] = {0xf3, 0x0f, 0x1e, 0xfa, 0x3e, 0xff, 0x25, 0x10, 0x00, 0x00, 0x00};
	assert_int_equal(arch_plt_decode(ibt, sizeof(ibt), 0x2000, &got, &reloc), 1);
	assert_true(got == 0x200b + 0x10);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_regs_round_trip),
	    cmocka_unit_test(test_perf_regs_slots),
	    cmocka_unit_test(test_abi_numbers),
	    cmocka_unit_test(test_plt_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
