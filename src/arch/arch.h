/* arch.h - the one door to architecture-specific facts. It picks
 * src/arch/<arch>/regs.h for the architecture kiln is built for; every other
 * file includes this header, never an arch directory by path.
 *
 * Each arch header provides the same small interface:
 *   ARCH_NAME               "x86_64", "aarch64": for messages
 *   ARCH_ELF_MACHINE        e_machine of the ELF files this build unwinds
 *   ARCH_DWARF_NREGS        size of the register array kiln unwinds with,
 *                           indexed by DWARF register number
 *   ARCH_DWARF_SP, _FP      stack and frame pointer
 *   ARCH_DWARF_IP           the slot holding a frame's pc
 *   ARCH_DWARF_RA           the CFI return address column: the caller's pc
 *                           is its value (the same slot as IP on x86-64, x30
 *                           on aarch64)
 *   ARCH_DWARF_REG_LIMIT    no valid CFI names a register at or above it
 *   ARCH_PTRACE_NREGS       u64 words of PTRACE_GETREGSET(NT_PRSTATUS)
 *   ARCH_PTRACE_REG_SP      where the stack pointer is among them
 *   ARCH_FRAME_FP_OFFSET    a frame record: the caller's fp at [fp + this]
 *   ARCH_FRAME_RA_OFFSET    ... and the return address at [fp + this]
 *   ARCH_ENTRY_RA_IN_REG    true when a call leaves the return address in a
 *                           register (aarch64's lr), not on the stack
 *   ARCH_CFA_RA_OFFSET      the usual frame's return address slot, CFA + this
 *   ARCH_UC_PC_OFFSET, _SP_, _FP_  where a signal frame's ucontext_t keeps
 *                           the interrupted pc, sp and fp (bytes)
 *   arch_thread_pointer()   the calling thread's thread pointer
 *   ARCH_LIBUNWIND_PREFIX   libunwind's local symbols' prefix ("_ULx86_64_")
 *   ARCH_CAPSTONE_ARCH, _MODE, _SYNTAX  Capstone's arch, mode and syntax for
 *                           this machine's code (names from capstone.h)
 *   ARCH_OBJDUMP_SYNTAX     the objdump command that shows the same syntax
 *   arch_perf_regs_mask()   the PERF_SAMPLE_REGS_USER mask kiln asks for
 *   arch_perf_regs_to_dwarf() the kernel's dump in DWARF numbering
 *   arch_dwarf_reg_name()   a register's name, for messages and tests
 *   arch_plt_decode()       the GOT slot a PLT entry jumps through (plt.h)
 *   arch_patch_relocate(), _jump(), _abs_jump(), _check_body()  a function's
 *                           entry diverted, its first instructions copied
 *                           with pc-relative operands fixed (src/arch/patch.h)
 */
#ifndef KILN_ARCH_ARCH_H
#define KILN_ARCH_ARCH_H

#if defined(__x86_64__)
#include "arch/x86_64/patch.h"
#include "arch/x86_64/plt.h"
#include "arch/x86_64/regs.h"
#elif defined(__aarch64__)
#include "arch/aarch64/patch.h"
#include "arch/aarch64/plt.h"
#include "arch/aarch64/regs.h"
#else
#error "kiln builds for x86_64 and aarch64 only: add src/arch/<arch>/regs.h"
#endif

#include <stdint.h>

/* The PERF_SAMPLE_REGS_USER mask kiln asks for (every general purpose
 * register, pc and sp). */
uint64_t arch_perf_regs_mask(void);
/* regs_in holds one u64 per bit set in mask, in bit order (the kernel's
 * dump). Fills out[ARCH_DWARF_NREGS] and returns the valid-bit mask. */
uint64_t arch_perf_regs_to_dwarf(const uint64_t *regs_in, uint64_t mask, uint64_t out[ARCH_DWARF_NREGS]);
/* The name of DWARF register reg ("rsp", "x30"), or NULL when kiln does not
 * unwind with it. The string is static. */
const char *arch_dwarf_reg_name(unsigned reg);

#endif
