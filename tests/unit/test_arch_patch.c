/* test_arch_patch.c - the x86-64 entry relocator (src/arch/x86_64/patch.c)
 * on the shapes rustc 1.95 emits at the start of its allocator shim and
 * GlobalAlloc methods (from objdump of release and debug builds): lengths,
 * pc-relative operands fixed for the copy's address, branches made
 * absolute, refusals, and the arguments read off a call. x86-64 only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arch.h"

#if defined(__x86_64__)

#define PC    0x555555560000ull
#define TRAMP 0x555555000000ull

/* Lengths and kinds of instructions seen at the shim's entries. */
static void test_decode_shapes(void **state)
{
	(void)state;
	static const struct {
		uint8_t bytes[15];
		uint8_t len;
		enum arch_insn_kind kind;
	} cases[] = {
	    {{0xf0, 0x48, 0xff, 0x05, 0x70, 0x25, 0x04, 0x00}, 8, ARCH_INSN_RIPREL}, /* lock incq 0x42570(%rip) */
	    {{0x48, 0x89, 0xfa}, 3, ARCH_INSN_PLAIN},                                /* mov %rdi,%rdx */
	    {{0x48, 0x83, 0xfe, 0x11}, 4, ARCH_INSN_PLAIN},                          /* cmp $0x11,%rsi */
	    {{0xff, 0x25, 0x3a, 0x03, 0x04, 0x00}, 6, ARCH_INSN_END_RIP},            /* jmp *0x4033a(%rip) */
	    {{0xe9, 0x00, 0x01, 0x00, 0x00}, 5, ARCH_INSN_JMP},                      /* jmp rel32 */
	    {{0xf3, 0x0f, 0x1e, 0xfa}, 4, ARCH_INSN_PLAIN},                          /* endbr64 */
	    {{0x41, 0x57}, 2, ARCH_INSN_PLAIN},                                      /* push %r15 */
	    {{0x48, 0x83, 0xec, 0x18}, 4, ARCH_INSN_PLAIN},                          /* sub $0x18,%rsp */
	    {{0x48, 0x89, 0x7c, 0x24, 0x08}, 5, ARCH_INSN_PLAIN},                    /* mov %rdi,0x8(%rsp) */
	    {{0x48, 0x8d, 0x15, 0x73, 0xf3, 0x03, 0x00}, 7, ARCH_INSN_RIPREL},       /* lea 0x3f373(%rip),%rdx */
	    {{0x0f, 0x84, 0x10, 0x00, 0x00, 0x00}, 6, ARCH_INSN_JCC},                /* je rel32 */
	    {{0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, 10, ARCH_INSN_PLAIN},             /* movabs $imm64,%rax */
	    {{0xc3}, 1, ARCH_INSN_END},                                              /* ret */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arch_insn in;
		uint8_t buf[16];
		memset(buf, 0x90, sizeof(buf));
		memcpy(buf, cases[i].bytes, cases[i].len);
		assert_int_equal(arch_insn_decode(buf, sizeof(buf), PC, &in), 0);
		assert_int_equal(in.len, cases[i].len);
		assert_int_equal(in.kind, cases[i].kind);
	}
	struct arch_insn in;
	static const uint8_t int3[] = {0xcc, 0xcc};
	assert_int_equal(arch_insn_decode(int3, sizeof(int3), PC, &in), -ENOTSUP);
	static const uint8_t cut[] = {0xe9, 0x00}; /* a jump cut short */
	assert_int_equal(arch_insn_decode(cut, sizeof(cut), PC, &in), -ENOTSUP);
}

/* A rip-relative operand points where it did from the copy, and the copy
 * jumps back to the first instruction not copied. */
static void test_relocate_riprel(void **state)
{
	(void)state;
	/* lock incq 0x100(%rip); mov %rdi,%rdx; ret */
	static const uint8_t code[] = {0xf0, 0x48, 0xff, 0x05, 0x00, 0x01, 0x00, 0x00, 0x48, 0x89, 0xfa, 0xc3};
	uint8_t tramp[ARCH_PATCH_TRAMP_MAX];
	size_t covered = 0;
	int n = arch_patch_relocate(code, sizeof(code), PC, tramp, TRAMP, sizeof(tramp), &covered);
	assert_int_equal(covered, 8);
	assert_int_equal(n, 8 + ARCH_PATCH_ABS_LEN);
	int32_t disp;
	memcpy(&disp, tramp + 4, 4);
	assert_true(TRAMP + 8 + (uint64_t)(int64_t)disp == PC + 8 + 0x100); /* the same counter */
	assert_memory_equal(tramp, code, 4);
	/* then jmp *0(%rip) to PC + 8 */
	uint64_t back;
	assert_int_equal(tramp[8], 0xff);
	assert_int_equal(tramp[9], 0x25);
	memcpy(&back, tramp + 14, 8);
	assert_true(back == PC + 8);
}

/* An entry that is a jump (System's shim, a jmp through the GOT) is
 * copied as an absolute jump to the same target, with nothing after. */
static void test_relocate_jumps(void **state)
{
	(void)state;
	static const uint8_t jmp[] = {0xe9, 0x00, 0x10, 0x00, 0x00, 0xcc, 0xcc};
	uint8_t tramp[ARCH_PATCH_TRAMP_MAX];
	size_t covered = 0;
	int n = arch_patch_relocate(jmp, sizeof(jmp), PC, tramp, TRAMP, sizeof(tramp), &covered);
	assert_int_equal(n, ARCH_PATCH_ABS_LEN);
	assert_int_equal(covered, 5);
	uint64_t target;
	memcpy(&target, tramp + 6, 8);
	assert_true(target == PC + 5 + 0x1000);

	/* mov %rsi,%rdx; je +0x20 (inside the function, past the copy) */
	static const uint8_t jcc[] = {0x48, 0x89, 0xf2, 0x74, 0x20, 0x90, 0x90};
	n = arch_patch_relocate(jcc, sizeof(jcc), PC, tramp, TRAMP, sizeof(tramp), &covered);
	assert_int_equal(covered, 5);
	assert_int_equal(tramp[3], 0x75); /* jne over the absolute jump */
	assert_int_equal(tramp[4], ARCH_PATCH_ABS_LEN);
	memcpy(&target, tramp + 5 + 6, 8);
	assert_true(target == PC + 5 + 0x20);
}

/* Refusals: a function that ends before the jump fits, an unknown form,
 * a branch back into the copied bytes. */
static void test_relocate_refuses(void **state)
{
	(void)state;
	uint8_t tramp[ARCH_PATCH_TRAMP_MAX];
	size_t covered;
	static const uint8_t short_fn[] = {0x31, 0xc0, 0xc3, 0xcc, 0xcc, 0xcc}; /* xor %eax,%eax; ret */
	assert_int_equal(arch_patch_relocate(short_fn, sizeof(short_fn), PC, tramp, TRAMP, sizeof(tramp), &covered),
	                 -ENOTSUP);
	static const uint8_t unknown[] = {0x0f, 0x05, 0x90, 0x90, 0x90, 0x90}; /* syscall */
	assert_int_equal(arch_patch_relocate(unknown, sizeof(unknown), PC, tramp, TRAMP, sizeof(tramp), &covered),
	                 -ENOTSUP);
	/* push %rbx; jne -3 (back to pc + 1 + ... inside the copy); nop */
	static const uint8_t loop[] = {0x53, 0x90, 0x90, 0x75, 0xfc, 0x90, 0x90};
	assert_int_equal(arch_patch_relocate(loop, sizeof(loop), PC, tramp, TRAMP, sizeof(tramp), &covered), -EBUSY);
	/* the body past the copy branching back into it */
	static const uint8_t body[] = {0x48, 0x89, 0xfa, 0x48, 0x89, 0xf1, 0x75, 0xf9, 0xc3};
	assert_int_equal(arch_patch_check_body(body, sizeof(body), PC, 6), -EBUSY);
	assert_int_equal(arch_patch_check_body(body, sizeof(body), PC, 1), 0);
	/* an operand 4 GiB from the copy cannot be reached */
	static const uint8_t far[] = {0x48, 0x8b, 0x05, 0x00, 0x00, 0x00, 0x00, 0x90};
	assert_int_equal(arch_patch_relocate(far, sizeof(far), PC, tramp, PC + (5ull << 30), sizeof(tramp), &covered),
	                 -ERANGE);
	uint8_t j[ARCH_PATCH_JUMP_LEN];
	assert_int_equal(arch_patch_jump(j, PC, PC + (3ull << 30)), -ERANGE);
	assert_int_equal(arch_patch_jump(j, PC, PC - 0x1000), 0);
	assert_int_equal(j[0], 0xe9);
}

/* A GlobalAlloc method's arguments read off the shim's call: a stateless
 * allocator's method lost &self, a free lost its Layout. */
static void test_call_args(void **state)
{
	(void)state;
	int8_t map[6];
	/* mov %rsi,%rdx; mov %rdi,%rsi; lea 0x100(%rip),%rdi; jmp callee:
	 * the callee gets (a static's address, the caller's first argument,
	 * its second) */
	uint8_t code[32] = {0x48, 0x89, 0xf2, 0x48, 0x89, 0xfe, 0x48, 0x8d, 0x3d, 0x00, 0x01, 0x00, 0x00, 0xe9};
	uint64_t callee = PC + 0x400;
	int32_t rel = (int32_t)(callee - (PC + 18));
	memcpy(code + 14, &rel, 4);
	assert_int_equal(arch_patch_call_args(code, 18, PC, callee, map), 0);
	assert_int_equal(map[0], -1); /* not one of the caller's arguments */
	assert_int_equal(map[1], 0);
	assert_int_equal(map[2], 1);
	/* a call to anything else first: the registers are not known */
	assert_int_equal(arch_patch_call_args(code, 18, PC, callee + 1, map), -ENOENT);
	/* a tail jump with the arguments as they came: the identity */
	static const uint8_t tail[] = {0xe9, 0xfb, 0x03, 0x00, 0x00};
	assert_int_equal(arch_patch_call_args(tail, sizeof(tail), PC, PC + 0x400, map), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(map[i], i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_shapes),  cmocka_unit_test(test_relocate_riprel),
	    cmocka_unit_test(test_relocate_jumps), cmocka_unit_test(test_relocate_refuses),
	    cmocka_unit_test(test_call_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	return 0; /* the relocator is x86-64's only: aarch64 refuses every call */
}

#endif
