/* count_work.c - bench/count_bench.sh's C workloads.
 * usage: count_work compute|memory N
 *   compute: N rounds of a branchy integer hash over a 4 KiB table (in cache)
 *   memory:  N passes of a strided walk over 64 MiB (misses every cache) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static unsigned compute(long rounds)
{
	unsigned t[1024], h = 2166136261u;
	for (int i = 0; i < 1024; i++)
		t[i] = (unsigned)i * 2654435761u;
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < 1024; i++) {
			h = (h ^ t[i]) * 16777619u;
			if (h & 1)
				t[i] += h;
		}
	return h;
}

__attribute__((noinline)) static unsigned long memory(long passes)
{
	size_t n = (64u << 20) / sizeof(unsigned long);
	unsigned long *a = calloc(n, sizeof(*a)), s = 0;
	if (!a)
		return 0;
	for (long p = 0; p < passes; p++)
		for (size_t start = 0; start < 64; start++)
			for (size_t i = start; i < n; i += 64)
				s += a[i]++;
	free(a);
	return s;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000;
	if (argc > 1 && !strcmp(argv[1], "memory"))
		printf("%lu\n", memory(n));
	else
		printf("%u\n", compute(n));
	return 0;
}
