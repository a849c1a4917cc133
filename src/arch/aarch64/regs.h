/* regs.h - aarch64 register numbering: DWARF numbers (DWARF for the Arm
 * 64-bit Architecture: x0-x30 = 0-30, sp = 31, pc = 32), the ELF machine,
 * ptrace's and the frame record's layout. Included through arch/arch.h,
 * which declares the functions regs.c defines. */
#ifndef KILN_ARCH_AARCH64_REGS_H
#define KILN_ARCH_AARCH64_REGS_H

#include <elf.h>
#include <stdint.h>

#define ARCH_NAME        "aarch64"
#define ARCH_ELF_MACHINE EM_AARCH64

enum arch_dwarf_reg {
	ARCH_DWARF_X0 = 0,
	ARCH_DWARF_X19 = 19, /* x19-x28: callee-saved */
	ARCH_DWARF_X28 = 28,
	ARCH_DWARF_X29 = 29, /* the frame pointer */
	ARCH_DWARF_X30 = 30, /* lr: the return address column */
	ARCH_DWARF_XSP = 31,
	ARCH_DWARF_PC = 32, /* never named by CFI: the caller's pc is x30's value */
	ARCH_DWARF_NREGS = 33,
};

/* 33 ELR_mode, 34 RA_SIGN_STATE, 35-47 system registers, 48-63 SVE p0-p15,
 * 64-95 v0-v31, 96-127 SVE z0-z31: CFI naming one above is corrupt. */
#define ARCH_DWARF_REG_LIMIT 128

#define ARCH_DWARF_SP ARCH_DWARF_XSP
#define ARCH_DWARF_FP ARCH_DWARF_X29
#define ARCH_DWARF_IP ARCH_DWARF_PC
#define ARCH_DWARF_RA ARCH_DWARF_X30

/* ptrace's NT_PRSTATUS set (struct user_pt_regs: x0-x30, sp, pc, pstate)
 * in u64 words, and where the stack pointer is in it. */
#define ARCH_PTRACE_NREGS  34
#define ARCH_PTRACE_REG_SP 31

/* stp x29, x30, [sp, #-16]!; mov x29, sp: the frame record holds the
 * caller's x29 at [x29] and lr at [x29 + 8]; at a function's first
 * instruction the return address is still in x30. */
#define ARCH_FRAME_FP_OFFSET 0
#define ARCH_FRAME_RA_OFFSET 8
#define ARCH_ENTRY_RA_IN_REG 1

/* The return address's slot in the usual frame, CFA + this: where the
 * frame record (stp x29, x30, [sp, #-16]!) keeps lr. */
#define ARCH_CFA_RA_OFFSET (-8)

/* A signal frame's saved pc, sp and fp: byte offsets into the ucontext_t
 * the kernel leaves on the stack (expand only where <ucontext.h> and
 * <stddef.h> are included). */
#define ARCH_UC_PC_OFFSET offsetof(ucontext_t, uc_mcontext.pc)
#define ARCH_UC_SP_OFFSET offsetof(ucontext_t, uc_mcontext.sp)
#define ARCH_UC_FP_OFFSET (offsetof(ucontext_t, uc_mcontext.regs) + 29 * sizeof(unsigned long long))

/* The thread pointer (TPIDR_EL0; glibc's TCB). */
static inline uintptr_t arch_thread_pointer(void)
{
	uintptr_t tp;
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
	return tp;
}

/* The prefix of libunwind's local-unwinding symbols for this machine. */
#define ARCH_LIBUNWIND_PREFIX "_ULaarch64_"

/* Capstone's names for this machine (only files that include capstone.h
 * expand them); the default syntax is objdump's. */
#define ARCH_CAPSTONE_ARCH   CS_ARCH_ARM64
#define ARCH_CAPSTONE_MODE   CS_MODE_ARM
#define ARCH_CAPSTONE_SYNTAX CS_OPT_SYNTAX_DEFAULT
#define ARCH_OBJDUMP_SYNTAX  "objdump -d"

#endif
