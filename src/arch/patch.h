/* patch.h - diverting a function's entry (the agent's Rust allocator
 * shim hooks): the interface every architecture's patch.c implements,
 * declared once. Each src/arch/<arch>/patch.h sets the sizes below and
 * includes this. An architecture without a relocator refuses every call
 * with -ENOTSUP, so the agent reports the shim as refused instead of
 * guessing. Only forms a relocator knows are accepted. */
#ifndef KILN_ARCH_PATCH_H
#define KILN_ARCH_PATCH_H

#include <stddef.h>
#include <stdint.h>

/* Set by the architecture's patch.h:
 *   ARCH_PATCH_JUMP_LEN  the jump written over a function's entry
 *   ARCH_PATCH_ABS_LEN   an absolute jump anywhere (arch_patch_abs_jump())
 *   ARCH_PATCH_TRAMP_MAX room a relocated entry may need, the jump back too
 *   ARCH_PATCH_STUB_LEN  a hook stub (arch_patch_hook_stub()) */

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
 * integer argument holds (0-5, in the ABI's order), or -1 when it holds
 * anything else. 0, -ENOENT when no such call comes before a branch, or
 * -ENOTSUP for an instruction it does not know. Registers are followed
 * through moves; anything else that names one makes it unknown. */
int arch_patch_call_args(const uint8_t *code, size_t n, uint64_t pc, uint64_t callee, int8_t map[6]);

/* The entry jump at pc to target in out (ARCH_PATCH_JUMP_LEN bytes);
 * -ERANGE when target is out of its reach. */
int arch_patch_jump(uint8_t *out, uint64_t pc, uint64_t target);

/* A jump to target from anywhere, position-independent
 * (ARCH_PATCH_ABS_LEN bytes written to out). */
void arch_patch_abs_jump(uint8_t *out, uint64_t target);

/* A stub that jumps to target with ctx in the sixth integer argument
 * register: a hook diverted to through it is called as
 * hook(a1, ..., a5, ctx), the diverted function's own arguments first.
 * ARCH_PATCH_STUB_LEN bytes written to out. */
void arch_patch_hook_stub(uint8_t *out, uint64_t ctx, uint64_t target);

#endif
