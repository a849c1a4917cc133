/* offcpu_switch.c - a switch-heavy workload for bench/offcpu_bench.sh:
 * NTHREADS threads (default 8) each sleep NAPS times (default 2000) for
 * NAP_US microseconds (default 50), so the program does little but go off
 * the cpu and come back (NTHREADS x NAPS x 2 context switches).
 *
 * Prints "elapsed_ns N", its own run time from the first thread's start
 * to the last one's end, so a benchmark measures the program and not the
 * profiler's start and finish, and "cpu_ns N", the CPU time its threads
 * used (user and system): what a profiler adds inside the program (the
 * kernel's work at each switch) apart from the cpu it takes from it.
 *
 * usage: offcpu_switch [NTHREADS] [NAPS] [NAP_US] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static long naps = 2000, nap_us = 50;

static void *napper(void *arg)
{
	(void)arg;
	struct timespec ts = {0, nap_us * 1000};
	for (long i = 0; i < naps; i++)
		nanosleep(&ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 8;
	if (argc > 2)
		naps = atol(argv[2]);
	if (argc > 3)
		nap_us = atol(argv[3]);
	if (n < 1 || n > 1024 || naps < 1 || nap_us < 0) {
		fprintf(stderr, "usage: offcpu_switch [NTHREADS] [NAPS] [NAP_US]\n");
		return 2;
	}
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, napper, NULL);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("elapsed_ns %lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec));
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("cpu_ns %lld\n", ((long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ll +
	                         ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
	                            1000ll);
	free(t);
	return 0;
}
