/* plt.h - what an x86-64 PLT entry jumps through, so that the symbolizer
 * can name stubs "X@plt". The instruction encodings are x86-64's; the ELF
 * bookkeeping (which relocation names which GOT slot) is the caller's. */
#ifndef KILN_ARCH_X86_64_PLT_H
#define KILN_ARCH_X86_64_PLT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per PLT entry when the section does not say (sh_entsize 0). */
#define ARCH_PLT_ENTRY_SIZE 16

/* Decodes one PLT entry of n bytes that sits at vaddr. Sets *got to the
 * GOT slot an indirect `jmp *disp(%rip)` reads (with or without endbr64
 * and a bnd or notrack prefix) and returns 1; else, for a lazy-binding entry that
 * only pushes its relocation index (.plt beside .plt.sec), sets *reloc to
 * that index and returns 2; returns 0 when the bytes are neither. */
int arch_plt_decode(const uint8_t *entry, size_t n, uint64_t vaddr, uint64_t *got, uint32_t *reloc);

#endif
