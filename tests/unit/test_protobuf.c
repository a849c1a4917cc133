/* test_protobuf.c - the protocol buffers wire format: varints at their
 * edges, fields of every wire type, packed and unpacked repeated fields,
 * nested messages, unknown fields skipped, and every way bytes can lie
 * (cut varints, lengths past the end, groups, field 0). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/protobuf.h"
#include "util/strbuf.h"

static void test_varint_edges(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
	    {0, 1},     {1, 1},          {127, 1},         {128, 2},         {16383, 2},
	    {16384, 3}, {UINT32_MAX, 5}, {1ULL << 63, 10}, {UINT64_MAX, 10},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		pb_put_varint(&sb, cases[i].v);
		assert_int_equal(sb.len, cases[i].len);
		struct pb_reader r;
		uint64_t v = 12345;
		pb_reader_init(&r, sb.buf, sb.len);
		assert_int_equal(pb_read_varint(&r, &v), 0);
		assert_true(v == cases[i].v);
		assert_true(pb_done(&r));
		/* every cut of it is an error, never a value */
		for (size_t cut = 0; cut < sb.len; cut++) {
			pb_reader_init(&r, sb.buf, cut);
			assert_int_equal(pb_read_varint(&r, &v), -EBADMSG);
		}
		strbuf_release(&sb);
	}
	/* 300 as the spec's example: ac 02 */
	struct strbuf sb = STRBUF_INIT;
	pb_put_bytes(&sb, 1, NULL, 0); /* an empty message, no buffer behind it */
	assert_memory_equal(sb.buf, "\x0a\x00", 2);
	strbuf_reset(&sb);
	pb_put_varint(&sb, 300);
	assert_memory_equal(sb.buf, "\xac\x02", 2);
	strbuf_release(&sb);
}

static void test_varint_too_long(void **state)
{
	(void)state;
	uint64_t v;
	struct pb_reader r;
	/* eleven bytes with the continuation bit */
	static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
	pb_reader_init(&r, eleven, sizeof(eleven));
	assert_int_equal(pb_read_varint(&r, &v), -EBADMSG);
	/* ten bytes whose last has more than bit 63 */
	static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	pb_reader_init(&r, big, sizeof(big));
	assert_int_equal(pb_read_varint(&r, &v), -EBADMSG);
	/* a non-minimal encoding of 1 is still 1 */
	static const uint8_t padded[] = {0x81, 0x80, 0x00};
	pb_reader_init(&r, padded, sizeof(padded));
	assert_int_equal(pb_read_varint(&r, &v), 0);
	assert_int_equal(v, 1);
}

static int sum_values(void *ctx, uint64_t v)
{
	uint64_t *s = ctx;
	s[0] += v;
	s[1]++;
	return 0;
}

static void test_fields_and_nesting(void **state)
{
	(void)state;
	struct strbuf inner = STRBUF_INIT, msg = STRBUF_INIT, packed = STRBUF_INIT;
	pb_put_uint(&inner, 1, 7);
	pb_put_bytes(&inner, 2, "name", 4);
	pb_put_uint(&msg, 1, 0); /* zero: not written */
	assert_int_equal(msg.len, 0);
	pb_put_int(&msg, 3, -1); /* ten bytes of two's complement */
	pb_put_bytes(&msg, 4, inner.buf, inner.len);
	/* unknown fields of the fixed wire types, to be skipped */
	pb_put_tag(&msg, 99, PB_I64);
	strbuf_add(&msg, "12345678", 8);
	pb_put_tag(&msg, 100, PB_I32);
	strbuf_add(&msg, "\x01\x02\x03\x04", 4);
	for (uint64_t v = 1; v <= 3; v++)
		pb_put_varint(&packed, v * 1000);
	pb_put_bytes(&msg, 5, packed.buf, packed.len); /* packed 1000, 2000, 3000 */
	pb_put_uint(&msg, 5, 4000);                    /* and one unpacked */

	struct pb_reader r;
	struct pb_field f;
	uint64_t sums[2] = {0};
	int seen = 0;
	pb_reader_init(&r, msg.buf, msg.len);
	while (!pb_done(&r)) {
		assert_int_equal(pb_next(&r, &f), 0);
		switch (f.number) {
		case 3:
			assert_int_equal(f.wire, PB_VARINT);
			assert_true((int64_t)f.value == -1);
			seen |= 1;
			break;
		case 4: {
			struct pb_reader in;
			struct pb_field g;
			pb_reader_init(&in, f.data, f.len);
			assert_int_equal(pb_next(&in, &g), 0);
			assert_int_equal(g.number, 1);
			assert_int_equal(g.value, 7);
			assert_int_equal(pb_next(&in, &g), 0);
			assert_int_equal(g.number, 2);
			assert_int_equal(g.len, 4);
			assert_memory_equal(g.data, "name", 4);
			assert_true(pb_done(&in));
			seen |= 2;
			break;
		}
		case 5:
			assert_int_equal(pb_each_varint(&f, sum_values, sums), 0);
			break;
		case 99:
			assert_int_equal(f.wire, PB_I64);
			assert_true(f.value == 0x3837363534333231ULL);
			seen |= 4;
			break;
		case 100:
			assert_int_equal(f.value, 0x04030201);
			seen |= 8;
			break;
		default:
			fail();
		}
	}
	assert_int_equal(seen, 15);
	assert_int_equal(sums[0], 10000);
	assert_int_equal(sums[1], 4);
	strbuf_release(&inner);
	strbuf_release(&msg);
	strbuf_release(&packed);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct pb_reader r;
	struct pb_field f;
	static const uint8_t field0[] = {0x00, 0x01};        /* field number 0 */
	static const uint8_t group[] = {0x0b, 0x0c};         /* start group, wire type 3 */
	static const uint8_t wire7[] = {0x0f};               /* wire type 7 */
	static const uint8_t long_len[] = {0x0a, 0x05, 'a'}; /* 5 bytes promised, 1 there */
	static const uint8_t huge_len[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'};
	static const uint8_t cut_i64[] = {0x09, 1, 2, 3};                               /* fixed64 with 3 bytes */
	static const uint8_t cut_i32[] = {0x0d, 1};                                     /* fixed32 with 1 byte */
	static const uint8_t cut_tag[] = {0x80};                                        /* a tag varint cut */
	static const uint8_t huge_field[] = {0xf8, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}; /* field > 2^29 */
	const struct {
		const uint8_t *b;
		size_t n;
	} bad[] = {
	    {field0, sizeof(field0)},     {group, sizeof(group)},       {wire7, sizeof(wire7)},
	    {long_len, sizeof(long_len)}, {huge_len, sizeof(huge_len)}, {cut_i64, sizeof(cut_i64)},
	    {cut_i32, sizeof(cut_i32)},   {cut_tag, sizeof(cut_tag)},   {huge_field, sizeof(huge_field)},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_reader_init(&r, bad[i].b, bad[i].n);
		assert_int_equal(pb_next(&r, &f), -EBADMSG);
	}
	/* a packed field cut inside its last varint */
	static const uint8_t cut_packed[] = {0x80};
	struct pb_field pf = {.number = 1, .wire = PB_LEN, .data = cut_packed, .len = 1};
	uint64_t sums[2] = {0};
	assert_int_equal(pb_each_varint(&pf, sum_values, sums), -EBADMSG);
	pf.wire = PB_I64; /* repeated varints cannot come as fixed64 */
	assert_int_equal(pb_each_varint(&pf, sum_values, sums), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_edges),
	    cmocka_unit_test(test_varint_too_long),
	    cmocka_unit_test(test_fields_and_nesting),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
