/* patch.h - diverting a function's entry on x86-64 (the interface is
 * src/arch/patch.h): the sizes, and an instruction-length decoder for the
 * forms compilers emit at a function's start, which the relocator uses to
 * copy those instructions elsewhere so the original can still be called.
 * Only forms it knows are accepted; anything else is refused, never
 * guessed. */
#ifndef KILN_ARCH_X86_64_PATCH_H
#define KILN_ARCH_X86_64_PATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The jump written over a function's entry: jmp rel32. */
#define ARCH_PATCH_JUMP_LEN 5
/* An absolute jump anywhere (arch_patch_abs_jump()). */
#define ARCH_PATCH_ABS_LEN 14
/* Room a relocated entry may need: each instruction grows to 16 bytes at
 * most (a call made absolute), plus the jump back. */
#define ARCH_PATCH_TRAMP_MAX 128
/* A hook stub: movabs $ctx, %r9, then an absolute jump. */
#define ARCH_PATCH_STUB_LEN 24

enum arch_insn_kind {
	ARCH_INSN_PLAIN,   /* falls through, no pc-relative operand */
	ARCH_INSN_RIPREL,  /* a memory operand relative to the next instruction (disp32 at disp_off) */
	ARCH_INSN_JMP,     /* jmp rel8/rel32: target */
	ARCH_INSN_JCC,     /* conditional jump rel8/rel32: target, cond (0-15) */
	ARCH_INSN_CALL,    /* call rel32: target */
	ARCH_INSN_END,     /* ret, or an indirect jmp without a pc-relative operand: no fall-through */
	ARCH_INSN_END_RIP, /* jmp *disp32(%rip): no fall-through, pc-relative */
};

struct arch_insn {
	uint8_t len;
	uint8_t disp_off; /* ARCH_INSN_RIPREL, _END_RIP: where disp32 is */
	uint8_t cond;     /* ARCH_INSN_JCC */
	enum arch_insn_kind kind;
	uint64_t target; /* JMP, JCC, CALL: absolute */
	/* the encoding, for arch_patch_call_args() */
	uint8_t rex;     /* the REX prefix, 0 when none */
	uint16_t opcode; /* 0x0fXX for two-byte opcodes */
	uint8_t modrm;   /* when has_modrm */
	bool has_modrm;
};

/* Decodes the instruction at code (at most n bytes readable), which runs
 * at address pc. 0 and *out filled, or -ENOTSUP for a form it does not
 * know (or one cut short by n). */
int arch_insn_decode(const uint8_t *code, size_t n, uint64_t pc, struct arch_insn *out);

#include "arch/patch.h"

#endif
