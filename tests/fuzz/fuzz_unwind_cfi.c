/* fuzz_unwind_cfi.c - libFuzzer target: an arbitrary ELF image as a module's
 * CFI, with arbitrary registers and stack bytes, unwound twice (the second
 * time from the per-address cache). Must never crash or read out of bounds.
 *
 * Input: u32 image length, the image, 17 u64 registers, u32 valid mask, the
 * rest is the stack copy. Missing bytes read as zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unwind/cfi.h"
#include "unwind/unwind.h"

#define MOD_START  0x400000ull
#define MOD_SIZE   0x1000000ull
#define STACK_ADDR 0x7ff00000ull

static int find(void *ctx, uint64_t pc, struct unwind_module *out)
{
	(void)ctx;
	if (pc < MOD_START || pc >= MOD_START + MOD_SIZE)
		return -1;
	out->path = "fuzz";
	out->start = MOD_START;
	out->end = MOD_START + MOD_SIZE;
	out->pgoff = 0;
	return 0;
}

static size_t take(const uint8_t **p, size_t *left, void *dst, size_t n)
{
	size_t k = n < *left ? n : *left;
	memset(dst, 0, n);
	memcpy(dst, *p, k);
	*p += k;
	*left -= k;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;
	uint32_t len, valid;
	struct unwind_input in;
	uint64_t pcs[64], pcs2[64];
	enum unwind_status st, st2;

	take(&p, &left, &len, sizeof(len));
	if (len > left)
		len = (uint32_t)left;
	const uint8_t *image = p;
	p += len;
	left -= len;

	memset(&in, 0, sizeof(in));
	take(&p, &left, in.regs, sizeof(in.regs));
	take(&p, &left, &valid, sizeof(valid));
	/* Keep the ip inside the module and sp at the copy, or little happens. */
	in.regs[ARCH_DWARF_IP] = MOD_START + (in.regs[ARCH_DWARF_IP] & 0xffff);
	in.regs[ARCH_DWARF_SP] = STACK_ADDR + (in.regs[ARCH_DWARF_SP] & 0x7);
	in.regs_valid = valid | (1ULL << ARCH_DWARF_IP) | (1ULL << ARCH_DWARF_SP);
	in.stack = p;
	in.stack_size = left;

	struct unwinder *u = unwinder_new();
	if (!u)
		return 0;
	unwinder_add_memory_module(u, "fuzz", image, len);
	int n = unwinder_unwind(u, &in, find, NULL, pcs, 64, &st);
	int n2 = unwinder_unwind(u, &in, find, NULL, pcs2, 64, &st2);
	/* The cache must answer exactly as libdw did. */
	if (n != n2 || st != st2 || memcmp(pcs, pcs2, (size_t)n * sizeof(*pcs)) != 0)
		abort();
	unwinder_flush(u, NULL);
	unwinder_free(u);
	return 0;
}
