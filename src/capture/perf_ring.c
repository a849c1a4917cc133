/* perf_ring.c - reading perf_event mmap ring buffers. */
#include "capture/perf_ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/xalloc.h"

#define BOUNCE_SIZE 65536

int perf_ring_map(struct perf_ring *r, int fd, int cpu, size_t data_pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cpu = cpu;
	r->map_len = (data_pages + 1) * page;
	void *base = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		int err = -errno;
		r->meta = NULL;
		return err;
	}
	r->meta = base;
	r->data = (uint8_t *)base + page;
	r->size = (uint64_t)data_pages * page;
	r->bounce = xmalloc(BOUNCE_SIZE);
	/* map every page now: the first read of each would fault while the
	 * reader races the target to empty the ring (2 us a page here) */
	const volatile uint8_t *d = r->data;
	for (uint64_t off = 0; off < r->size; off += page)
		(void)d[off];
	return 0;
}

void perf_ring_release(struct perf_ring *r)
{
	if (r->meta)
		munmap(r->meta, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r->bounce);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Whether CAP_IPC_LOCK is in this process's effective set. */
static bool has_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	bool yes = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			yes = caps & (1ull << 14); /* CAP_IPC_LOCK */
			break;
		}
	}
	fclose(f);
	return yes;
}

static long read_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	long v = dflt;
	if (!f)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

void perf_ring_budget_probe(struct perf_ring_budget *b)
{
	struct rlimit rl;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	memset(b, 0, sizeof(*b));
	if (has_ipc_lock() || read_long("/proc/sys/kernel/perf_event_paranoid", 2) < 0) {
		b->unlimited = true;
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY) {
		b->unlimited = true;
		return;
	}
	b->bytes =
	    (uint64_t)read_long("/proc/sys/kernel/perf_event_mlock_kb", 516) * 1024 * (uint64_t)(cpus > 0 ? cpus : 1);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		b->bytes += rl.rlim_cur;
}

size_t perf_ring_plan_pages(const struct perf_ring_budget *b, uint64_t want_bytes, size_t nrings, size_t page,
                            size_t min_pages, size_t max_pages)
{
	size_t pages = min_pages;
	while (pages < max_pages && (uint64_t)pages * page < want_bytes)
		pages *= 2;
	if (b->unlimited || !nrings)
		return pages;
	while (pages > min_pages && (uint64_t)(pages + 1) * page * nrings > b->bytes)
		pages /= 2;
	return pages;
}

uint64_t perf_ring_head(const struct perf_ring *r)
{
	return r->meta ? __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE) : 0;
}

size_t perf_ring_walk(struct perf_ring *r, uint64_t head, perf_record_fn fn, void *ctx)
{
	if (!r->meta)
		return 0;
	uint64_t tail = r->meta->data_tail;
	uint64_t mask = r->size - 1;
	size_t n = 0;
	while (tail < head) {
		uint64_t off = tail & mask;
		struct perf_event_header hdr;
		/* the header itself may wrap */
		for (size_t i = 0; i < sizeof(hdr); i++)
			((uint8_t *)&hdr)[i] = r->data[(off + i) & mask];
		if (hdr.size < sizeof(hdr) || tail + hdr.size > head)
			break; /* corrupt or partial: stop rather than misread */
		const struct perf_event_header *rec;
		if (off + hdr.size <= r->size) {
			rec = (const struct perf_event_header *)(r->data + off);
		} else {
			uint64_t first = r->size - off;
			memcpy(r->bounce, r->data + off, first);
			memcpy(r->bounce + first, r->data, hdr.size - first);
			rec = (const struct perf_event_header *)r->bounce;
		}
		fn(ctx, rec, r->cpu);
		tail += hdr.size;
		n++;
	}
	return n;
}

void perf_ring_consume(struct perf_ring *r, uint64_t head)
{
	if (r->meta)
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
}
