/* test_word_ring.c - the single-producer single-consumer ring of words
 * (util/word_ring.c): every word arrives once, in order, through a ring
 * far smaller than the stream (both sides wait, for room and for words),
 * and closing ends the stream at the last word, also an empty one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "util/word_ring.h"

struct stream {
	struct word_ring ring;
	uint32_t words;   /* the producer writes 0 .. words-1 */
	unsigned batch;   /* and publishes every batch words */
	uint64_t got, ok; /* the consumer's count and in-order count */
};

static void *consume(void *arg)
{
	struct stream *s = arg;
	uint32_t w;
	while (word_ring_get(&s->ring, &w)) {
		s->ok += w == (uint32_t)s->got * 2654435761u;
		s->got++;
	}
	return NULL;
}

static void run_stream(size_t slots, uint32_t words, unsigned batch)
{
	struct stream s = {.words = words, .batch = batch};
	assert_int_equal(word_ring_init(&s.ring, slots), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, consume, &s), 0);
	for (uint32_t i = 0; i < words; i++) {
		word_ring_put(&s.ring, i * 2654435761u);
		if (batch && word_ring_pending(&s.ring) >= batch)
			word_ring_publish(&s.ring);
	}
	word_ring_close(&s.ring);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.got, words);
	assert_int_equal(s.ok, words);
	word_ring_release(&s.ring);
}

static void test_word_ring_small(void **state)
{
	(void)state;
	run_stream(2, 100000, 1);     /* the smallest ring: a wait nearly every word */
	run_stream(64, 300000, 7);    /* wraps thousands of times, batches across the wrap */
	run_stream(4096, 1000000, 0); /* published only when full, and at the close */
}

static void test_word_ring_empty(void **state)
{
	(void)state;
	run_stream(16, 0, 1);
	run_stream(16, 1, 0);
}

static void test_word_ring_bad_size(void **state)
{
	(void)state;
	struct word_ring r = {0};
	assert_int_equal(word_ring_init(&r, 3), -EINVAL);
	assert_int_equal(word_ring_init(&r, 1), -EINVAL);
	word_ring_release(&r); /* a ring never made */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_word_ring_small),
	    cmocka_unit_test(test_word_ring_empty),
	    cmocka_unit_test(test_word_ring_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
