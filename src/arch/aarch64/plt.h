/* plt.h - what an AArch64 PLT entry jumps through, so that the symbolizer
 * can name stubs "X@plt". The instruction encodings are AArch64's; the ELF
 * bookkeeping (which relocation names which GOT slot) is the caller's. */
#ifndef KILN_ARCH_AARCH64_PLT_H
#define KILN_ARCH_AARCH64_PLT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per PLT entry when the section does not say (sh_entsize 0). */
#define ARCH_PLT_ENTRY_SIZE 16

/* Decodes one PLT entry of n bytes that sits at vaddr: `adrp x16, PAGE;
 * ldr x17, [x16, #OFF]; add x16, x16, #OFF; br x17`, optionally after a
 * `bti c`. Sets *got to PAGE + OFF and returns 1; returns 0 when the bytes
 * are not such an entry (AArch64 has no push-index form: *reloc is never
 * set, and 2 is never returned). */
int arch_plt_decode(const uint8_t *entry, size_t n, uint64_t vaddr, uint64_t *got, uint32_t *reloc);

#endif
