/* thread_churn.c - threads started and exited continuously, for
 * serve_bench.sh's churn workload: for SECONDS seconds, WIDTH threads at a
 * time each burn about BURN_US microseconds of CPU and exit, and the next
 * WIDTH start. Prints how many threads it started.
 *
 * usage: thread_churn [SECONDS] [WIDTH] [BURN_US] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long burn_us = 500;

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *burn(void *arg)
{
	volatile uint64_t x = (uintptr_t)arg;
	uint64_t until = now_ns(CLOCK_THREAD_CPUTIME_ID) + (uint64_t)burn_us * 1000;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 30;
	int width = argc > 2 ? atoi(argv[2]) : 4;
	burn_us = argc > 3 ? atol(argv[3]) : 500;
	if (width < 1 || width > 1024)
		width = 4;
	pthread_t *t = calloc((size_t)width, sizeof(*t));
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);
	uint64_t started = 0;
	while (now_ns(CLOCK_MONOTONIC) < end) {
		int n = 0;
		for (; n < width; n++)
			if (pthread_create(&t[n], NULL, burn, (void *)(uintptr_t)started++))
				break;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	printf("%llu threads\n", (unsigned long long)started);
	free(t);
	return 0;
}
