/* agent_channel.c - reads the rings libkiln-agent.so writes (agent_channel.h). */
#include "capture/agent_channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/maps_line.h"
#include "capture/proc_stat.h"
#include "capture/scan_regions.h"
#include "capture/thread_regs.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct ring {
	char *path;
	struct kh_ring_header *h;
	const char *data;
	size_t map_size;
	uint32_t pid;
	bool ended;
	bool scan_pending;
	bool superseded; /* a newer ring has the same pid: this image exec'd */
	bool said_goodbye;
	uint64_t waits;
	uint64_t start_ns;       /* when the agent made it: orders the images of one pid */
	uint64_t checked_at;     /* when /proc last said whether its process lives */
	scan_region_vec regions; /* sent with the live blocks, until the scan's answer */
	char *live;              /* the scan handshake's live image (channel_format.h), while it lasts */
	uint64_t live_size, live_sent;
	bool in_pool; /* a spare ring of pools.v[pool], slot `slot`: given back at its end */
	uint32_t pool, slot;
};

/* A pool file of spare rings (channel_format.h), mapped until the end. */
struct pool {
	struct kh_pool_header *h;
	size_t map_size;
	bool tracked[KH_POOL_SLOTS_MAX]; /* its slot's ring is being read */
};

struct agent_channel {
	char *dir;
	VEC(struct ring) rings;
	VEC(char *) seen;             /* file names already opened */
	uint64_t scanned_at;          /* when the directory was last listed */
	uint32_t no_regs;             /* processes whose other threads were scanned without registers */
	uint64_t last_end_at;         /* when a ring last ended */
	VEC(struct agent_scan) scans; /* the regions each finished scan read */
	VEC(struct pool) pools;
};

/* Listing the directory, or reading /proc for a process that may have been
 * killed, costs a few syscalls: with a busy ring that kiln empties faster
 * than the agent fills it, kiln would spend more time on those than on
 * reading events. A closed ring needs neither. */
#define RESCAN_NS 10000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool all_ended(const struct agent_channel *ch)
{
	for (size_t i = 0; i < ch->rings.n; i++)
		if (!ch->rings.v[i].ended)
			return false;
	return true;
}

/* When a process started, in clock ticks after boot (/proc/PID/stat's
 * field 22): with the pid, it names one process, even after the pid is
 * reused. Returns 0 or -errno (-ESRCH: no such process). */
static int proc_start_ticks(pid_t pid, unsigned long long *out)
{
	struct proc_stat st;
	int rc = proc_stat_read(pid, 0, &st);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	*out = st.start_ticks;
	return 0;
}

/* Removes the files of a directory (opened by the caller, not followed
 * through a link) and then the directory. */
static void dir_remove(int base_fd, const char *name)
{
	int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	unlinkat(base_fd, name, AT_REMOVEDIR);
}

int agent_channel_sweep(const char *base)
{
	int base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0)
		return -errno;
	DIR *d = fdopendir(base_fd);
	if (!d) {
		int rc = -errno;
		close(base_fd);
		return rc;
	}
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid, len = 0;
		unsigned long long ticks, now;
		if (sscanf(e->d_name, "kiln-heap-%d-%llu-%*6[A-Za-z0-9]%n", &pid, &ticks, &len) != 2 ||
		    (size_t)len != strlen(e->d_name) || pid <= 0)
			continue; /* not a channel, or one of an older kiln that named no owner */
		struct stat sb;
		if (fstatat(base_fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode) ||
		    sb.st_uid != geteuid())
			continue;
		int rc = proc_start_ticks(pid, &now);
		if (rc == 0 && now == ticks)
			continue; /* its kiln still runs */
		if (rc != 0 && rc != -ESRCH)
			continue; /* cannot tell */
		dir_remove(base_fd, e->d_name);
		removed++;
	}
	closedir(d);
	return removed;
}

int agent_channel_new(struct agent_channel **out)
{
	const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
	unsigned long long ticks = 0;
	int rc = proc_start_ticks(getpid(), &ticks);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i] || !*bases[i])
			continue;
		agent_channel_sweep(bases[i]);
		struct strbuf sb = STRBUF_INIT;
		/* the owner in the name, for the sweep of a later kiln */
		strbuf_addf(&sb, "%s/kiln-heap-%d-%llu-XXXXXX", bases[i], (int)getpid(), ticks);
		char *d = strbuf_detach(&sb);
		if (mkdtemp(d)) {
			struct agent_channel *ch = xcalloc(1, sizeof(*ch));
			ch->dir = d;
			*out = ch;
			return 0;
		}
		free(d);
	}
	return -errno;
}

static void ring_unmap(struct ring *r)
{
	if (r->h && !r->in_pool)
		munmap(r->h, r->map_size);
	r->h = NULL;
}

void agent_channel_free(struct agent_channel *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->rings.n; i++) {
		ring_unmap(&ch->rings.v[i]);
		free(ch->rings.v[i].path);
		free(ch->rings.v[i].live);
		scan_regions_release(&ch->rings.v[i].regions);
	}
	vec_free(&ch->rings);
	for (size_t i = 0; i < ch->scans.n; i++)
		scan_regions_release(&ch->scans.v[i].regions);
	vec_free(&ch->scans);
	for (size_t i = 0; i < ch->seen.n; i++)
		free(ch->seen.v[i]);
	vec_free(&ch->seen);
	for (size_t i = 0; i < ch->pools.n; i++)
		munmap(ch->pools.v[i].h, ch->pools.v[i].map_size);
	vec_free(&ch->pools);
	DIR *d = opendir(ch->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			struct strbuf p = STRBUF_INIT;
			strbuf_addf(&p, "%s/%s", ch->dir, e->d_name);
			unlink(strbuf_str(&p));
			strbuf_release(&p);
		}
		closedir(d);
	}
	rmdir(ch->dir);
	free(ch->dir);
	free(ch);
}

const char *agent_channel_dir(const struct agent_channel *ch)
{
	return ch->dir;
}

static bool name_seen(const struct agent_channel *ch, const char *name)
{
	for (size_t i = 0; i < ch->seen.n; i++)
		if (!strcmp(ch->seen.v[i], name))
			return true;
	return false;
}

/* Starts reading a ring: a file's (path, map_size) or a pool's slot. */
static struct ring *ring_add(struct agent_channel *ch, struct kh_ring_header *h, const struct agent_channel_ops *ops)
{
	/* Of two rings of one pid, the older belongs to the image the exec
	 * replaced. One readdir may list them in either order. */
	bool superseded = false;
	for (size_t i = 0; i < ch->rings.n; i++) {
		struct ring *o = &ch->rings.v[i];
		if (o->pid != h->pid)
			continue;
		if (o->start_ns <= h->start_ns)
			o->superseded = true;
		else
			superseded = true;
	}
	struct ring *r = vec_grow(&ch->rings);
	r->superseded = superseded;
	r->start_ns = h->start_ns;
	r->h = h;
	r->data = (const char *)h + KH_HEADER_SIZE;
	r->pid = h->pid;
	if (ops->ring_new)
		ops->ring_new(ops->ctx, (uint32_t)(ch->rings.n - 1), h);
	return &ch->rings.v[ch->rings.n - 1];
}

static bool ring_header_ok(const struct kh_ring_header *h)
{
	return __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == KH_MAGIC && h->version == KH_VERSION &&
	       h->data_size == KH_RING_SIZE;
}

/* Maps a pool of spare rings (fd: its file); its taken slots become rings
 * in pools_check(). */
static void pool_add(struct agent_channel *ch, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size < KH_POOL_HEADER_SIZE)
		return;
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return;
	struct kh_pool_header *h = m;
	if (h->magic != KH_POOL_MAGIC || h->version != KH_POOL_VERSION || !h->slots || h->slots > KH_POOL_SLOTS_MAX ||
	    (uint64_t)sb.st_size < KH_POOL_HEADER_SIZE + (uint64_t)h->slots * KH_RING_FILE_SIZE) {
		munmap(m, (size_t)sb.st_size);
		return;
	}
	struct pool *p = vec_grow(&ch->pools);
	p->h = h;
	p->map_size = (size_t)sb.st_size;
}

/* Taken slots of the pools that are not read yet: new rings. Costs a few
 * memory reads per slot: done at every poll. */
static void pools_check(struct agent_channel *ch, const struct agent_channel_ops *ops)
{
	for (uint32_t i = 0; i < ch->pools.n; i++) {
		struct pool *p = &ch->pools.v[i];
		for (uint32_t s = 0; s < p->h->slots; s++) {
			if (p->tracked[s] || __atomic_load_n(&p->h->state[s], __ATOMIC_ACQUIRE) != KH_SLOT_TAKEN)
				continue;
			struct kh_ring_header *h = kh_pool_slot(p->h, s);
			if (!ring_header_ok(h))
				continue; /* taken, not filled in yet */
			p->tracked[s] = true;
			struct ring *r = ring_add(ch, h, ops);
			r->in_pool = true;
			r->pool = i;
			r->slot = s;
		}
	}
}

/* A spare ring was read to its end: it serves the next child. */
static void pool_give_back(struct agent_channel *ch, const struct ring *r)
{
	struct pool *p = &ch->pools.v[r->pool];
	memset(r->h, 0, KH_HEADER_SIZE);
	p->tracked[r->slot] = false;
	__atomic_store_n(&p->h->state[r->slot], KH_SLOT_FREE, __ATOMIC_RELEASE);
}

static void find_rings(struct agent_channel *ch, const struct agent_channel_ops *ops)
{
	DIR *d = opendir(ch->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), np = strlen(KH_POOL_NAME_SUFFIX);
		bool is_pool = n > np && !strcmp(e->d_name + n - np, KH_POOL_NAME_SUFFIX);
		if ((!is_pool && (n < 6 || strcmp(e->d_name + n - 5, ".ring"))) || name_seen(ch, e->d_name))
			continue;
		vec_push(&ch->seen, xstrdup(e->d_name));
		struct strbuf p = STRBUF_INIT;
		strbuf_addf(&p, "%s/%s", ch->dir, e->d_name);
		int fd = open(strbuf_str(&p), O_RDWR | O_CLOEXEC);
		if (fd >= 0 && is_pool) {
			pool_add(ch, fd);
			close(fd);
			unlink(strbuf_str(&p));
			strbuf_release(&p);
			continue;
		}
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0 || (size_t)sb.st_size < KH_HEADER_SIZE + KH_RING_SIZE) {
			if (fd >= 0)
				close(fd);
			strbuf_release(&p);
			continue;
		}
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		struct kh_ring_header *h = m;
		if (m == MAP_FAILED || !ring_header_ok(h)) {
			if (m != MAP_FAILED)
				munmap(m, (size_t)sb.st_size);
			strbuf_release(&p);
			continue;
		}
		/* Both sides have it mapped now: its name is no longer needed,
		 * and without one its memory goes with the last mapping, even
		 * when kiln is killed. The directory stays for new rings. */
		unlink(strbuf_str(&p));
		struct ring *r = ring_add(ch, h, ops);
		r->path = strbuf_detach(&p);
		r->map_size = (size_t)sb.st_size;
	}
	closedir(d);
}

/* A zombie or a vanished pid writes nothing more. */
static bool pid_dead(uint32_t pid)
{
	struct proc_stat st;
	int rc = proc_stat_read((pid_t)pid, 0, &st);
	if (rc) /* gone, or hidden from us; a text of another shape proves nothing */
		return rc != -EINVAL;
	return st.state == 'Z' || st.state == 'X';
}

/* A mapping of /proc/PID/maps, as far as the peer scan needs it. */
struct stack_map {
	uint64_t lo, hi;
	bool rw, none, anon, stack;
};
typedef VEC(struct stack_map) stack_map_vec;

static void maps_read(uint32_t pid, stack_map_vec *out)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct maps_line ml;
		if (!maps_line_parse(line, strlen(line), &ml))
			continue;
		struct stack_map *m = vec_grow(out);
		m->lo = ml.start;
		m->hi = ml.end;
		m->rw = ml.perms[0] == 'r' && ml.perms[1] == 'w';
		m->none = ml.perms[0] == '-' && ml.perms[1] == '-' && ml.perms[2] == '-';
		m->anon = ml.inode == 0 && !ml.path_at;
		m->stack = ml.path_at && !strncmp(line + ml.path_at, "[stack]", 7);
	}
	fclose(f);
}

static const struct stack_map *map_of(const struct stack_map *m, size_t n, uint64_t a)
{
	for (size_t i = 0; i < n; i++)
		if (a >= m[i].lo && a < m[i].hi)
			return &m[i];
	return NULL;
}

/* True when a live block starts in [lo, hi): a heap, not a stack. */
static bool holds_block(const struct kh_live_block *b, uint64_t n, uint64_t lo, uint64_t hi)
{
	uint64_t l = 0, r = n;
	while (l < r) {
		uint64_t m = (l + r) / 2;
		if (b[m].addr < lo)
			l = m + 1;
		else
			r = m;
	}
	return l < n && b[l].addr < hi;
}

/* The agent asks for the roots its other threads hold (channel_format.h). */
static void peers_answer(struct agent_channel *ch, uint32_t idx, const struct kh_rec_header *rec,
                         const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	/* the answer goes over the ring's data, where the request may be */
	struct kh_rec_peers req = {0};
	memcpy(&req, rec, rec->size < sizeof(req) ? rec->size : sizeof(req));
	const struct kh_rec_peers *q = &req;
	uint32_t cap = q->h.size >= sizeof(*q) ? q->cap : 0, limit = KH_RING_SIZE / sizeof(struct kh_peer);
	if (cap > limit)
		cap = limit;
	struct kh_peer *out = (struct kh_peer *)((char *)r->h + KH_HEADER_SIZE);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/task", r->pid);
	DIR *d = opendir(path);
	if (!d) {
		__atomic_store_n(&r->h->peer_state, KH_SCAN_FAILED, __ATOMIC_RELEASE);
		return;
	}
	stack_map_vec maps = {0};
	maps_read(r->pid, &maps);
	/* KILN_HEAP_PTRACE=0 takes the way used where ptrace is refused */
	const char *env = getenv("KILN_HEAP_PTRACE");
	bool use_ptrace = !env || strcmp(env, "0");
	uint32_t threads = 0, n = 0, flags = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint32_t tid = (uint32_t)strtoul(e->d_name, NULL, 10);
		if (!tid || tid == q->tid)
			continue;
		threads++;
		if (n >= cap)
			continue;
		struct kh_peer *pe = &out[n];
		uint32_t nregs = 0;
		uint64_t sp = 0;
		memset(pe, 0, sizeof(*pe));
		int rc = use_ptrace ? thread_regs_take(tid, pe->regs, KH_PEER_REGS, &nregs, &sp) : -EPERM;
		if (rc == -ESRCH) {
			threads--;
			continue;
		}
		if (rc) {
			flags |= KH_PEERS_NO_REGS;
			continue;
		}
		pe->tid = tid;
		pe->flags = KH_PEER_HAS_REGS;
		const struct stack_map *m = map_of(maps.v, maps.n, sp);
		if (m) {
			/* from below the red zone (128 bytes) to the mapping's end */
			pe->lo = sp - 128 > m->lo ? sp - 128 : m->lo;
			pe->hi = m->hi;
		}
		n++;
	}
	closedir(d);
	if (flags & KH_PEERS_NO_REGS) {
		/* Without their stack pointers, scan whole stacks: the main
		 * stack and every anonymous writable mapping right above a guard
		 * page (how glibc lays out a thread's stack), unless it holds
		 * heap blocks (a malloc arena can look the same). */
		struct kh_live_block *blocks = NULL;
		uint64_t nb = 0;
		if (ops->live_blocks && ops->live_blocks(ops->ctx, idx, &blocks, &nb))
			nb = 0;
		for (size_t i = 0; i < maps.n && n < cap; i++) {
			const struct stack_map *m = &maps.v[i];
			bool thread_stack = i > 0 && m->rw && m->anon && maps.v[i - 1].none && maps.v[i - 1].anon &&
			                    maps.v[i - 1].hi == m->lo;
			if (!(m->rw && m->stack && q->tid != r->pid) && !thread_stack)
				continue;
			if (holds_block(blocks, nb, m->lo, m->hi))
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].lo = m->lo;
			out[n].hi = m->hi;
			n++;
		}
		free(blocks);
		ch->no_regs++;
	}
	vec_free(&maps);
	r->h->peer_threads = threads;
	r->h->peer_n = n;
	r->h->peer_flags = flags;
	__atomic_store_n(&r->h->peer_state, KH_SCAN_READY, __ATOMIC_RELEASE);
}

/* Puts the next piece of the live image at the start of the ring's data
 * area for the agent (channel_format.h). */
static void live_put(struct ring *r)
{
	uint64_t len = r->live_size - r->live_sent;
	if (len > KH_RING_SIZE)
		len = KH_RING_SIZE;
	memcpy((char *)r->h + KH_HEADER_SIZE, r->live + r->live_sent, len);
	r->h->xfer_off = r->live_sent;
	r->h->xfer_len = len;
	r->live_sent += len;
	__atomic_store_n(&r->h->scan_state, KH_SCAN_READY, __ATOMIC_RELEASE);
}

static void live_drop(struct ring *r)
{
	free(r->live);
	r->live = NULL;
	r->live_size = r->live_sent = 0;
	r->scan_pending = false;
}

/* The agent asked for its leak scan: builds the live image of its process
 * and sends the first piece. */
static void scan_answer(struct agent_channel *ch, uint32_t idx, const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	struct kh_live_block *blocks = NULL;
	uint64_t n = 0;
	live_drop(r);
	int rc = ops->live_blocks ? ops->live_blocks(ops->ctx, idx, &blocks, &n) : -ENOTSUP;
	/* the process waits for the answer: its mappings hold still */
	scan_regions_release(&r->regions);
	if (!rc && scan_regions_read(r->pid, &r->regions))
		scan_regions_release(&r->regions); /* gone or hidden: modules and stacks only */
	if (rc) {
		free(blocks);
		__atomic_store_n(&r->h->scan_state, KH_SCAN_FAILED, __ATOMIC_RELEASE);
		return;
	}
	uint64_t at = kh_live_regions_at(n);
	r->live_size = at + r->regions.n * sizeof(struct kh_live_region);
	r->live = xcalloc(1, r->live_size);
	struct kh_live_header lh = {KH_MAGIC, n, r->regions.n, 0};
	memcpy(r->live, &lh, sizeof(lh));
	if (n)
		memcpy(r->live + sizeof(lh), blocks, n * sizeof(*blocks));
	for (size_t i = 0; i < r->regions.n; i++)
		memcpy(r->live + at + i * sizeof(struct kh_live_region), &r->regions.v[i].r,
		       sizeof(struct kh_live_region));
	free(blocks);
	r->h->live_size = r->live_size;
	r->scan_pending = true;
	live_put(r);
}

/* Keeps what the agent says it read of each region, for -v. */
static void regions_keep(struct agent_channel *ch, struct ring *r, const struct kh_live_header *lh, size_t size)
{
	uint64_t at = kh_live_regions_at(lh->count);
	if (lh->regions != r->regions.n || at + lh->regions * sizeof(struct kh_live_region) > size)
		return;
	const struct kh_live_region *got = (const void *)((const char *)lh + at);
	for (size_t i = 0; i < r->regions.n; i++) {
		r->regions.v[i].r.scanned = got[i].scanned;
		r->regions.v[i].r.flags = got[i].flags;
	}
	struct agent_scan *s = vec_grow(&ch->scans);
	s->pid = r->pid;
	s->regions = r->regions;
	memset(&r->regions, 0, sizeof(r->regions));
}

/* Moves the scan handshake on: the next piece of the live image to the
 * agent, or the agent's next piece of the answer into it; the whole
 * answer goes to ops->leak_classes. */
static void scan_collect(struct agent_channel *ch, uint32_t idx, const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	uint32_t st = __atomic_load_n(&r->h->scan_state, __ATOMIC_ACQUIRE);
	if (!r->live || st == KH_SCAN_DONE || st == KH_SCAN_FAILED) {
		live_drop(r);
		return;
	}
	if (st == KH_SCAN_REQUESTED && r->live_sent < r->live_size) {
		live_put(r);
		return;
	}
	if (st != KH_SCAN_PART)
		return;
	uint64_t off = r->h->xfer_off, len = r->h->xfer_len;
	const struct kh_live_header *lh = (const void *)r->live;
	uint64_t from = sizeof(*lh) + lh->count * sizeof(struct kh_live_block);
	if (off < from || len > KH_RING_SIZE || len > r->live_size - off) {
		live_drop(r); /* a broken answer: the agent gives up when it is not taken */
		__atomic_store_n(&r->h->scan_state, KH_SCAN_FAILED, __ATOMIC_RELEASE);
		return;
	}
	memcpy(r->live + off, (const char *)r->h + KH_HEADER_SIZE, len);
	if (off + len == r->live_size) {
		const struct kh_live_block *b = (const void *)(lh + 1);
		if (ops->leak_classes)
			ops->leak_classes(ops->ctx, idx, b, (const uint8_t *)(b + lh->count), lh->count);
		regions_keep(ch, r, lh, (size_t)r->live_size);
		live_drop(r);
	}
	__atomic_store_n(&r->h->scan_state, KH_SCAN_TAKEN, __ATOMIC_RELEASE);
}

static uint64_t ring_drain(struct agent_channel *ch, uint32_t idx, const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	uint64_t head = __atomic_load_n(&r->h->head, __ATOMIC_ACQUIRE), tail = r->h->tail, count = 0;
	while (tail < head) {
		const struct kh_rec_header *rec = (const void *)(r->data + (tail & (KH_RING_SIZE - 1)));
		if (rec->size < sizeof(*rec) || rec->size > head - tail || (rec->size & 7)) {
			/* a broken record: stop reading this ring rather than guess,
			 * and tell its writer not to wait for room */
			__atomic_store_n(&r->h->reader_gone, 1, __ATOMIC_RELEASE);
			r->ended = true;
			break;
		}
		/* an answer may overwrite the record: the data area is free then */
		uint32_t size = rec->size;
		if (rec->type == KH_REC_PEERS) {
			if (ops->record)
				ops->record(ops->ctx, idx, rec);
			peers_answer(ch, idx, rec, ops);
		} else if (rec->type == KH_REC_SCAN_REQUEST) {
			if (ops->record)
				ops->record(ops->ctx, idx, rec);
			scan_answer(ch, idx, ops);
		} else if (rec->type != KH_REC_PAD) {
			if (rec->type == KH_REC_EXIT) {
				if (r->scan_pending)
					scan_collect(ch, idx, ops);
				r->said_goodbye = true;
			}
			if (ops->record)
				ops->record(ops->ctx, idx, rec);
		}
		tail += size;
		count++;
		/* free space as we go so a waiting writer resumes early */
		if ((count & 255) == 0)
			__atomic_store_n(&r->h->tail, tail, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->h->tail, tail, __ATOMIC_RELEASE);
	return count;
}

uint64_t agent_channel_poll(struct agent_channel *ch, const struct agent_channel_ops *ops)
{
	/* List the directory now and then, and always before "done" can be
	 * said: a child may have made its ring just before the last ended. */
	uint64_t now = mono_ns();
	if (!ch->rings.n || now - ch->scanned_at >= RESCAN_NS || (all_ended(ch) && ch->scanned_at <= ch->last_end_at)) {
		find_rings(ch, ops);
		ch->scanned_at = mono_ns();
	}
	pools_check(ch, ops);
	uint64_t count = 0;
	for (uint32_t i = 0; i < ch->rings.n; i++) {
		struct ring *r = &ch->rings.v[i];
		if (r->ended)
			continue;
		uint64_t n = ring_drain(ch, i, ops);
		count += n;
		r = &ch->rings.v[i];
		if (n)
			continue; /* busy: it has not ended; /proc is read only when idle */
		/* decide "finished" before one more drain, so nothing written
		 * before the process ended is missed */
		bool gone = __atomic_load_n(&r->h->closed, __ATOMIC_ACQUIRE) || r->superseded;
		if (!gone && now - r->checked_at >= RESCAN_NS) {
			gone = pid_dead(r->pid);
			r->checked_at = now;
		}
		count += ring_drain(ch, i, ops);
		r = &ch->rings.v[i];
		if (r->scan_pending) {
			scan_collect(ch, i, ops);
			/* The process may have put its last piece and died between
			 * the look at scan_state and the look at /proc: a dead
			 * process writes no more, so look once more, then give up. */
			if (r->scan_pending && pid_dead(r->pid)) {
				scan_collect(ch, i, ops);
				live_drop(r);
			}
		}
		if (gone && !r->scan_pending && r->h->tail == __atomic_load_n(&r->h->head, __ATOMIC_ACQUIRE)) {
			r->ended = true;
			r->waits = r->h->waits;
			if (ops->ring_end)
				ops->ring_end(ops->ctx, i, kh_pending_of(r->h), r->said_goodbye);
			r = &ch->rings.v[i];
			if (r->in_pool)
				pool_give_back(ch, r);
			ring_unmap(r);
			if (r->path)
				unlink(r->path);
			ch->last_end_at = mono_ns();
		}
	}
	return count;
}

bool agent_channel_done(const struct agent_channel *ch)
{
	return all_ended(ch) && ch->scanned_at > ch->last_end_at;
}

size_t agent_channel_pending(const struct agent_channel *ch, size_t *running, uint32_t *pids, size_t max)
{
	size_t pending = 0;
	*running = 0;
	for (size_t i = 0; i < ch->rings.n; i++) {
		const struct ring *r = &ch->rings.v[i];
		if (r->ended)
			continue;
		pending++;
		/* an image that exec'd, or a process gone, ends at the next polls */
		if (r->superseded || pid_dead(r->pid))
			continue;
		if (*running < max)
			pids[*running] = r->pid;
		(*running)++;
	}
	return pending;
}

uint32_t agent_channel_rings(const struct agent_channel *ch)
{
	return (uint32_t)ch->rings.n;
}

uint64_t agent_channel_waits(const struct agent_channel *ch)
{
	uint64_t w = 0;
	for (size_t i = 0; i < ch->rings.n; i++)
		w += ch->rings.v[i].h ? ch->rings.v[i].h->waits : ch->rings.v[i].waits;
	return w;
}

uint32_t agent_channel_no_regs(const struct agent_channel *ch)
{
	return ch->no_regs;
}

void agent_channel_counted(const struct agent_channel *ch, struct agent_counted *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ch->pools.n; i++) {
		const struct kh_pool_header *h = ch->pools.v[i].h;
		uint32_t n = __atomic_load_n(&h->counted, __ATOMIC_ACQUIRE);
		out->processes += n;
		out->allocs += __atomic_load_n(&h->counted_allocs, __ATOMIC_RELAXED);
		out->frees += __atomic_load_n(&h->counted_frees, __ATOMIC_RELAXED);
		out->bytes += __atomic_load_n(&h->counted_bytes, __ATOMIC_RELAXED);
		for (uint32_t k = 0; k < n && k < KH_POOL_PIDS && out->npids < AGENT_COUNTED_PIDS; k++) {
			uint32_t pid = __atomic_load_n(&h->counted_pids[k], __ATOMIC_ACQUIRE);
			if (pid)
				out->pids[out->npids++] = pid;
		}
	}
}

size_t agent_channel_scans(const struct agent_channel *ch, const struct agent_scan **out)
{
	*out = ch->scans.v;
	return ch->scans.n;
}
