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
	uint64_t start_ns;   /* when the agent made it: orders the images of one pid */
	uint64_t checked_at; /* when /proc last said whether its process lives */
};

struct agent_channel {
	char *dir;
	VEC(struct ring) rings;
	VEC(char *) seen;     /* file names already opened */
	uint64_t scanned_at;  /* when the directory was last listed */
	uint64_t last_end_at; /* when a ring last ended */
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

int agent_channel_new(struct agent_channel **out)
{
	const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i] || !*bases[i])
			continue;
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s/kiln-heap-XXXXXX", bases[i]);
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
	if (r->h) {
		munmap(r->h, r->map_size);
		r->h = NULL;
	}
}

void agent_channel_free(struct agent_channel *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->rings.n; i++) {
		ring_unmap(&ch->rings.v[i]);
		free(ch->rings.v[i].path);
	}
	vec_free(&ch->rings);
	for (size_t i = 0; i < ch->seen.n; i++)
		free(ch->seen.v[i]);
	vec_free(&ch->seen);
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

static void find_rings(struct agent_channel *ch, const struct agent_channel_ops *ops)
{
	DIR *d = opendir(ch->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".ring") || name_seen(ch, e->d_name))
			continue;
		vec_push(&ch->seen, xstrdup(e->d_name));
		struct strbuf p = STRBUF_INIT;
		strbuf_addf(&p, "%s/%s", ch->dir, e->d_name);
		int fd = open(strbuf_str(&p), O_RDWR | O_CLOEXEC);
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
		if (m == MAP_FAILED || h->magic != KH_MAGIC || h->version != KH_VERSION ||
		    h->data_size != KH_RING_SIZE) {
			if (m != MAP_FAILED)
				munmap(m, (size_t)sb.st_size);
			strbuf_release(&p);
			continue;
		}
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
		r->path = strbuf_detach(&p);
		r->h = h;
		r->data = (const char *)m + KH_HEADER_SIZE;
		r->map_size = (size_t)sb.st_size;
		r->pid = h->pid;
		if (ops->ring_new)
			ops->ring_new(ops->ctx, (uint32_t)(ch->rings.n - 1), h);
	}
	closedir(d);
}

/* A zombie or a vanished pid writes nothing more. */
static bool pid_dead(uint32_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void scan_answer(struct agent_channel *ch, uint32_t idx, const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	struct kh_live_block *blocks = NULL;
	uint64_t n = 0;
	int rc = ops->live_blocks ? ops->live_blocks(ops->ctx, idx, &blocks, &n) : -ENOTSUP;
	struct strbuf p = STRBUF_INIT;
	strbuf_addf(&p, "%s.live", r->path);
	int fd = rc ? -1 : open(strbuf_str(&p), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = false;
	if (fd >= 0) {
		struct kh_live_header lh = {KH_MAGIC, n};
		size_t bytes = (size_t)n * sizeof(*blocks);
		ok = write(fd, &lh, sizeof(lh)) == (ssize_t)sizeof(lh) &&
		     (!bytes || write(fd, blocks, bytes) == (ssize_t)bytes) &&
		     ftruncate(fd, (off_t)(sizeof(lh) + bytes + n)) == 0;
		close(fd);
	}
	free(blocks);
	strbuf_release(&p);
	r->scan_pending = ok;
	__atomic_store_n(&r->h->scan_state, ok ? KH_SCAN_READY : KH_SCAN_FAILED, __ATOMIC_RELEASE);
}

static void scan_collect(struct agent_channel *ch, uint32_t idx, const struct agent_channel_ops *ops)
{
	struct ring *r = &ch->rings.v[idx];
	uint32_t st = __atomic_load_n(&r->h->scan_state, __ATOMIC_ACQUIRE);
	if (st != KH_SCAN_DONE && st != KH_SCAN_FAILED)
		return;
	r->scan_pending = false;
	if (st != KH_SCAN_DONE)
		return;
	struct strbuf p = STRBUF_INIT;
	strbuf_addf(&p, "%s.live", r->path);
	int fd = open(strbuf_str(&p), O_RDONLY | O_CLOEXEC);
	strbuf_release(&p);
	struct stat sb;
	if (fd < 0)
		return;
	if (fstat(fd, &sb) == 0 && (size_t)sb.st_size >= sizeof(struct kh_live_header)) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			const struct kh_live_header *lh = m;
			const struct kh_live_block *b = (const void *)(lh + 1);
			if (sizeof(*lh) + lh->count * (sizeof(*b) + 1) <= (uint64_t)sb.st_size && ops->leak_classes)
				ops->leak_classes(ops->ctx, idx, b, (const uint8_t *)(b + lh->count), lh->count);
			munmap(m, (size_t)sb.st_size);
		}
	}
	close(fd);
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
		if (rec->type == KH_REC_SCAN_REQUEST) {
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
		tail += rec->size;
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
			if (r->scan_pending && pid_dead(r->pid))
				r->scan_pending = false;
		}
		if (gone && !r->scan_pending && r->h->tail == __atomic_load_n(&r->h->head, __ATOMIC_ACQUIRE)) {
			r->ended = true;
			r->waits = r->h->waits;
			if (ops->ring_end)
				ops->ring_end(ops->ctx, i, kh_pending_of(r->h), r->said_goodbye);
			ring_unmap(r);
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
