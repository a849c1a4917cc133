/* word_ring.c - a single-producer single-consumer stream of words (see
 * word_ring.h). The positions only grow (64 bits: they never wrap); a
 * slot is position & mask. Sleeping is the usual futex handshake: the
 * side going to sleep says so, then looks at the other side's position
 * once more; the side that moves its position then looks at the flag
 * (both sequentially consistent, so one of the two sees the other). */
#include "util/word_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Spins before a side sleeps: about 20 us, less than a futex round trip
 * costs the other side when the wait is short. */
#define WORD_RING_SPINS 256

/* A sleeping side is woken once this many words (or free slots) are ready
 * for it, or a quarter of a smaller ring: each wake is a system call and
 * two context switches, and a side woken for a few words would soon sleep
 * again. */
#define WORD_RING_WAKE 16384

int word_ring_init(struct word_ring *r, size_t slots)
{
	if (slots < 2 || (slots & (slots - 1)))
		return -EINVAL;
	uint32_t *buf = malloc(slots * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	r->buf = buf;
	r->mask = slots - 1;
	r->wake_at = slots / 4 < WORD_RING_WAKE ? slots / 4 : WORD_RING_WAKE;
	atomic_init(&r->tail, 0);
	atomic_init(&r->tail_seq, 0);
	atomic_init(&r->reader_sleeps, 0);
	atomic_init(&r->closed, false);
	atomic_init(&r->head, 0);
	atomic_init(&r->head_seq, 0);
	atomic_init(&r->writer_sleeps, 0);
	r->put = r->head_seen = r->got = r->tail_seen = 0;
	return 0;
}

void word_ring_release(struct word_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void futex_wait(_Atomic uint32_t *word, uint32_t seen)
{
	/* returns at once when *word is no longer seen; EINTR is a wake too */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Moves pos to v (seq_cst: ordered before the load of the other side's
 * flag) and wakes the other side if it sleeps and ready (words to read,
 * or slots to write) is more than r->wake_at, or always with force. */
static void move_and_wake(struct word_ring *r, _Atomic uint64_t *pos, uint64_t v, _Atomic uint32_t *sleeps,
                          _Atomic uint32_t *seq, uint64_t ready, bool force)
{
	atomic_store(pos, v);
	if (atomic_load(sleeps) && (force || ready > r->wake_at)) {
		atomic_fetch_add(seq, 1);
		futex_wake(seq);
	}
}

static void publish(struct word_ring *r, bool force)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	move_and_wake(r, &r->tail, r->put, &r->reader_sleeps, &r->tail_seq, r->put - head, force);
}

void word_ring_publish(struct word_ring *r)
{
	if (r->put != atomic_load_explicit(&r->tail, memory_order_relaxed))
		publish(r, false);
}

void word_ring_close(struct word_ring *r)
{
	atomic_store(&r->tail, r->put);
	atomic_store(&r->closed, true);
	atomic_fetch_add(&r->tail_seq, 1);
	futex_wake(&r->tail_seq);
}

static void give(struct word_ring *r, bool force)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	move_and_wake(r, &r->head, r->got, &r->writer_sleeps, &r->head_seq, r->mask + 1 - (tail - r->got), force);
}

void word_ring_give(struct word_ring *r)
{
	give(r, false);
}

void word_ring_wait_room(struct word_ring *r)
{
	publish(r, true); /* the consumer may be waiting for these */
	for (unsigned spin = 0;; spin++) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (r->put - r->head_seen <= r->mask)
			return;
		if (spin < WORD_RING_SPINS) {
			cpu_relax();
			continue;
		}
		uint32_t seq = atomic_load(&r->head_seq);
		atomic_store(&r->writer_sleeps, 1);
		r->head_seen = atomic_load(&r->head);
		if (r->put - r->head_seen > r->mask)
			futex_wait(&r->head_seq, seq);
		atomic_store(&r->writer_sleeps, 0);
	}
}

bool word_ring_wait_words(struct word_ring *r)
{
	give(r, true); /* the producer may be waiting for these */
	for (unsigned spin = 0;; spin++) {
		/* closed first: a tail loaded after it is the last one */
		bool closed = atomic_load_explicit(&r->closed, memory_order_acquire);
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->tail_seen != r->got)
			return true;
		if (closed)
			return false;
		if (spin < WORD_RING_SPINS) {
			cpu_relax();
			continue;
		}
		uint32_t seq = atomic_load(&r->tail_seq);
		atomic_store(&r->reader_sleeps, 1);
		if (atomic_load(&r->tail) == r->got && !atomic_load(&r->closed))
			futex_wait(&r->tail_seq, seq);
		atomic_store(&r->reader_sleeps, 0);
	}
}
