/* regs.h - x86_64 register numbering: DWARF numbers (what CFI speaks), the
 * ELF machine, ptrace's and the frame record's layout. Included through
 * arch/arch.h, which declares the functions regs.c defines. */
#ifndef KILN_ARCH_X86_64_REGS_H
#define KILN_ARCH_X86_64_REGS_H

#include <elf.h>
#include <stdint.h>

#define ARCH_NAME        "x86_64"
#define ARCH_ELF_MACHINE EM_X86_64

/* DWARF register numbers (System V AMD64 ABI, figure 3.36). */
enum arch_dwarf_reg {
	ARCH_DWARF_RAX = 0,
	ARCH_DWARF_RDX = 1,
	ARCH_DWARF_RCX = 2,
	ARCH_DWARF_RBX = 3,
	ARCH_DWARF_RSI = 4,
	ARCH_DWARF_RDI = 5,
	ARCH_DWARF_RBP = 6,
	ARCH_DWARF_RSP = 7,
	ARCH_DWARF_R8 = 8,
	ARCH_DWARF_R15 = 15,
	ARCH_DWARF_RIP = 16, /* the return address column */
	ARCH_DWARF_NREGS = 17,
};

/* Every DWARF register number x86-64 has lies below this (GPRs 0-16, xmm
 * 17-32, st/mm 33-48, flags and segments 49-65, zmm16-31 67-82, k0-k7
 * 118-125): CFI naming one above it is corrupt or hostile. */
#define ARCH_DWARF_REG_LIMIT 128

#define ARCH_DWARF_SP ARCH_DWARF_RSP
#define ARCH_DWARF_FP ARCH_DWARF_RBP
#define ARCH_DWARF_IP ARCH_DWARF_RIP
#define ARCH_DWARF_RA ARCH_DWARF_RIP

/* ptrace's register set (PTRACE_GETREGSET, NT_PRSTATUS: struct
 * user_regs_struct) in u64 words, and where the stack pointer is in it. */
#define ARCH_PTRACE_NREGS  27
#define ARCH_PTRACE_REG_SP 19

/* push %rbp; mov %rsp, %rbp: the saved rbp at [rbp], the return address
 * that call pushed above it. */
#define ARCH_FRAME_FP_OFFSET 0
#define ARCH_FRAME_RA_OFFSET 8
#define ARCH_ENTRY_RA_IN_REG 0

/* The return address's slot in the usual frame, CFA + this: where call
 * pushed it. */
#define ARCH_CFA_RA_OFFSET (-8)

/* A signal frame's saved pc, sp and fp: byte offsets into the ucontext_t
 * the kernel leaves on the stack (expand only where <ucontext.h> and
 * <stddef.h> are included). */
#define ARCH_UC_GREG(r)   (offsetof(ucontext_t, uc_mcontext.gregs) + (size_t)(r) * sizeof(greg_t))
#define ARCH_UC_PC_OFFSET ARCH_UC_GREG(REG_RIP)
#define ARCH_UC_SP_OFFSET ARCH_UC_GREG(REG_RSP)
#define ARCH_UC_FP_OFFSET ARCH_UC_GREG(REG_RBP)

/* The thread pointer (glibc's struct pthread, at the top of a thread's
 * stack block). */
static inline uintptr_t arch_thread_pointer(void)
{
	uintptr_t tp;
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* The prefix of libunwind's local-unwinding symbols for this machine. */
#define ARCH_LIBUNWIND_PREFIX "_ULx86_64_"

/* Capstone's names for this machine (only files that include capstone.h
 * expand them). Intel syntax: its mnemonics are objdump's (objdump -d -M
 * intel), where Capstone's AT&T always adds a size suffix (movq for mov). */
#define ARCH_CAPSTONE_ARCH   CS_ARCH_X86
#define ARCH_CAPSTONE_MODE   CS_MODE_64
#define ARCH_CAPSTONE_SYNTAX CS_OPT_SYNTAX_INTEL
#define ARCH_OBJDUMP_SYNTAX  "objdump -d -M intel"

#endif
