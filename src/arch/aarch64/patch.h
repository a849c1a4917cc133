/* patch.h - diverting a function's entry on aarch64: not done yet (the
 * agent is x86-64 code today). The interface is x86-64's (see
 * src/arch/x86_64/patch.h); every call refuses with -ENOTSUP, so the
 * agent reports the shim as refused instead of guessing. */
#ifndef KILN_ARCH_AARCH64_PATCH_H
#define KILN_ARCH_AARCH64_PATCH_H

#include <stddef.h>
#include <stdint.h>

#define ARCH_PATCH_JUMP_LEN  4
#define ARCH_PATCH_ABS_LEN   16
#define ARCH_PATCH_TRAMP_MAX 128

int arch_patch_relocate(const uint8_t *code, size_t n, uint64_t pc, uint8_t *tramp, uint64_t tramp_pc, size_t cap,
                        size_t *covered);
int arch_patch_check_body(const uint8_t *code, size_t n, uint64_t pc, size_t covered);
int arch_patch_call_args(const uint8_t *code, size_t n, uint64_t pc, uint64_t callee, int8_t map[6]);
int arch_patch_jump(uint8_t *out, uint64_t pc, uint64_t target);
void arch_patch_abs_jump(uint8_t *out, uint64_t target);
#define ARCH_PATCH_STUB_LEN 32
void arch_patch_hook_stub(uint8_t *out, uint64_t ctx, uint64_t target);

#endif
