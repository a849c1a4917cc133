/* test_pprof.c - pprof out (render/pprof.c) and in (capture/pprof_read.c):
 * a profile with inlined frames, threads, mappings and a sampling
 * frequency comes back whole; messages other writers send (unpacked
 * repeated fields, unknown fields, functions with only a system name, ids
 * in any order) read; every lie a file can tell (bad ids, string indexes,
 * value counts, a cut message, a gzip bomb) is an error with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "capture/pprof_read.h"
#include "render/pprof.h"
#include "util/protobuf.h"
#include "util/strbuf.h"

/* main -> outer (with inl inlined into it, the leaf) in /usr/bin/prog */
static struct profile *sample_profile(void)
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	struct profile_mapping m = {.pid = 40, .start = 0x400000, .end = 0x500000, .pgoff = 0x1000};
	m.path = profile_intern(p, "/usr/bin/prog");
	m.build_id = profile_intern(p, "abcd");
	uint32_t map = profile_add_mapping(p, &m);
	uint32_t leaf = profile_location(p, map, 0x401000, PROFILE_LOC_USER);
	uint32_t caller = profile_location(p, map, 0x402000, PROFILE_LOC_USER);
	uint32_t mod = profile_intern(p, "prog");
	struct profile_frame fl[2] = {
	    {.function = profile_intern(p, "inl"),
	     .file = profile_intern(p, "a.rs"),
	     .line = 10,
	     .module = mod,
	     .inlined = true},
	    {.function = profile_intern(p, "outer"), .file = profile_intern(p, "a.rs"), .line = 20, .module = mod},
	};
	profile_set_location_frames(p, leaf, fl, 2);
	struct profile_frame fm = {
	    .function = profile_intern(p, "main"), .file = profile_intern(p, "m.rs"), .line = 5, .module = mod};
	profile_set_location_frames(p, caller, &fm, 1);
	uint32_t locs[2] = {leaf, caller};
	uint32_t stack = profile_stack_from_leaf(p, locs, 2);
	profile_thread(p, 42, 40)->name = profile_intern(p, "worker");
	struct profile_sample s = {.stack = stack, .tid = 42, .pid = 40, .values = {1, 10}};
	profile_add_sample(p, &s);
	s.values[1] = 20;
	profile_add_sample(p, &s);
	s.tid = 43;
	s.values[1] = 5;
	profile_add_sample(p, &s);
	profile_set_meta_u64(p, "frequency", 100);
	profile_set_meta_u64(p, "start_time", 123);
	profile_set_meta_u64(p, "duration_ns", 456);
	profile_set_meta(p, "command", "prog arg");
	return p;
}

static const char *frame_name(const struct profile *p, uint32_t loc, uint32_t k)
{
	const struct profile_location *l = &p->locations.v[loc];
	assert_true(k < l->nframes);
	return profile_str(p, p->frames.v[l->first_frame + k].function);
}

static void check_sample_profile(const struct profile *p)
{
	assert_int_equal(p->value_types.n, 2);
	assert_string_equal(profile_str(p, p->value_types.v[1].type), "cpu");
	assert_string_equal(profile_str(p, p->value_types.v[1].unit), "nanoseconds");
	/* one Sample per (stack, thread): the two of tid 42 summed */
	assert_int_equal(p->samples.n, 2);
	const struct profile_sample *s = &p->samples.v[0];
	assert_int_equal(s->tid, 42);
	assert_int_equal(s->pid, 40);
	assert_int_equal(s->values[0], 2);
	assert_int_equal(s->values[1], 30);
	assert_int_equal(p->samples.v[1].tid, 43);
	assert_int_equal(p->samples.v[1].values[1], 5);
	assert_string_equal(profile_str(p, profile_find_thread(p, 42)->name), "worker");
	/* the stack: leaf location first has inl (inlined) then outer */
	const struct profile_stack_node *n = &p->stacks.v[s->stack];
	assert_int_equal(n->depth, 2);
	const struct profile_location *l = &p->locations.v[n->location];
	assert_int_equal(l->address, 0x401000);
	assert_int_equal(l->nframes, 2);
	assert_string_equal(frame_name(p, n->location, 0), "inl");
	assert_string_equal(frame_name(p, n->location, 1), "outer");
	const struct profile_frame *f = &p->frames.v[l->first_frame];
	assert_true(f[0].inlined);
	assert_false(f[1].inlined);
	assert_int_equal(f[0].line, 10);
	assert_string_equal(profile_str(p, f[1].file), "a.rs");
	assert_string_equal(profile_str(p, f[1].module), "prog");
	assert_string_equal(frame_name(p, p->stacks.v[n->parent].location, 0), "main");
	const struct profile_mapping *m = &p->mappings.v[l->mapping];
	assert_int_equal(m->start, 0x400000);
	assert_int_equal(m->end, 0x500000);
	assert_int_equal(m->pgoff, 0x1000);
	assert_string_equal(profile_str(p, m->path), "/usr/bin/prog");
	assert_string_equal(profile_str(p, m->build_id), "abcd");
	assert_int_equal(profile_get_meta_u64(p, "frequency", 0), 100);
	assert_int_equal(profile_get_meta_u64(p, "start_time", 0), 123);
	assert_int_equal(profile_get_meta_u64(p, "duration_ns", 0), 456);
	assert_string_equal(profile_get_meta(p, "command"), "prog arg");
	assert_string_equal(profile_get_meta(p, "source"), "pprof");
}

static void test_round_trip(void **state)
{
	(void)state;
	struct profile *p = sample_profile(), *back = NULL;
	struct strbuf raw = STRBUF_INIT, gz = STRBUF_INIT;
	pprof_encode(p, &raw);
	/* the string table's first string is "" (field 6, length 0) */
	assert_non_null(memmem(raw.buf, raw.len, "\x32\x00", 2));
	struct pprof_read_info info;
	assert_int_equal(pprof_read_mem(raw.buf, raw.len, 0, &back, &info), 0);
	assert_false(info.gzip);
	check_sample_profile(back);
	profile_free(back);
	assert_int_equal(pprof_write(p, &gz), 0);
	assert_memory_equal(gz.buf, "\x1f\x8b", 2);
	assert_true(pprof_sniff(gz.buf, gz.len));
	assert_true(pprof_sniff(raw.buf, raw.len));
	assert_int_equal(pprof_read_mem(gz.buf, gz.len, 0, &back, &info), 0);
	assert_true(info.gzip);
	assert_int_equal(info.bytes, raw.len);
	check_sample_profile(back);
	profile_free(back);
	strbuf_release(&raw);
	strbuf_release(&gz);
	profile_free(p);
}

/* A message as another writer may send it, built field by field. */
struct msg {
	struct strbuf top, sub, line;
};

static void put_sub(struct msg *m, struct strbuf *into, uint32_t field)
{
	pb_put_bytes(into, field, m->sub.buf, m->sub.len);
	strbuf_reset(&m->sub);
}

static void put_strings(struct msg *m, const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pb_put_bytes(&m->top, 6, s[i], strlen(s[i]));
}

static void msg_release(struct msg *m)
{
	strbuf_release(&m->top);
	strbuf_release(&m->sub);
	strbuf_release(&m->line);
}

enum { S_EMPTY, S_SAMPLES, S_COUNT, S_FN, S_SYS, S_FILE, S_TID, S_KEY, S_BIN };
static const char *const strings[] = {"", "samples", "count", "", "_ZN3fooE", "foo.c", "tid", "color", "/bin/x"};

/* Strings first, the sample before the location it names, location ids
 * unpacked, unknown fields everywhere, a function with only a system
 * name, a label kiln does not know. */
static void build_other_writer(struct msg *m, uint64_t fn_id_in_line, uint64_t nvalues)
{
	put_strings(m, strings, sizeof(strings) / sizeof(strings[0]));
	pb_put_uint(&m->top, 99, 7); /* unknown top-level field */
	pb_put_uint(&m->sub, 1, S_SAMPLES);
	pb_put_uint(&m->sub, 2, S_COUNT);
	put_sub(m, &m->top, 1);
	/* the sample: location 7 (unpacked), then 9 */
	pb_put_uint(&m->sub, 1, 7);
	pb_put_uint(&m->sub, 1, 9);
	for (uint64_t i = 0; i < nvalues; i++)
		pb_put_uint(&m->sub, 2, 3);
	struct strbuf label = STRBUF_INIT;
	pb_put_uint(&label, 1, S_TID);
	pb_put_uint(&label, 3, 77);
	pb_put_bytes(&m->sub, 3, label.buf, label.len);
	strbuf_reset(&label);
	pb_put_uint(&label, 1, S_KEY);
	pb_put_uint(&label, 2, S_BIN);
	pb_put_bytes(&m->sub, 3, label.buf, label.len);
	strbuf_release(&label);
	put_sub(m, &m->top, 2);
	/* locations 7 and 9, the first in mapping 3 */
	for (uint64_t id = 7; id <= 9; id += 2) {
		pb_put_uint(&m->sub, 1, id);
		if (id == 7)
			pb_put_uint(&m->sub, 2, 3);
		pb_put_uint(&m->sub, 3, 0x1000 + id);
		pb_put_uint(&m->sub, 42, 1); /* unknown */
		strbuf_reset(&m->line);
		pb_put_uint(&m->line, 1, fn_id_in_line);
		pb_put_uint(&m->line, 2, 12);
		pb_put_bytes(&m->sub, 4, m->line.buf, m->line.len);
		put_sub(m, &m->top, 4);
	}
	pb_put_uint(&m->sub, 1, 5);
	pb_put_uint(&m->sub, 2, S_FN); /* "" */
	pb_put_uint(&m->sub, 3, S_SYS);
	pb_put_uint(&m->sub, 4, S_FILE);
	put_sub(m, &m->top, 5);
	pb_put_uint(&m->sub, 1, 3);
	pb_put_uint(&m->sub, 2, 0x1000);
	pb_put_uint(&m->sub, 3, 0x2000);
	pb_put_uint(&m->sub, 5, S_BIN);
	put_sub(m, &m->top, 3);
}

static void test_other_writer(void **state)
{
	(void)state;
	struct msg m = {0};
	build_other_writer(&m, 5, 1);
	struct profile *p = NULL;
	struct pprof_read_info info;
	assert_int_equal(pprof_read_mem(m.top.buf, m.top.len, 0, &p, &info), 0);
	assert_int_equal(p->samples.n, 1);
	assert_int_equal(p->samples.v[0].tid, 77);
	assert_int_equal(p->samples.v[0].values[0], 3);
	const struct profile_stack_node *n = &p->stacks.v[p->samples.v[0].stack];
	assert_int_equal(n->depth, 2);
	assert_int_equal(p->locations.v[n->location].address, 0x1007);
	assert_string_equal(frame_name(p, n->location, 0), "_ZN3fooE");
	const struct profile_frame *f = &p->frames.v[p->locations.v[n->location].first_frame];
	assert_string_equal(profile_str(p, f->module), "x");
	assert_int_equal(f->line, 12);
	assert_int_equal(p->locations.v[p->stacks.v[n->parent].location].mapping, PROFILE_NO_MAPPING);
	profile_free(p);
	msg_release(&m);
}

static void expect_error(const struct strbuf *sb, const char *reason)
{
	struct profile *p = (void *)1;
	struct pprof_read_info info;
	assert_int_equal(pprof_read_mem(sb->buf, sb->len, 0, &p, &info), -EBADMSG);
	assert_null(p);
	if (!strstr(info.error, reason))
		fail_msg("error '%s' does not say '%s'", info.error, reason);
}

static void test_errors(void **state)
{
	(void)state;
	struct msg m = {0};
	build_other_writer(&m, 6, 1);
	expect_error(&m.top, "names function 6, which is not in the file");
	msg_release(&m);
	memset(&m, 0, sizeof(m));
	build_other_writer(&m, 5, 2);
	expect_error(&m.top, "sample 1 has 2 values for 1 sample types");
	/* a location id twice, a sample naming a location not there */
	pb_put_uint(&m.sub, 1, 7);
	put_sub(&m, &m.top, 4);
	expect_error(&m.top, "two locations have id 7");
	msg_release(&m);

	struct strbuf sb = STRBUF_INIT;
	pb_put_bytes(&sb, 6, "x", 1);
	expect_error(&sb, "does not start with \"\"");
	strbuf_reset(&sb);
	pb_put_bytes(&sb, 6, "", 0);
	expect_error(&sb, "no sample types");
	strbuf_reset(&sb);
	pb_put_bytes(&sb, 6, "", 0);
	pb_put_bytes(&sb, 1, "\x08\x09", 2); /* type: string 9 */
	expect_error(&sb, "string index 9 is past its string table (1 strings)");
	strbuf_reset(&sb);
	pb_put_bytes(&sb, 6, "", 0);
	for (int i = 0; i < PROFILE_MAX_VALUES + 1; i++)
		pb_put_bytes(&sb, 1, "", 0);
	char many[64];
	snprintf(many, sizeof(many), "more than %d sample types", PROFILE_MAX_VALUES);
	expect_error(&sb, many);
	strbuf_reset(&sb);
	pb_put_bytes(&sb, 6, "", 0);
	pb_put_bytes(&sb, 1, "", 0);
	pb_put_bytes(&sb, 4, "\x08\x01\x10\x04", 4); /* location 1 in mapping 4 */
	expect_error(&sb, "location 1 is in mapping 4, which is not in the file");
	strbuf_reset(&sb);
	pb_put_uint(&sb, 6, 1); /* the string table as a varint */
	expect_error(&sb, "wire type 0, not 2");
	strbuf_reset(&sb);
	expect_error(&sb, "it is empty");
	strbuf_release(&sb);
}

/* Every prefix of a real message reads or fails with a reason. */
static void test_every_cut(void **state)
{
	(void)state;
	struct profile *p = sample_profile();
	struct strbuf raw = STRBUF_INIT, gz = STRBUF_INIT;
	pprof_encode(p, &raw);
	assert_int_equal(pprof_write(p, &gz), 0);
	profile_free(p);
	for (size_t cut = 0; cut < raw.len; cut++) {
		struct pprof_read_info info;
		struct profile *q = NULL;
		int rc = pprof_read_mem(raw.buf, cut, 0, &q, &info);
		if (rc)
			assert_true(info.error[0]);
		profile_free(q);
	}
	for (size_t cut = 0; cut < gz.len; cut++) {
		struct pprof_read_info info;
		struct profile *q = NULL;
		int rc = pprof_read_mem(gz.buf, cut, 0, &q, &info);
		assert_int_not_equal(rc, 0); /* gzip's length and CRC end it */
		assert_true(info.error[0]);
	}
	strbuf_release(&raw);
	strbuf_release(&gz);
}

static void test_gzip_bomb(void **state)
{
	(void)state;
	static unsigned char zeros[1 << 20];
	unsigned char out[1 << 14];
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = sizeof(zeros);
	z.next_out = out;
	z.avail_out = sizeof(out);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = sizeof(out) - z.avail_out;
	deflateEnd(&z);
	struct profile *p = NULL;
	struct pprof_read_info info;
	assert_int_equal(pprof_read_mem(out, n, 65536, &p, &info), -EFBIG);
	assert_non_null(strstr(info.error, "uncompresses to more than 65536 bytes"));
	assert_null(p);
}

static void test_sniff(void **state)
{
	(void)state;
	assert_false(pprof_sniff("KILNPROF", 8));
	assert_false(pprof_sniff("PERFILE2", 8));
	/* perf.data's header: its magic, then sizes with zero bytes */
	assert_false(pprof_sniff("PERFILE2\x68\0\0\0\0\0\0\0\x88\0\0\0\0\0\0\0", 24));
	assert_false(pprof_sniff("\x0a\x04\x08\x01\x10\x02\x1b", 7)); /* then a group: not profile.proto */
	assert_false(pprof_sniff("main;run;leaf 12\n", 17));
	assert_false(pprof_sniff("\n\nmain;leaf 1\n", 14)); /* text, though '\n' is field 1's tag */
	assert_false(pprof_sniff("", 0));
	assert_true(pprof_sniff("\x0a\x04\x08\x01\x10\x02", 6));
	assert_false(pprof_sniff("\x0a\x04\x08\x01\x1a\x02", 6)); /* no ValueType inside */
	assert_false(pprof_sniff("\x0a\xf0\x01\x08\x01", 5));     /* a first field running past */
	/* random heads (as /dev/urandom gives) are not pprof: one in 16 once
	 * passed, and kiln then read the endless device as a profile */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned char head[256];
	for (int i = 0; i < 200000; i++) {
		for (size_t k = 0; k < sizeof(head); k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			head[k] = (unsigned char)(x >> 24);
		}
		if (pprof_sniff(head, sizeof(head)))
			fail_msg("random head %d sniffed as pprof", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip), cmocka_unit_test(test_other_writer), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_every_cut),  cmocka_unit_test(test_gzip_bomb),    cmocka_unit_test(test_sniff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
