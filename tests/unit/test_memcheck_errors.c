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

	struct kh_rec_mem_stats st = {.guarded = 10, .unguarded = 2, .evicted = 3};
	ops->record(ops->ctx, 0, rec_make(&b, KH_REC_MEM_STATS, (char *)&st + sizeof(st.h), sizeof(st) - sizeof(st.h)));
	struct mc_stats s;
	memcheck_errors_stats(m, &s);
	assert_int_equal(s.guarded, 10);
	assert_int_equal(s.unguarded, 2);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(error_placed),
	    cmocka_unit_test(malformed_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
