/* plt.c - decodes x86-64 PLT entries (.plt, .plt.sec, .plt.got): the
 * forms GNU ld and lld emit, with and without IBT's endbr64. */
#include "arch/x86_64/plt.h"

#include <string.h>

static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};

int arch_plt_decode(const uint8_t *entry, size_t n, uint64_t vaddr, uint64_t *got, uint32_t *reloc)
{
	size_t i = 0;
	if (n >= sizeof(endbr64) && memcmp(entry, endbr64, sizeof(endbr64)) == 0)
		i = sizeof(endbr64);
	if (i < n && (entry[i] == 0xf2 || entry[i] == 0x3e)) /* bnd (MPX-era ld output) or notrack */
		i++;
	if (i + 6 <= n && entry[i] == 0xff && entry[i + 1] == 0x25) {
		/* jmp *disp32(%rip): the target is relative to the next instruction */
		int32_t disp;
		memcpy(&disp, entry + i + 2, sizeof(disp)); /* x86-64 is little-endian */
		*got = vaddr + i + 6 + (uint64_t)(int64_t)disp;
		return 1;
	}
	if (i + 5 <= n && entry[i] == 0x68) {
		/* push $index: the lazy entry of .plt when calls go through .plt.sec */
		uint32_t idx;
		memcpy(&idx, entry + i + 1, sizeof(idx));
		*reloc = idx;
		return 2;
	}
	return 0;
}
