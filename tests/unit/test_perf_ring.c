/* test_perf_ring.c - reading perf_event rings, on rings laid out in memory
 * as the kernel lays them: records that wrap the end of the data area, and
 * a set of more rings than any fixed table kiln once had (a host with 300
 * cpus), every one of which must be read and handed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/perf_ring.h"

#define DATA_SIZE 4096u
#define NRINGS    300 /* more than 256 */

struct fake_rec {
	struct perf_event_header h;
	uint64_t ring; /* which ring wrote it */
};

static void fake_ring(struct perf_ring *r, int cpu, uint64_t tail)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->cpu = cpu;
	r->meta = calloc(1, sizeof(*r->meta));
	r->data = calloc(1, DATA_SIZE);
	r->bounce = malloc(65536);
	assert_non_null(r->meta);
	assert_non_null(r->data);
	assert_non_null(r->bounce);
	r->size = DATA_SIZE;
	r->meta->data_tail = tail;
	r->meta->data_head = tail;
}

/* Appends a record as the kernel does: at data_head, wrapping. */
static void fake_write(struct perf_ring *r, uint32_t type, uint64_t ring)
{
	struct fake_rec rec = {{type, 0, sizeof(rec)}, ring};
	uint64_t head = r->meta->data_head;
	for (size_t i = 0; i < sizeof(rec); i++)
		r->data[(head + i) & (DATA_SIZE - 1)] = ((const uint8_t *)&rec)[i];
	r->meta->data_head = head + sizeof(rec);
}

static void fake_free(struct perf_ring *r)
{
	free(r->meta);
	free(r->data);
	free(r->bounce);
}

struct seen {
	unsigned records[NRINGS];
	unsigned bad;
};

static void on_record(void *ctx, const struct perf_event_header *h, int cpu)
{
	struct seen *s = ctx;
	struct fake_rec rec;
	memcpy(&rec, h, sizeof(rec));
	if (h->size != sizeof(rec) || rec.ring != (uint64_t)cpu || cpu < 0 || cpu >= NRINGS)
		s->bad++;
	else
		s->records[cpu]++;
}

/* Every ring read whole, records that wrap included, and handed back. */
static void test_more_rings_than_256(void **state)
{
	(void)state;
	static struct perf_ring rings[NRINGS];
	static struct seen seen;

	/* each ring's tail near the end of its data area, so records wrap */
	for (int i = 0; i < NRINGS; i++) {
		fake_ring(&rings[i], i, DATA_SIZE - 8 * (uint64_t)(i % 5));
		fake_write(&rings[i], PERF_RECORD_COMM, (uint64_t)i);
		fake_write(&rings[i], PERF_RECORD_SAMPLE, (uint64_t)i);
	}
	size_t n = 0;
	for (int i = 0; i < NRINGS; i++) {
		uint64_t head = perf_ring_head(&rings[i]);
		n += perf_ring_walk(&rings[i], head, on_record, &seen);
		perf_ring_consume(&rings[i], head);
	}
	assert_int_equal(n, 2 * NRINGS);
	assert_int_equal(seen.bad, 0);
	for (int i = 0; i < NRINGS; i++) {
		if (seen.records[i] != 2)
			fail_msg("ring %d: %u records read, want 2", i, seen.records[i]);
		/* handed back, so the kernel can write there again */
		assert_int_equal(rings[i].meta->data_tail, rings[i].meta->data_head);
		/* nothing new: nothing read */
		assert_int_equal(perf_ring_walk(&rings[i], perf_ring_head(&rings[i]), on_record, &seen), 0);
	}
	for (int i = 0; i < NRINGS; i++)
		fake_free(&rings[i]);
}

/* Rings are sized for what they must hold, and shrink to fit what a user
 * may lock: 2 rings of 8 MiB do not fit 516 KiB per cpu plus 8 MiB. */
static void test_plan_pages(void **state)
{
	(void)state;
	const size_t page = 4096;
	struct perf_ring_budget unlimited = {true, 0};
	struct perf_ring_budget user = {false, 2 * 516 * 1024 + 8 * 1024 * 1024};
	/* 250 ms of 64 KiB samples at 997 Hz: 15.6 MiB, rounded up to 16 MiB */
	uint64_t want = 65800ull * 997 / 4;
	assert_int_equal(perf_ring_plan_pages(&unlimited, want, 2, page, 256, 16384), 4096);
	assert_int_equal(perf_ring_plan_pages(&unlimited, want, 2, page, 256, 2048), 2048);
	/* (pages + 1) * 2 rings within 9 MiB: 1024 pages each */
	assert_int_equal(perf_ring_plan_pages(&user, want, 2, page, 256, 16384), 1024);
	/* never below the minimum, and small wants stay small */
	assert_int_equal(perf_ring_plan_pages(&user, want, 64, page, 256, 16384), 256);
	assert_int_equal(perf_ring_plan_pages(&unlimited, 1000, 2, page, 256, 16384), 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_more_rings_than_256),
	    cmocka_unit_test(test_plan_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
