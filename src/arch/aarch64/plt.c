/* plt.c - AArch64 PLT entries: the GOT slot they load their target from. */
#include "arch/aarch64/plt.h"

#include <string.h>

#define BTI_C 0xd503245fu

static uint32_t insn_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* AArch64 code is little-endian */
	return v;
}

int arch_plt_decode(const uint8_t *entry, size_t n, uint64_t vaddr, uint64_t *got, uint32_t *reloc)
{
	(void)reloc;
	size_t at = 0;
	if (n >= 4 && insn_at(entry) == BTI_C)
		at = 4;
	if (n < at + 8)
		return 0;
	uint32_t adrp = insn_at(entry + at), ldr = insn_at(entry + at + 4);
	/* adrp x16: op 1, bits 28..24 10000, rd 16 */
	if ((adrp & 0x9f00001fu) != 0x90000010u)
		return 0;
	/* ldr x17, [x16, #imm12 * 8]: 64-bit unsigned-offset load, rn 16, rt 17 */
	if ((ldr & 0xffc003ffu) != 0xf9400211u)
		return 0;
	uint64_t immlo = (adrp >> 29) & 3, immhi = (adrp >> 5) & 0x7ffff;
	int64_t pages = (int64_t)((immhi << 2) | immlo);
	if (pages & (1ll << 20))
		pages -= 1ll << 21; /* 21-bit signed page count */
	uint64_t pc_page = (vaddr + at) & ~(uint64_t)0xfff;
	uint64_t page = pc_page + (uint64_t)(pages * 4096);
	*got = page + (uint64_t)((ldr >> 10) & 0xfff) * 8;
	return 1;
}
