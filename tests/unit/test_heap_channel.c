/* test_heap_channel.c - capture/agent_channel.c against ring files written
 * here the way libkiln-agent.so writes them: records in order across the
 * ring's wrap (with the padding record), the space freed for the writer,
 * two images of one pid (exec) told apart by age whatever order readdir
 * lists them in, and the leak-scan handshake. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/agent_channel.h"

struct seen {
	uint32_t rings, ended[8], allocs[8], classes;
	uint64_t last_addr[8];
	bool order_ok;
};

static void on_ring(void *ctx, uint32_t ring, const struct kh_ring_header *h)
{
	(void)ring;
	(void)h;
	((struct seen *)ctx)->rings++;
}

static void on_record(void *ctx, uint32_t ring, const struct kh_rec_header *rec)
{
	struct seen *s = ctx;
	if (rec->type != KH_REC_ALLOC || ring >= 8)
		return;
	const struct kh_rec_alloc *a = (const void *)rec;
	if (a->addr != s->last_addr[ring] + 1)
		s->order_ok = false;
	s->last_addr[ring] = a->addr;
	s->allocs[ring]++;
}

static int on_live(void *ctx, uint32_t ring, struct kh_live_block **out, uint64_t *n)
{
	(void)ctx;
	(void)ring;
	*out = calloc(2, sizeof(**out));
	(*out)[0].addr = 0x1000;
	(*out)[0].size = 16;
	(*out)[1].addr = 0x2000;
	(*out)[1].size = 32;
	*n = 2;
	return 0;
}

static void on_classes(void *ctx, uint32_t ring, const struct kh_live_block *b, const uint8_t *cls, uint64_t n)
{
	(void)ring;
	struct seen *s = ctx;
	if (n == 2 && b[1].addr == 0x2000 && cls[0] == KH_LEAK_DEFINITE && cls[1] == KH_LEAK_REACHABLE)
		s->classes++;
}

static void on_end(void *ctx, uint32_t ring, const struct kh_pending *pending, bool clean)
{
	(void)pending;
	(void)clean;
	struct seen *s = ctx;
	if (ring < 8)
		s->ended[ring]++;
}

/* Makes a ring file as the agent does; returns its mapping. */
static struct kh_ring_header *ring_make(const char *dir, const char *name, uint32_t pid, uint64_t start)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, KH_HEADER_SIZE + KH_RING_SIZE), 0);
	struct kh_ring_header *h = mmap(NULL, KH_HEADER_SIZE + KH_RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(h != MAP_FAILED);
	h->magic = KH_MAGIC;
	h->version = KH_VERSION;
	h->pid = pid;
	h->data_size = KH_RING_SIZE;
	h->start_ns = start;
	return h;
}

/* Appends an ALLOC record, padding to the end of the ring first when it
 * would not fit, as the agent does. */
static void ring_put_alloc(struct kh_ring_header *h, uint64_t addr)
{
	char *data = (char *)h + KH_HEADER_SIZE;
	uint64_t off = h->head & (KH_RING_SIZE - 1);
	if (off + sizeof(struct kh_rec_alloc) > KH_RING_SIZE) {
		struct kh_rec_header *pad = (void *)(data + off);
		pad->type = KH_REC_PAD;
		pad->size = (uint32_t)(KH_RING_SIZE - off);
		h->head += KH_RING_SIZE - off;
		off = 0;
	}
	struct kh_rec_alloc *a = (void *)(data + off);
	memset(a, 0, sizeof(*a));
	a->h.type = KH_REC_ALLOC;
	a->h.size = sizeof(*a);
	a->addr = addr;
	a->size = 8;
	h->head += sizeof(*a);
}

static void test_channel(void **state)
{
	(void)state;
	struct agent_channel *ch;
	assert_int_equal(agent_channel_new(&ch), 0);
	const char *dir = agent_channel_dir(ch);
	struct seen s = {.order_ok = true};
	const struct agent_channel_ops ops = {&s, on_ring, on_record, on_live, on_classes, on_end};

	/* one pid, two images: "a" is newer than "b", whatever readdir says */
	uint32_t me = (uint32_t)getpid();
	struct kh_ring_header *newer = ring_make(dir, "a.ring", me, 200);
	struct kh_ring_header *older = ring_make(dir, "b.ring", me, 100);
	agent_channel_poll(ch, &ops);
	assert_int_equal(s.rings, 2);
	assert_int_equal(agent_channel_rings(ch), 2);
	uint32_t ended = s.ended[0] + s.ended[1];
	assert_int_equal(ended, 1); /* the older image is over, the newer is not */
	assert_false(agent_channel_done(ch));
	uint32_t newer_idx = s.ended[0] ? 1 : 0;

	/* more records than the ring holds, read as they come: the wrap and its padding */
	uint64_t per_ring = KH_RING_SIZE / sizeof(struct kh_rec_alloc);
	uint64_t total = per_ring * 2 + 123, sent = 0;
	while (sent < total) {
		while (sent < total && KH_RING_SIZE - (newer->head - newer->tail) >= 2 * sizeof(struct kh_rec_alloc))
			ring_put_alloc(newer, ++sent);
		agent_channel_poll(ch, &ops);
	}
	assert_int_equal(s.allocs[newer_idx], total);
	assert_true(s.order_ok);
	assert_int_equal(newer->tail, newer->head);

	/* the scan handshake: kiln passes the live image through the ring's
	 * data area, the "agent" answers the same way; no file */
	newer->scan_state = KH_SCAN_REQUESTED;
	char *data = (char *)newer + KH_HEADER_SIZE;
	struct kh_rec_header *req = (void *)(data + (newer->head & (KH_RING_SIZE - 1)));
	req->type = KH_REC_SCAN_REQUEST;
	req->size = sizeof(struct kh_rec_exit);
	memset(req + 1, 0, sizeof(struct kh_rec_exit) - sizeof(*req));
	newer->head += sizeof(struct kh_rec_exit);
	agent_channel_poll(ch, &ops);
	assert_int_equal(newer->scan_state, KH_SCAN_READY);
	assert_int_equal(newer->xfer_off, 0);
	assert_int_equal(newer->xfer_len, newer->live_size); /* one piece */
	const struct kh_live_header *lh = (const void *)data;
	assert_int_equal(lh->count, 2);
	assert_true(kh_live_regions_at(2) + lh->regions * sizeof(struct kh_live_region) == newer->live_size);
	const struct kh_live_block *lb = (const void *)(lh + 1);
	assert_int_equal(lb[1].addr, 0x2000);
	char path[512];
	snprintf(path, sizeof(path), "%s/a.ring.live", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* the answer, from the class bytes on, in two pieces */
	uint64_t from = sizeof(*lh) + 2 * sizeof(struct kh_live_block), size = newer->live_size;
	char *answer = malloc(size);
	memcpy(answer, data, size);
	answer[from] = KH_LEAK_DEFINITE;
	answer[from + 1] = KH_LEAK_REACHABLE;
	memcpy(data, answer + from, 1);
	newer->xfer_off = from;
	newer->xfer_len = 1;
	newer->scan_state = KH_SCAN_PART;
	agent_channel_poll(ch, &ops);
	assert_int_equal(newer->scan_state, KH_SCAN_TAKEN);
	assert_int_equal(s.classes, 0);
	memcpy(data, answer + from + 1, size - from - 1);
	newer->xfer_off = from + 1;
	newer->xfer_len = size - from - 1;
	newer->scan_state = KH_SCAN_PART;
	agent_channel_poll(ch, &ops);
	assert_int_equal(newer->scan_state, KH_SCAN_TAKEN);
	free(answer);
	newer->scan_state = KH_SCAN_DONE;
	newer->closed = 1;
	agent_channel_poll(ch, &ops);
	assert_int_equal(s.classes, 1);
	assert_int_equal(s.ended[newer_idx], 1);
	/* not done before the directory is listed once more: a child's ring
	 * made just before the last one ended must still be read */
	assert_false(agent_channel_done(ch));
	struct kh_ring_header *late = ring_make(dir, "c.ring", me, 300);
	agent_channel_poll(ch, &ops);
	assert_int_equal(agent_channel_rings(ch), 3);
	assert_false(agent_channel_done(ch));
	late->closed = 1;
	agent_channel_poll(ch, &ops);
	agent_channel_poll(ch, &ops);
	assert_true(agent_channel_done(ch));

	munmap(newer, KH_HEADER_SIZE + KH_RING_SIZE);
	munmap(older, KH_HEADER_SIZE + KH_RING_SIZE);
	munmap(late, KH_HEADER_SIZE + KH_RING_SIZE);
	char *d = strdup(dir);
	agent_channel_free(ch);
	assert_int_equal(access(d, F_OK), -1); /* the directory is gone */
	free(d);
}

/* A ring's name goes as soon as kiln has mapped it: a killed kiln leaves
 * no ring memory behind once the target is gone. */
static void test_ring_unlinked_once_mapped(void **state)
{
	(void)state;
	struct agent_channel *ch;
	assert_int_equal(agent_channel_new(&ch), 0);
	const char *dir = agent_channel_dir(ch);
	struct seen s = {.order_ok = true};
	const struct agent_channel_ops ops = {&s, on_ring, on_record, on_live, on_classes, on_end};
	struct kh_ring_header *h = ring_make(dir, "r.ring", (uint32_t)getpid(), 100);
	agent_channel_poll(ch, &ops);
	assert_int_equal(s.rings, 1);
	char path[512];
	snprintf(path, sizeof(path), "%s/r.ring", dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(dir, F_OK), 0); /* kept for the rings of children */
	ring_put_alloc(h, 1);
	agent_channel_poll(ch, &ops);
	assert_int_equal(s.allocs[0], 1); /* still read through the mapping */
	munmap(h, KH_HEADER_SIZE + KH_RING_SIZE);
	agent_channel_free(ch);
}

/* A broken record ends the ring for kiln, and tells its writer so: the
 * agent must not wait for room kiln will never make. */
static void test_broken_ring_tells_writer(void **state)
{
	(void)state;
	struct agent_channel *ch;
	assert_int_equal(agent_channel_new(&ch), 0);
	struct seen s = {.order_ok = true};
	const struct agent_channel_ops ops = {&s, on_ring, on_record, on_live, on_classes, on_end};
	struct kh_ring_header *h = ring_make(agent_channel_dir(ch), "x.ring", (uint32_t)getpid(), 100);
	ring_put_alloc(h, 1);
	struct kh_rec_header *bad = (void *)((char *)h + KH_HEADER_SIZE + h->head);
	bad->type = KH_REC_ALLOC;
	bad->size = 12; /* not a multiple of 8 */
	h->head += 16;
	assert_int_equal(h->reader_gone, 0);
	agent_channel_poll(ch, &ops);
	assert_int_equal(s.allocs[0], 1);
	assert_int_equal(__atomic_load_n(&h->reader_gone, __ATOMIC_ACQUIRE), 1);
	munmap(h, KH_HEADER_SIZE + KH_RING_SIZE);
	agent_channel_free(ch);
}

static void mkdir_with_file(const char *base, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, name);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/x.ring", base, name);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static bool exists_in(const char *base, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, name);
	return access(path, F_OK) == 0;
}

/* The sweep removes the channels of dead kiln processes, and of pids now
 * reused by a process started at another time; never a live kiln's, nor a
 * directory it cannot tell the owner of. */
static void test_sweep_stale(void **state)
{
	(void)state;
	struct agent_channel *ch;
	assert_int_equal(agent_channel_new(&ch), 0);
	/* this process's start time, from the name it gave its channel */
	const char *name = strrchr(agent_channel_dir(ch), '/') + 1;
	int pid;
	unsigned long long ticks;
	assert_int_equal(sscanf(name, "kiln-heap-%d-%llu-", &pid, &ticks), 2);
	assert_int_equal(pid, getpid());

	char base[] = "/tmp/kiln-sweep-test-XXXXXX";
	assert_non_null(mkdtemp(base));
	char live[128], reused[128];
	snprintf(live, sizeof(live), "kiln-heap-%d-%llu-aB3xYz", pid, ticks);
	snprintf(reused, sizeof(reused), "kiln-heap-%d-%llu-aB3xYz", pid, ticks + 1);
	const char *dead = "kiln-heap-2147483600-5-Qw12er";
	const char *old = "kiln-heap-Zx81ab";
	const char *other = "kiln-heapish-1-2-abcdef";
	mkdir_with_file(base, live);
	mkdir_with_file(base, reused);
	mkdir_with_file(base, dead);
	mkdir_with_file(base, old);
	mkdir_with_file(base, other);
	assert_int_equal(agent_channel_sweep(base), 2);
	assert_true(exists_in(base, live));
	assert_false(exists_in(base, reused));
	assert_false(exists_in(base, dead));
	assert_true(exists_in(base, old));
	assert_true(exists_in(base, other));
	/* a live channel in the usual place survives another kiln's sweep */
	char *dir = strdup(agent_channel_dir(ch));
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	assert_true(agent_channel_sweep(dir) >= 0);
	*slash = '/';
	assert_int_equal(access(dir, F_OK), 0);
	free(dir);
	agent_channel_free(ch);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel),
	    cmocka_unit_test(test_ring_unlinked_once_mapped),
	    cmocka_unit_test(test_sweep_stale),
	    cmocka_unit_test(test_broken_ring_tells_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
