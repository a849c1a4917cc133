/* test_memcheck_errors.c - the memcheck mode's records (the checked
 * program writes them: untrusted) through capture/memcheck_errors: an
 * error's frames placed in the files its process had mapped (maps text
 * split anywhere, sent after the error), the counts summed, and malformed
 * records dropped, not read past. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/memcheck_errors.h"

#define PID 4242u

struct rec_buf {
	uint64_t words[64]; /* aligned storage for one record */
};

static const struct kh_rec_header *rec_make(struct rec_buf *b, uint32_t type, const void *payload, uint32_t len)
{
	memset(b, 0, sizeof(*b));
	struct kh_rec_header *h = (struct kh_rec_header *)b->words;
	h->type = type;
	h->size = (uint32_t)((sizeof(*h) + len + 7) & ~7u);
	if (len)
		memcpy(h + 1, payload, len);
	return h;
}

static void send_maps(const struct agent_channel_ops *ops, const char *text, size_t cut)
{
	struct rec_buf b;
	size_t len = strlen(text);
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MAPS, text, (uint32_t)cut));
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MAPS, text + cut, (uint32_t)(len - cut)));
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MAPS_END, NULL, 0));
}

static void error_placed(void **state)
{
	(void)state;
	struct memcheck_errors *m = memcheck_errors_new();
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	struct kh_ring_header h = {.pid = PID};
	ops->ring_new(ops->ctx, 0, &h);
	struct {
		struct kh_rec_mem_error e;
		uint64_t frames[3];
	} r;
	memset(&r, 0, sizeof(r));
	r.e.kind = KH_MEM_OVERFLOW;
	r.e.flags = KH_MEM_WRITE | KH_MEM_IN_BLOCK;
	r.e.addr = 0x7000000014;
	r.e.block = 0x7000000000;
	r.e.block_size = 20;
	r.e.n_access = 2;
	r.e.n_alloc = 1;
	r.frames[0] = 0x401234;    /* in the program */
	r.frames[1] = 0x7f0000105; /* in libc, mapped at offset 0x2000 */
	r.frames[2] = 0x12345;     /* nowhere */
	struct rec_buf b;
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MEM_ERROR, (char *)&r + sizeof(r.e.h), sizeof(r) - sizeof(r.e.h)));
	assert_int_equal(memcheck_errors_count(m), 1);
	assert_false(memcheck_errors_get(m, 0)->placed);
	send_maps(ops,
	          "00400000-00402000 r-xp 00000000 08:01 11 /usr/bin/prog\n"
	          "7f0000000-7f0010000 r-xp 00002000 08:01 12 /usr/lib/libc.so.6\n"
	          "7f0010000-7f0020000 rw-p 00000000 00:00 0 \n",
	          37);
	const struct mc_error *e = memcheck_errors_get(m, 0);
	assert_true(e->placed);
	assert_int_equal(e->pid, PID);
	assert_int_equal(e->rec.block_size, 20);
	assert_string_equal(e->frames[0].path, "/usr/bin/prog");
	assert_int_equal(e->frames[0].file_offset, 0x1234);
	assert_string_equal(e->frames[1].path, "/usr/lib/libc.so.6");
	assert_int_equal(e->frames[1].file_offset, 0x2105);
	assert_null(e->frames[2].path);

	struct kh_rec_mem_stats st = {.guarded = 10, .unguarded = 2, .evicted = 3, .foreign_frees = 5};
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MEM_STATS, (char *)&st + sizeof(st.h), sizeof(st) - sizeof(st.h)));
	struct mc_stats s;
	memcheck_errors_stats(m, &s);
	assert_int_equal(s.guarded, 10);
	assert_int_equal(s.unguarded, 2);
	assert_int_equal(s.foreign_frees, 5);
	assert_int_equal(s.processes, 1);
	assert_int_equal(s.counted, 1);
	memcheck_errors_free(m);
}

static void malformed_dropped(void **state)
{
	(void)state;
	struct memcheck_errors *m = memcheck_errors_new();
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	struct kh_ring_header h = {.pid = PID};
	ops->ring_new(ops->ctx, 0, &h);
	struct kh_rec_mem_error e;
	memset(&e, 0, sizeof(e));
	e.kind = KH_MEM_DOUBLE_FREE;
	e.n_access = 5; /* frames the record does not hold */
	struct rec_buf b;
	const struct kh_rec_header *r =
	    rec_make(&b, KH_REC_MEM_ERROR, (char *)&e + sizeof(e.h), sizeof(e) - sizeof(e.h));
	assert_int_equal(memcheck_error_check(r), -EINVAL);
	ops->record(ops->ctx, 0, r);
	/* cut short: not even the fixed part */
	r = rec_make(&b, KH_REC_MEM_ERROR, (char *)&e + sizeof(e.h), 8);
	assert_int_equal(memcheck_error_check(r), -EINVAL);
	ops->record(ops->ctx, 0, r);
	assert_int_equal(memcheck_errors_count(m), 0);
	e.n_access = 0;
	r = rec_make(&b, KH_REC_MEM_ERROR, (char *)&e + sizeof(e.h), sizeof(e) - sizeof(e.h));
	assert_int_equal(memcheck_error_check(r), 0);
	ops->record(ops->ctx, 0, r);
	assert_int_equal(memcheck_errors_count(m), 1);
	/* no maps ever came: the ring's end leaves the frames unplaced */
	ops->ring_end(ops->ctx, 0, NULL, false);
	assert_false(memcheck_errors_get(m, 0)->placed);
	memcheck_errors_free(m);
}

static void live_send(const struct agent_channel_ops *ops, uint64_t addr, uint64_t size, uint64_t frame)
{
	struct {
		struct kh_rec_mem_live l;
		uint64_t frames[1];
	} r;
	memset(&r, 0, sizeof(r));
	r.l.addr = addr;
	r.l.size = size;
	r.l.tid = PID + 1;
	r.l.n_frames = 1;
	r.frames[0] = frame;
	struct rec_buf b;
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MEM_LIVE, (char *)&r + sizeof(r.l.h), sizeof(r) - sizeof(r.l.h)));
}

/* The blocks live at exit go to the leak scan sorted by address, and its
 * classes come back to the right blocks, whose stacks are placed. */
static void leaks_classified(void **state)
{
	(void)state;
	struct memcheck_errors *m = memcheck_errors_new();
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	struct kh_ring_header h = {.pid = PID};
	ops->ring_new(ops->ctx, 0, &h);
	live_send(ops, 0x9000, 30, 0x401000);
	live_send(ops, 0x5000, 10, 0x401010);
	live_send(ops, 0x7000, 20, 0x999999);
	send_maps(ops, "00400000-00402000 r-xp 00000000 08:01 11 /usr/bin/prog\n", 5);
	struct kh_live_block *b = NULL;
	uint64_t n = 0;
	assert_int_equal(ops->live_blocks(ops->ctx, 0, &b, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(b[0].addr, 0x5000);
	assert_int_equal(b[0].size, 10);
	assert_int_equal(b[1].addr, 0x7000);
	assert_int_equal(b[2].addr, 0x9000);
	uint8_t cls[3] = {KH_LEAK_DEFINITE, KH_LEAK_REACHABLE, KH_LEAK_POSSIBLE};
	ops->leak_classes(ops->ctx, 0, b, cls, n);
	free(b);
	const struct mc_leak *l;
	assert_int_equal(memcheck_errors_leaks(m, &l), 3);
	/* in the order read */
	assert_int_equal(l[0].addr, 0x9000);
	assert_int_equal(l[0].cls, KH_LEAK_POSSIBLE);
	assert_int_equal(l[1].cls, KH_LEAK_DEFINITE);
	assert_int_equal(l[2].cls, KH_LEAK_REACHABLE);
	assert_int_equal(l[1].tid, PID + 1);
	assert_int_equal(l[1].pid, PID);
	assert_string_equal(l[1].frames[0].path, "/usr/bin/prog");
	assert_int_equal(l[1].frames[0].file_offset, 0x1010);
	assert_null(l[2].frames[0].path);
	struct mc_stats s;
	memcheck_errors_stats(m, &s);
	assert_int_equal(s.scanned, 1);
	memcheck_errors_free(m);
}

static void live_malformed_dropped(void **state)
{
	(void)state;
	struct memcheck_errors *m = memcheck_errors_new();
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	struct kh_ring_header h = {.pid = PID};
	ops->ring_new(ops->ctx, 0, &h);
	struct kh_rec_mem_live l;
	memset(&l, 0, sizeof(l));
	l.n_frames = 3; /* frames the record does not hold */
	struct rec_buf b;
	const struct kh_rec_header *r =
	    rec_make(&b, KH_REC_MEM_LIVE, (char *)&l + sizeof(l.h), sizeof(l) - sizeof(l.h));
	assert_int_equal(memcheck_live_check(r), -EINVAL);
	ops->record(ops->ctx, 0, r);
	l.n_frames = KH_MEM_FRAMES + 1; /* more than the agent keeps */
	r = rec_make(&b, KH_REC_MEM_LIVE, (char *)&l + sizeof(l.h), sizeof(l) - sizeof(l.h));
	assert_int_equal(memcheck_live_check(r), -EINVAL);
	r = rec_make(&b, KH_REC_MEM_LIVE, (char *)&l + sizeof(l.h), 4);
	assert_int_equal(memcheck_live_check(r), -EINVAL);
	ops->record(ops->ctx, 0, r);
	const struct mc_leak *out;
	assert_int_equal(memcheck_errors_leaks(m, &out), 0);
	l.n_frames = 0;
	r = rec_make(&b, KH_REC_MEM_LIVE, (char *)&l + sizeof(l.h), sizeof(l) - sizeof(l.h));
	assert_int_equal(memcheck_live_check(r), 0);
	ops->record(ops->ctx, 0, r);
	assert_int_equal(memcheck_errors_leaks(m, &out), 1);
	/* a scan answer for blocks it does not hold changes nothing */
	struct kh_live_block other = {0x1234, 8};
	uint8_t c = KH_LEAK_DEFINITE;
	ops->leak_classes(ops->ctx, 0, &other, &c, 1);
	assert_int_equal(out[0].cls, KH_LEAK_UNKNOWN);
	memcheck_errors_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(error_placed),
	    cmocka_unit_test(malformed_dropped),
	    cmocka_unit_test(leaks_classified),
	    cmocka_unit_test(live_malformed_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
