/* unwind_bench.c - how long one cached DWARF unwind takes: captures this
 * program's own stack under a recursion of DEPTH frames, then unwinds that
 * same capture ITERS times and prints ns per unwind and per frame.
 *
 * Build (no CMake target yet):
 *   cc -O2 -g -D_GNU_SOURCE -I src bench/unwind_bench.c build/libkiln_core.a \
 *      $(pkg-config --libs libdw libelf) -o unwind_bench
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unwind/unwind.h"

#define ITERS      1000000
#define DEPTH      24
#define STACK_COPY (64 * 1024)

struct map_ent {
	uint64_t start, end, pgoff;
	char path[256];
};

static struct map_ent maps[512];
static int nmaps;

static void maps_load(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	if (!f)
		exit(1);
	while (fgets(line, sizeof(line), f) && nmaps < 512) {
		struct map_ent *e = &maps[nmaps];
		unsigned long long s, en, off;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s%n", &s, &en, &off, &pos) < 3)
			continue;
		e->start = s;
		e->end = en;
		e->pgoff = off;
		const char *p = line + pos;
		while (*p == ' ')
			p++;
		snprintf(e->path, sizeof(e->path), "%s", p);
		e->path[strcspn(e->path, "\n")] = '\0';
		nmaps++;
	}
	fclose(f);
}

/* Binary search over the sorted maps, as a recorder's mapping tracker would. */
static int find(void *ctx, uint64_t pc, struct unwind_module *out)
{
	int lo = 0, hi = nmaps - 1;

	(void)ctx;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (pc < maps[mid].start)
			hi = mid - 1;
		else if (pc >= maps[mid].end)
			lo = mid + 1;
		else {
			out->path = maps[mid].path[0] ? maps[mid].path : NULL;
			out->start = maps[mid].start;
			out->end = maps[mid].end;
			out->pgoff = maps[mid].pgoff;
			return 0;
		}
	}
	return -1;
}

static uint64_t regs[ARCH_DWARF_NREGS], limit;
static uint64_t stack_copy[STACK_COPY / 8];
static size_t stack_size;

__attribute__((noinline)) static void capture(void)
{
	__asm__ volatile("movq %%rbx, 24(%0)\n\t"
	                 "movq %%rbp, 48(%0)\n\t"
	                 "movq %%rsp, 56(%0)\n\t"
	                 "movq %%r12, 96(%0)\n\t"
	                 "movq %%r13, 104(%0)\n\t"
	                 "movq %%r14, 112(%0)\n\t"
	                 "movq %%r15, 120(%0)\n\t"
	                 "leaq 1f(%%rip), %%rax\n\t"
	                 "movq %%rax, 128(%0)\n\t"
	                 "1:\n\t"
	                 :
	                 : "r"(regs)
	                 : "rax", "memory");
	size_t avail = limit - regs[ARCH_DWARF_RSP];
	stack_size = avail < STACK_COPY ? avail & ~(size_t)7 : STACK_COPY;
	const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)regs[ARCH_DWARF_RSP];
	for (size_t i = 0; i < stack_size / 8; i++)
		stack_copy[i] = p[i];
}

__attribute__((noinline)) static int recurse(int n)
{
	volatile char pad[32];
	pad[0] = (char)n;
	if (n == 0)
		capture();
	else
		recurse(n - 1);
	return pad[0];
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	struct unwind_input in;
	uint64_t pcs[256];
	enum unwind_status st;
	struct unwind_stats stats;

	pthread_getattr_np(pthread_self(), &attr);
	pthread_attr_getstack(&attr, &addr, &size);
	limit = (uint64_t)(uintptr_t)addr + size;
	recurse(DEPTH);
	maps_load();

	memset(&in, 0, sizeof(in));
	memcpy(in.regs, regs, sizeof(regs));
	in.regs_valid = (1u << 3) | (1u << 6) | (1u << 7) | (0xfu << 12) | (1u << 16);
	in.stack = (const uint8_t *)stack_copy;
	in.stack_size = stack_size;

	struct unwinder *u = unwinder_new();
	double t0 = now_ns();
	int n = unwinder_unwind(u, &in, find, NULL, pcs, 256, &st);
	double cold = now_ns() - t0;
	t0 = now_ns();
	for (int i = 0; i < ITERS; i++)
		unwinder_unwind(u, &in, find, NULL, pcs, 256, &st);
	double hot = (now_ns() - t0) / ITERS;
	unwinder_get_stats(u, &stats);
	printf("frames %d status %d stack %zu bytes\n", n, st, stack_size);
	printf("cold (first) unwind: %.0f us\n", cold / 1e3);
	printf("cached unwind: %.1f ns (%.1f ns/frame), %d iterations\n", hot, hot / n, ITERS);
	printf("cfi lookups %llu, cache hits %llu, modules %llu\n", (unsigned long long)stats.cfi_lookups,
	       (unsigned long long)stats.cache_hits, (unsigned long long)stats.modules);
	unwinder_free(u);
	return st == UNWIND_COMPLETE ? 0 : 1;
}
