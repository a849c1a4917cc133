/* test_agent_decode.c - the agent's ring records into events
 * (capture/agent_decode.h): the profiled program writes them, so records
 * of bad sizes, cut short or out of order are dropped and counted, never
 * read past; a held allocation gets its stack or none; maps text becomes
 * mappings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capture/agent_decode.h"

/* What the decoder handed on, copied (its pointers are the call's). */
struct seen {
	struct agent_event ev[32];
	uint64_t frames[32][8];
	char paths[32][4][32];
	uint32_t ring[32];
	size_t n;
};

static void collect(void *ctx, uint32_t ring, const struct agent_event *ev)
{
	struct seen *s = ctx;
	assert_true(s->n < 32);
	s->ev[s->n] = *ev;
	s->ring[s->n] = ring;
	for (uint32_t i = 0; i < ev->nframes && i < 8; i++)
		s->frames[s->n][i] = ev->frames[i];
	for (size_t i = 0; i < ev->nmaps && i < 4; i++)
		strncpy(s->paths[s->n][i], ev->maps[i].path, sizeof(s->paths[0][0]) - 1);
	s->n++;
}

static void rec(struct agent_decoder *d, const void *r)
{
	const struct kh_rec_header *h = r;
	agent_decode_record(d, 0, r, h->size);
}

static void stack2(struct agent_decoder *d, uint32_t first, uint32_t parent, uint64_t a, uint64_t b)
{
	struct {
		struct kh_rec_stack s;
		uint64_t f[2];
	} r = {{{KH_REC_STACK, sizeof(r)}, first, parent, 2, 0}, {a, b}};
	rec(d, &r);
}

static void test_ring_and_records(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	struct kh_ring_header rh = {0};
	rh.magic = KH_MAGIC;
	rh.pid = 42;
	rh.ppid = 1;
	rh.start_ns = 77;
	agent_decode_ring(&d, 0, &rh, sizeof(rh));
	stack2(&d, 1, 0, 0x100, 0x200);
	struct kh_rec_alloc a = {{KH_REC_ALLOC, sizeof(a)}, 5, 0xa0, 16, 1, 2};
	rec(&d, &a);
	struct kh_rec_realloc ra = {{KH_REC_REALLOC, sizeof(ra)}, 6, 0xa0, 0xb0, 32, 1, 2};
	rec(&d, &ra);
	struct kh_rec_free f = {{KH_REC_FREE, sizeof(f)}, 7, 0xb0, 1, 0};
	rec(&d, &f);
	struct kh_rec_exit x = {{KH_REC_EXIT, sizeof(x)}, 8, 1234, 0, 5};
	rec(&d, &x);
	assert_int_equal(d.bad, 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.ev[0].kind, AGENT_EV_PROCESS);
	assert_int_equal(s.ev[0].pid, 42);
	assert_int_equal(s.ev[0].ppid, 1);
	assert_int_equal(s.ev[0].time, 77);
	assert_int_equal(s.ev[1].kind, AGENT_EV_STACK);
	assert_int_equal(s.ev[1].first, 1);
	assert_int_equal(s.ev[1].nframes, 2);
	assert_int_equal(s.frames[1][1], 0x200);
	assert_int_equal(s.ev[2].kind, AGENT_EV_ALLOC);
	assert_int_equal(s.ev[2].addr, 0xa0);
	assert_int_equal(s.ev[2].size, 16);
	assert_int_equal(s.ev[2].stack, 2);
	assert_int_equal(s.ev[3].kind, AGENT_EV_REALLOC);
	assert_int_equal(s.ev[3].old_addr, 0xa0);
	assert_int_equal(s.ev[3].addr, 0xb0);
	assert_int_equal(s.ev[4].kind, AGENT_EV_FREE);
	assert_int_equal(s.ev[5].kind, AGENT_EV_EXIT);
	assert_int_equal(s.ev[5].max_rss_kb, 1234);
	assert_int_equal(s.ev[5].untracked, 5); /* the calls it could not record */
	agent_decoder_release(&d);
}

/* Records shorter than their type, whose header disagrees with the size
 * the reader found, or shorter than a header: dropped and counted. */
static void test_bad_sizes(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	struct kh_ring_header rh = {0};
	agent_decode_ring(&d, 0, &rh, sizeof(rh) - 1); /* a header cut short */
	assert_int_equal(d.bad, 1);
	uint64_t buf[16] = {0};
	struct kh_rec_header *h = (struct kh_rec_header *)buf;
	static const uint32_t types[] = {KH_REC_ALLOC,    KH_REC_FREE, KH_REC_REALLOC,
	                                 KH_REC_STACK_OF, KH_REC_EXIT, KH_REC_SCAN_REQUEST};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h->type = types[i];
		h->size = sizeof(*h); /* a header, no payload */
		agent_decode_record(&d, 0, buf, h->size);
	}
	assert_int_equal(d.bad, 1 + 6);
	h->type = KH_REC_ALLOC;
	h->size = 40;
	agent_decode_record(&d, 0, buf, 48); /* the header says less than the ring holds */
	agent_decode_record(&d, 0, buf, 4);  /* not even a header */
	assert_int_equal(d.bad, 9);
	assert_int_equal(s.n, 0);
	agent_decoder_release(&d);
}

/* Stack records claiming more frames than they carry, or out of the
 * trie's order, or whose node ids would wrap. */
static void test_bad_stacks(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	struct {
		struct kh_rec_stack s;
		uint64_t f[2];
	} r = {{{KH_REC_STACK, sizeof(r)}, 1, 0, 3, 0}, {1, 2}}; /* 3 frames in room for 2 */
	rec(&d, &r);
	r.s.nframes = 2;
	r.s.first = 2; /* the next node is 1 */
	rec(&d, &r);
	r.s.first = 1;
	r.s.parent = 1; /* not a node yet */
	rec(&d, &r);
	r.s.parent = 0;
	r.s.h.size = sizeof(r.s) - 8; /* cut inside the fixed part */
	agent_decode_record(&d, 0, &r, r.s.h.size);
	assert_int_equal(d.bad, 4);
	assert_int_equal(s.n, 0);
	r.s.h.size = sizeof(r);
	rec(&d, &r);
	assert_int_equal(s.n, 1);
	assert_int_equal(d.rings.v[0].nnodes, 3);
	/* a trie of 2^32 - 1 nodes cannot take two more */
	d.rings.v[0].nnodes = UINT32_MAX - 1;
	r.s.first = UINT32_MAX - 1;
	rec(&d, &r);
	assert_int_equal(d.bad, 5);
	agent_decoder_release(&d);
}

/* An allocation whose stack follows is held: handed on after its stack's
 * nodes with KH_REC_STACK_OF's stack, with none when another record comes
 * first, or with the pending frames (outermost first) at the ring's end. */
static void test_pending(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	struct kh_rec_alloc a = {{KH_REC_ALLOC, sizeof(a)}, 5, 0xa0, 16, 1, KH_STACK_PENDING};
	rec(&d, &a);
	assert_int_equal(s.n, 0);
	stack2(&d, 1, 0, 0x100, 0x200);
	struct kh_rec_stack_of so = {{KH_REC_STACK_OF, sizeof(so)}, 2, 0};
	rec(&d, &so);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ev[0].kind, AGENT_EV_STACK);
	assert_int_equal(s.ev[1].kind, AGENT_EV_ALLOC);
	assert_int_equal(s.ev[1].stack, 2);
	struct kh_rec_realloc ra = {{KH_REC_REALLOC, sizeof(ra)}, 6, 0xa0, 0xb0, 32, 1, KH_STACK_PENDING};
	rec(&d, &ra);
	struct kh_rec_free f = {{KH_REC_FREE, sizeof(f)}, 7, 0xb0, 1, 0};
	rec(&d, &f);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ev[2].kind, AGENT_EV_REALLOC);
	assert_int_equal(s.ev[2].stack, 0);
	assert_int_equal(s.ev[3].kind, AGENT_EV_FREE);
	a.addr = 0xc0;
	rec(&d, &a);
	static struct kh_pending two = {2, 0, {0x3000, 0x9999}}; /* innermost first */
	agent_decode_end(&d, 0, &two);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.ev[4].kind, AGENT_EV_STACK);
	assert_int_equal(s.ev[4].first, 3);
	assert_int_equal(s.ev[4].parent, 0);
	assert_int_equal(s.frames[4][0], 0x9999);
	assert_int_equal(s.frames[4][1], 0x3000);
	assert_int_equal(s.ev[5].stack, 4);
	/* too many pending frames: none are trusted */
	rec(&d, &a);
	static struct kh_pending many = {KH_MAX_STACK + 1, 0, {0}};
	agent_decode_end(&d, 0, &many);
	assert_int_equal(s.n, 7);
	assert_int_equal(s.ev[6].stack, 0);
	assert_int_equal(d.bad, 0);
	agent_decoder_release(&d);
}

static void maps_piece(struct agent_decoder *d, const char *text)
{
	uint64_t buf[16] = {0};
	struct kh_rec_header *r = (struct kh_rec_header *)buf;
	size_t len = strlen(text);
	r->type = KH_REC_MAPS;
	r->size = (uint32_t)((sizeof(*r) + len + 7) & ~(size_t)7);
	memcpy(r + 1, text, len);
	agent_decode_record(d, 0, buf, r->size);
}

/* Maps text in padded pieces becomes the executable file mappings of the
 * copy; lines without a path, not executable or not maps lines are not
 * mappings; a record of all padding adds nothing. */
static void test_maps(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	maps_piece(&d, "00400000-00401000 r-xp 00000000 08:01 11 /bin/one\n"); /* padded */
	maps_piece(&d, "00600000-00601000 rw-p 00000000 08:01 11 /bin/one\n");
	maps_piece(&d, "7f00");
	maps_piece(&d, "00000000-7f0000001000 r-xp 00001000 08:01 12 /lib/two.so\n");
	maps_piece(&d, "7ffd0000-7ffd1000 r-xp 00000000 00:00 0\nnot a line\n");
	maps_piece(&d, "");
	struct kh_rec_header end = {KH_REC_MAPS_END, sizeof(end)};
	rec(&d, &end);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].kind, AGENT_EV_MAPPINGS);
	assert_int_equal(s.ev[0].nmaps, 2);
	assert_string_equal(s.paths[0][0], "/bin/one");
	assert_string_equal(s.paths[0][1], "/lib/two.so");
	/* the next copy starts empty */
	rec(&d, &end);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ev[1].nmaps, 0);
	assert_int_equal(d.bad, 0);
	agent_decoder_release(&d);
}

/* Kinds a newer agent may add, padding and the peers' handshake are
 * skipped, not counted as bad; a pending allocation is not dropped by a
 * stack record between. */
static void test_other_kinds(void **state)
{
	(void)state;
	struct seen s = {0};
	struct agent_decoder d;
	agent_decoder_init(&d, collect, &s);
	struct kh_rec_header h = {999, sizeof(h)};
	rec(&d, &h);
	h.type = KH_REC_PAD;
	rec(&d, &h);
	struct kh_rec_peers pe = {{KH_REC_PEERS, sizeof(pe)}, 1, 4};
	rec(&d, &pe);
	struct kh_rec_header ex = {KH_REC_EXEC, sizeof(ex)}, fr = {KH_REC_FREERES, sizeof(fr)};
	rec(&d, &ex);
	rec(&d, &fr);
	struct kh_rec_exit sr = {{KH_REC_SCAN_REQUEST, sizeof(sr)}, 1, 99, 0, 3};
	rec(&d, &sr);
	assert_int_equal(d.bad, 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ev[0].kind, AGENT_EV_EXEC);
	assert_int_equal(s.ev[1].kind, AGENT_EV_FREERES);
	assert_int_equal(s.ev[2].kind, AGENT_EV_EXITING);
	assert_int_equal(s.ev[2].max_rss_kb, 99);
	assert_int_equal(s.ev[2].untracked, 0); /* only the last record's count counts */
	agent_decoder_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_and_records),
	    cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_bad_stacks),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_maps),
	    cmocka_unit_test(test_other_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
