/* patch.c - aarch64 has no entry relocator yet: every call refuses
 * (patch.h), and the agent says the shim could not be diverted. */
#include "arch/aarch64/patch.h"

#include <errno.h>
#include <string.h>

int arch_patch_relocate(const uint8_t *code, size_t n, uint64_t pc, uint8_t *tramp, uint64_t tramp_pc, size_t cap,
                        size_t *covered)
{
	(void)code, (void)n, (void)pc, (void)tramp, (void)tramp_pc, (void)cap;
	*covered = 0;
	return -ENOTSUP;
}

int arch_patch_check_body(const uint8_t *code, size_t n, uint64_t pc, size_t covered)
{
	(void)code, (void)n, (void)pc, (void)covered;
	return -ENOTSUP;
}

int arch_patch_jump(uint8_t *out, uint64_t pc, uint64_t target)
{
	(void)out, (void)pc, (void)target;
	return -ENOTSUP;
}

void arch_patch_abs_jump(uint8_t *out, uint64_t target)
{
	(void)target;
	memset(out, 0, ARCH_PATCH_ABS_LEN);
}

void arch_patch_hook_stub(uint8_t *out, uint64_t ctx, uint64_t target)
{
	(void)ctx, (void)target;
	memset(out, 0, ARCH_PATCH_STUB_LEN);
}

int arch_patch_call_args(const uint8_t *code, size_t n, uint64_t pc, uint64_t callee, int8_t map[6])
{
	(void)code, (void)n, (void)pc, (void)callee;
	memset(map, -1, 6);
	return -ENOTSUP;
}
