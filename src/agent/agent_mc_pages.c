/* agent_mc_pages.c - the memcheck mode's page protection: guard markers
 * where the kernel has them, mprotect else (agent_mc_pages.h says why). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/agent_mc_pages.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

#define BATCH_MAX 64 /* ranges per process_madvise */

static bool markers;
static int batch_works = 1; /* process_madvise on ourselves: 1 unknown or yes, 0 refused */

bool mc_pages_markers(void)
{
	return markers;
}

void *mc_pages_reserve(size_t len, bool no_markers)
{
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *r = no_markers ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	/* one marker as a probe: a kernel without them says EINVAL */
	if (r != MAP_FAILED && madvise(r, MC_PAGE, MADV_GUARD_INSTALL) == 0 &&
	    madvise(r, MC_PAGE, MADV_GUARD_REMOVE) == 0) {
		markers = true;
		return r;
	}
	if (r != MAP_FAILED)
		munmap(r, len);
	r = mmap(NULL, len, PROT_NONE, flags, -1, 0);
	return r == MAP_FAILED ? NULL : r;
}

/* One advice over n ranges: one process_madvise where the kernel takes
 * any advice for the calling process (6.13, as markers), a madvise each
 * else. The pidfd is opened and closed here: no descriptor of the agent's
 * stays open in the program. */
static int advise(const struct mc_range *r, int n, int advice)
{
	int rc = 0;
	if (n > 1 && __atomic_load_n(&batch_works, __ATOMIC_RELAXED)) {
		int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		if (fd >= 0) {
			struct iovec iov[BATCH_MAX];
			int done = 0;
			while (done < n) {
				int k = n - done < BATCH_MAX ? n - done : BATCH_MAX;
				size_t want = 0;
				for (int i = 0; i < k; i++) {
					iov[i].iov_base = (void *)r[done + i].lo;
					iov[i].iov_len = r[done + i].len;
					want += r[done + i].len;
				}
				long got = syscall(SYS_process_madvise, fd, iov, (size_t)k, advice, 0u);
				if (got < 0 || (size_t)got != want)
					break;
				done += k;
			}
			close(fd);
			if (done == n)
				return 0;
			r += done;
			n -= done;
		}
		__atomic_store_n(&batch_works, 0, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < n; i++)
		if (madvise((void *)r[i].lo, r[i].len, advice) != 0)
			rc = -1;
	return rc;
}

int mc_pages_guard_fresh(const struct mc_range *r, int n)
{
	return markers ? advise(r, n, MADV_GUARD_INSTALL) : 0;
}

int mc_pages_data_fresh(uintptr_t lo, size_t len)
{
	return markers ? 0 : mprotect((void *)lo, len, PROT_READ | PROT_WRITE);
}

int mc_pages_slot_fresh(uintptr_t lo, size_t len)
{
	/* accounted (no MAP_NORESERVE): its flags differ from the reservation's
	 * and from a guard's, so the kernel never merges it with them and
	 * mprotect of the whole mapping splits nothing */
	void *p = mmap((void *)lo, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return p == MAP_FAILED ? -1 : 0;
}

int mc_pages_slot_close(uintptr_t lo, size_t len)
{
	return mprotect((void *)lo, len, PROT_NONE);
}

int mc_pages_slot_open(uintptr_t lo, size_t len)
{
	return mprotect((void *)lo, len, PROT_READ | PROT_WRITE);
}

int mc_pages_close(uintptr_t lo, size_t len)
{
	if (markers)
		return madvise((void *)lo, len, MADV_GUARD_INSTALL);
	/* a fresh inaccessible mapping over the pages drops their memory and
	 * protects them in one call (and merges with the guards around) */
	void *p = mmap((void *)lo, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p != MAP_FAILED)
		return 0;
	madvise((void *)lo, len, MADV_DONTNEED);
	return mprotect((void *)lo, len, PROT_NONE);
}

int mc_pages_open(const struct mc_range *r, int n)
{
	if (markers)
		return advise(r, n, MADV_GUARD_REMOVE);
	int rc = 0;
	for (int i = 0; i < n; i++)
		if (mprotect((void *)r[i].lo, r[i].len, PROT_READ | PROT_WRITE) != 0)
			rc = -1;
	return rc;
}

int mc_pages_disarm(uintptr_t lo, size_t len)
{
	if (markers && madvise((void *)lo, len, MADV_GUARD_REMOVE) != 0)
		return -1;
	return mprotect((void *)lo, len, PROT_READ);
}

int mc_pages_rearm(uintptr_t lo, size_t len, bool guard)
{
	if (!guard)
		return mprotect((void *)lo, len, PROT_READ | PROT_WRITE);
	if (!markers)
		return mprotect((void *)lo, len, PROT_NONE);
	if (mprotect((void *)lo, len, PROT_READ | PROT_WRITE) != 0)
		return -1;
	return madvise((void *)lo, len, MADV_GUARD_INSTALL);
}
