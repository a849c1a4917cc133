/* perf_ring.h - one perf_event mmap ring buffer and reading records out of it.
 *
 * The kernel writes records at data_head; we consume up to it and then
 * publish data_tail. A record that wraps around the end of the ring is
 * copied into a bounce buffer so callers always see contiguous bytes.
 */
#ifndef KILN_CAPTURE_PERF_RING_H
#define KILN_CAPTURE_PERF_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/perf_event.h>

struct perf_ring {
	int fd;
	int cpu;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size; /* data area bytes, a power of two */
	size_t map_len;
	uint8_t *bounce; /* for records that wrap; 64 KiB, the largest record */
};

/* Maps the ring of fd with data_pages (a power of two) pages of data.
 * Returns 0 or -errno (-EPERM when the mlock limit is too small). */
int perf_ring_map(struct perf_ring *r, int fd, int cpu, size_t data_pages);
/* Unmaps and closes. Accepts a ring that was never mapped (fd < 0). */
void perf_ring_release(struct perf_ring *r);

/* How much ring memory this process may lock. The kernel lets a user lock
 * perf_event_mlock_kb per online cpu, then counts the rest against
 * RLIMIT_MEMLOCK; CAP_IPC_LOCK (root) or perf_event_paranoid=-1 lifts the
 * limit. */
struct perf_ring_budget {
	bool unlimited;
	uint64_t bytes; /* when limited: ring pages plus their meta pages */
};
void perf_ring_budget_probe(struct perf_ring_budget *b);
/* Data pages for each of nrings rings (a power of two) that want want_bytes
 * of data each: the smallest power of two holding want_bytes, within
 * min_pages..max_pages, and lowered until nrings of them (each with its
 * meta page) fit the budget; never below min_pages (the kernel has the
 * last word, see perf_ring_map). */
size_t perf_ring_plan_pages(const struct perf_ring_budget *b, uint64_t want_bytes, size_t nrings, size_t page,
                            size_t min_pages, size_t max_pages);

/* Reading is split in three so a caller can make several passes over the
 * same records (side-band records of every ring first, then samples):
 * perf_ring_head() snapshots how far the kernel has written,
 * perf_ring_walk() calls fn for each complete record between the last
 * consumed point and head, oldest first (the pointer is valid only during
 * the call), and perf_ring_consume() hands the space back to the kernel. */
typedef void (*perf_record_fn)(void *ctx, const struct perf_event_header *rec, int cpu);
uint64_t perf_ring_head(const struct perf_ring *r);
size_t perf_ring_walk(struct perf_ring *r, uint64_t head, perf_record_fn fn, void *ctx);
void perf_ring_consume(struct perf_ring *r, uint64_t head);

#endif
