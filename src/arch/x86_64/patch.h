/* patch.h - diverting a function's entry on x86-64 (the agent's Rust
 * allocator shim hooks): an instruction-length decoder for the forms
 * compilers emit at a function's start, and a relocator that copies those
 * instructions elsewhere so the original can still be called. Only forms
 * it knows are accepted; anything else is refused, never guessed. */
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

/* Copies the instructions at the start of the function at code (which
 * runs at address pc, n bytes long) that the entry jump overwrites into
 * tramp (which will run at tramp_pc, cap bytes), with pc-relative
 * operands fixed, then a jump back to the first instruction not copied.
 * *covered: the bytes copied from code. Returns the bytes written to
 * tramp, or -ENOTSUP (an unknown form, the function ends before the jump
 * fits), -ERANGE (a displacement tramp cannot reach), -EBUSY (a branch
 * of the copied part lands inside it), -ENOSPC (cap too small). */
int arch_patch_relocate(const uint8_t *code, size_t n, uint64_t pc, uint8_t *tramp, uint64_t tramp_pc, size_t cap,
                        size_t *covered);

/* Whether some branch of the function's body (n bytes at code, running
 * at pc) past its first covered bytes lands in [pc + 1, pc + covered):
 * after the entry jump those bytes are its middle. Decodes as far as it
 * knows the forms; returns -EBUSY when one does, 0 otherwise. */
int arch_patch_check_body(const uint8_t *code, size_t n, uint64_t pc, size_t covered);

/* Where the arguments of the call (or tail jump) to callee in the
 * straight-line start of the function at code (n bytes, running at pc)
 * come from: map[i] is the function's own argument the callee's i-th
 * integer argument holds (0-5, SysV order), or -1 when it holds anything
 * else. 0, -ENOENT when no such call comes before a branch, or -ENOTSUP
 * for an instruction it does not know. Registers are followed through
 * moves; anything else that names one makes it unknown. */
int arch_patch_call_args(const uint8_t *code, size_t n, uint64_t pc, uint64_t callee, int8_t map[6]);

/* The entry jump at pc to target in out (ARCH_PATCH_JUMP_LEN bytes);
 * -ERANGE when target is more than 2 GiB away. */
int arch_patch_jump(uint8_t *out, uint64_t pc, uint64_t target);

/* A jump to target from anywhere, position-independent
 * (ARCH_PATCH_ABS_LEN bytes written to out). */
void arch_patch_abs_jump(uint8_t *out, uint64_t target);

/* A stub that jumps to target with ctx in the sixth integer argument
 * register (r9): a hook diverted to through it is called as
 * hook(a1, ..., a5, ctx), the diverted function's own arguments first.
 * ARCH_PATCH_STUB_LEN bytes written to out. */
#define ARCH_PATCH_STUB_LEN 24
void arch_patch_hook_stub(uint8_t *out, uint64_t ctx, uint64_t target);

#endif
