/* flush_cost.c - what one TLB invalidation costs an allocation-heavy
 * program after it, the floor of a guarded block under
 * `kiln memcheck --sample` (its free must make a page the program touched
 * inaccessible at once). heap_bench.c's tree workload runs ROUNDS times
 * in turn: plain; with an mprotect(PROT_NONE) and back of a page the
 * program touched every EVERY allocations (the kernel invalidates its TLB
 * entry); and with the same pair on a page never touched (no entry to
 * invalidate: the system calls alone). The minimum CPU time of each over
 * the rounds (minima resist a shared machine's noise better than
 * medians), and the cost per pair.
 *
 * usage: flush_cost [ROUNDS] [EVERY]   (default 9, 1000) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

struct node {
	struct node *left, *right;
	char *name;
	int key;
};

static char *page; /* two pages: the first touched, the second never */
static int inject; /* 0 none, 1 the touched page, 2 the untouched one */
static unsigned every = 1000, count;
static uint64_t pairs;

static void tick(void)
{
	if (!inject || ++count % every)
		return;
	char *p = page + (inject == 2 ? 4096 : 0);
	mprotect(p, 4096, PROT_NONE);
	mprotect(p, 4096, PROT_READ | PROT_WRITE);
	if (inject == 1)
		page[7]++; /* its entry is back in the TLB for the next pair */
	pairs++;
}

static struct node *insert(struct node *t, int key)
{
	if (!t) {
		struct node *n = calloc(1, sizeof(*n));
		char buf[32];
		tick();
		snprintf(buf, sizeof(buf), "node-%d", key);
		n->name = strdup(buf);
		n->key = key;
		return n;
	}
	if (key < t->key)
		t->left = insert(t->left, key);
	else
		t->right = insert(t->right, key);
	return t;
}

static void destroy(struct node *t)
{
	if (!t)
		return;
	destroy(t->left);
	destroy(t->right);
	free(t->name);
	tick();
	free(t);
}

static double cpu_ms(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

/* heap_bench.c's tree part, 20 trees of 20,000 nodes */
static double workload(void)
{
	double t0 = cpu_ms();
	unsigned seed = 1;
	for (int r = 0; r < 20; r++) {
		struct node *t = NULL;
		for (int i = 0; i < 20000; i++) {
			seed = seed * 1103515245u + 12345u;
			t = insert(t, (int)(seed >> 8) % 1000000);
		}
		destroy(t);
	}
	return cpu_ms() - t0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	every = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || rounds < 1 || every < 1)
		return 1;
	page[0] = 1;
	double best[3] = {1e18, 1e18, 1e18};
	uint64_t n[3] = {0};
	for (int r = 0; r < rounds; r++)
		for (inject = 0; inject < 3; inject++) {
			pairs = 0;
			double t = workload();
			if (t < best[inject])
				best[inject] = t;
			n[inject] = pairs;
		}
	printf("plain %.1f ms, %llu pairs on a touched page %.1f ms (%.2f us each), on an untouched one %.1f ms "
	       "(%.2f us each); minima of %d rounds\n",
	       best[0], (unsigned long long)n[1], best[1], (best[1] - best[0]) * 1e3 / (double)n[1], best[2],
	       (best[2] - best[0]) * 1e3 / (double)n[2], rounds);
	return 0;
}
