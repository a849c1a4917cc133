/* agent_pool.c - spare rings for the fork children of a sandboxed host
 * (agent_pool.h; the format is channel_format.h's pool file). */
#include "agent/agent_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename() only: no stdio streams */
#include <sys/mman.h>
#include <unistd.h>

static struct kh_pool_header *pool; /* inherited by fork children */
static uint64_t pool_size;

int agent_pool_make(const char *tmp_path, const char *final_path, uint32_t slots, uint32_t owner)
{
	if (pool)
		return 0;
	if (!slots)
		return -EINVAL;
	if (slots > KH_POOL_SLOTS_MAX)
		slots = KH_POOL_SLOTS_MAX;
	uint64_t size = KH_POOL_HEADER_SIZE + (uint64_t)slots * KH_RING_FILE_SIZE;
	int rc;
	int fd = open(tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* sparse: a slot's pages are memory only once a child writes them */
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		goto out_unlink;
	}
	struct kh_pool_header *p = m;
	p->version = KH_POOL_VERSION;
	p->slots = slots;
	p->owner = owner;
	__atomic_store_n(&p->magic, KH_POOL_MAGIC, __ATOMIC_RELEASE);
	if (rename(tmp_path, final_path) < 0) {
		rc = -errno;
		munmap(m, size);
		goto out_unlink;
	}
	close(fd);
	pool = p;
	pool_size = size;
	return 0;

out_unlink:
	close(fd);
	unlink(tmp_path);
	return rc;
}

bool agent_pool_ready(void)
{
	return pool != NULL;
}

int agent_pool_take(uint32_t pid, struct kh_ring_header **out)
{
	*out = NULL;
	if (!pool)
		return -ENOENT;
	for (uint32_t i = 0; i < pool->slots && i < KH_POOL_SLOTS_MAX; i++) {
		uint32_t expect = KH_SLOT_FREE;
		if (__atomic_compare_exchange_n(&pool->state[i], &expect, KH_SLOT_TAKEN, false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_ACQUIRE)) {
			*out = kh_pool_slot(pool, i);
			return 0;
		}
	}
	uint32_t n = __atomic_fetch_add(&pool->counted, 1, __ATOMIC_RELAXED);
	if (n < KH_POOL_PIDS)
		__atomic_store_n(&pool->counted_pids[n], pid, __ATOMIC_RELEASE);
	return -ENOSPC;
}

bool agent_pool_holds(const void *ring)
{
	uintptr_t a = (uintptr_t)ring, lo = (uintptr_t)pool;
	return pool && a >= lo && a < lo + pool_size;
}

void agent_pool_count_alloc(uint64_t size)
{
	__atomic_fetch_add(&pool->counted_allocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&pool->counted_bytes, size, __ATOMIC_RELAXED);
}

void agent_pool_count_free(void)
{
	__atomic_fetch_add(&pool->counted_frees, 1, __ATOMIC_RELAXED);
}
