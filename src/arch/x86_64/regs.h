/* regs.h - x86_64 register numbering: DWARF numbers (what CFI speaks), the
 * ELF machine, ptrace's and the frame record's layout. Included through
 * arch/arch.h, which declares the functions regs.c defines. */
#ifndef KILN_ARCH_X86_64_REGS_H
#define KILN_ARCH_X86_64_REGS_H

#include <elf.h>

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

/* Capstone's names for this machine (only files that include capstone.h
 * expand them). Intel syntax: its mnemonics are objdump's (objdump -d -M
 * intel), where Capstone's AT&T always adds a size suffix (movq for mov). */
#define ARCH_CAPSTONE_ARCH   CS_ARCH_X86
#define ARCH_CAPSTONE_MODE   CS_MODE_64
#define ARCH_CAPSTONE_SYNTAX CS_OPT_SYNTAX_INTEL
#define ARCH_OBJDUMP_SYNTAX  "objdump -d -M intel"

#endif
