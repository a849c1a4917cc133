/* test_kiln_file.c - the .kiln container: round trips with interleaved
 * flushes, cut files, bit flips, foreign and newer files, hostile chunks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile/crc32c.h"
#include "profile/kiln_file.h"
#include "profile/kiln_format.h"
#include "profile/profile.h"
#include "util/vec.h"

static void tmp_path(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("KILN_TEST_TMP");
	snprintf(buf, n, "%s/test_kiln_file.%d.%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return d;
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ---- building a profile with every table populated, in steps ---- */

static uint32_t add_sample(struct profile *p, const uint32_t *leaf_first, uint32_t n, uint32_t tid, uint64_t t,
                           int64_t v0, int64_t v1)
{
	struct profile_sample s = {0};
	s.stack = profile_stack_from_leaf(p, leaf_first, n);
	s.tid = tid;
	s.pid = 100;
	s.cpu = tid % 2;
	s.time = t;
	s.values[0] = v0;
	s.values[1] = v1;
	profile_add_sample(p, &s);
	return s.stack;
}

static void step1(struct profile *p)
{
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	struct profile_mapping m = {
	    100, 0x400000, 0x500000, 0x1000, profile_intern(p, "/usr/bin/demo"), profile_intern(p, "abcdef0123"), 0};
	profile_add_mapping(p, &m);
	struct profile_thread *t = profile_thread(p, 100, 100);
	t->name = profile_intern(p, "demo");
	t->start = 5;
	profile_set_meta(p, "command", "demo --fast");
	uint32_t a = profile_location(p, 0, 0x401000, PROFILE_LOC_USER);
	uint32_t b = profile_location(p, 0, 0x402000, PROFILE_LOC_USER);
	uint32_t locs[] = {b, a};
	add_sample(p, locs, 2, 100, 1000, 1, 250000);
	add_sample(p, locs, 1, 100, 900, 1, -7); /* time going backwards, negative value */
}

static void step2(struct profile *p)
{
	/* a renamed thread, a new thread, a changed and a new meta key */
	profile_thread(p, 100, 100)->name = profile_intern(p, "demo-main");
	profile_thread(p, 101, 100)->name = profile_intern(p, "worker");
	profile_set_meta(p, "command", "demo --slow");
	profile_set_meta_u64(p, "start_ns", 123456789);
	struct profile_mapping m = {100, 0x7f0000, 0x7f8000, 0, profile_intern(p, "/lib/libc.so.6"), 0, 77};
	uint32_t lm = profile_add_mapping(p, &m);
	uint32_t k = profile_location(p, PROFILE_NO_MAPPING, 0xffffffff81000000ull, PROFILE_LOC_KERNEL);
	uint32_t c = profile_location(p, lm, 0x7f1234, PROFILE_LOC_USER);
	uint32_t a = profile_location(p, 0, 0x401000, PROFILE_LOC_USER);
	uint32_t locs[] = {k, c, a};
	for (int i = 0; i < 50; i++)
		add_sample(p, locs, 3 - (uint32_t)(i % 3), 100 + (uint32_t)(i % 2), 2000 + (uint64_t)i * 997, 1,
		           INT64_MAX - i);
}

static void step3(struct profile *p)
{
	/* symbols: one plain frame, one location with an inlined frame */
	struct profile_frame f1[] = {
	    {profile_intern(p, "inner_inlined"), profile_intern(p, "src/a.rs"), 10, profile_intern(p, "demo"), true, 0},
	    {profile_intern(p, "outer"), profile_intern(p, "src/a.rs"), 20, profile_intern(p, "demo"), false,
	     profile_intern(p, "__GI_outer")},
	};
	profile_set_location_frames(p, 0, f1, 2);
	/* format version 2: the ELF virtual address, and no vaddr for a location */
	p->locations.v[0].vaddr = 0xffffffff81000000ull;
	p->locations.v[0].has_vaddr = true;
	p->locations.v[1].vaddr = 0x1234;
	p->locations.v[1].has_vaddr = true;
	struct profile_frame f2 = {
	    profile_intern(p, "main"), profile_intern(p, "src/main.rs"), 3, profile_intern(p, "demo"), false, 0};
	profile_set_location_frames(p, 1, &f2, 1);
	profile_thread(p, 101, 100)->end = 99999;
	p->mappings.v[1].build_id = profile_intern(p, "feedface");
	profile_set_meta(p, "event", "cpu-clock");
}

/* Writes the profile in steps with flushes between; returns the full profile. */
static struct profile *write_file(const char *path, bool finish)
{
	struct kiln_writer *w;
	struct profile *p = profile_new();
	assert_int_equal(kiln_writer_open(&w, path), 0);
	step1(p);
	assert_int_equal(kiln_writer_flush(w, p), 0);
	off_t before = file_size(path);
	assert_int_equal(kiln_writer_flush(w, p), 0); /* nothing new: nothing written */
	assert_int_equal(file_size(path), before);
	step2(p);
	assert_int_equal(kiln_writer_flush(w, p), 0);
	step3(p);
	if (finish)
		assert_int_equal(kiln_writer_finish(w, p), 0);
	else
		assert_int_equal(kiln_writer_flush(w, p), 0);
	kiln_writer_free(w);
	return p;
}

/* ---- comparing ---- */

static void assert_str(const struct profile *a, uint32_t ia, const struct profile *b, uint32_t ib)
{
	assert_string_equal(profile_str(a, ia), profile_str(b, ib));
}

/* Asserts that r holds a prefix of full: every record it has equals the
 * original. Tables that change in place (threads, meta, mappings) are
 * checked for existence. With exact, r must hold everything. */
static void assert_prefix(const struct profile *full, const struct profile *r, bool exact)
{
	assert_true(strtab_count(&r->strings) <= strtab_count(&full->strings));
	for (uint32_t i = 0; i < strtab_count(&r->strings); i++)
		assert_str(full, i, r, i);
	assert_true(r->value_types.n <= full->value_types.n);
	for (size_t i = 0; i < r->value_types.n; i++) {
		assert_str(full, full->value_types.v[i].type, r, r->value_types.v[i].type);
		assert_str(full, full->value_types.v[i].unit, r, r->value_types.v[i].unit);
	}
	assert_true(r->mappings.n <= full->mappings.n);
	for (size_t i = 0; i < r->mappings.n; i++) {
		const struct profile_mapping *m = &full->mappings.v[i], *n = &r->mappings.v[i];
		assert_int_equal(m->start, n->start);
		assert_int_equal(m->end, n->end);
		assert_int_equal(m->pgoff, n->pgoff);
		assert_int_equal(m->pid, n->pid);
		assert_int_equal(m->time, n->time);
		assert_str(full, m->path, r, n->path);
		if (exact)
			assert_str(full, m->build_id, r, n->build_id);
	}
	assert_true(r->locations.n <= full->locations.n);
	for (size_t i = 0; i < r->locations.n; i++) {
		const struct profile_location *l = &full->locations.v[i], *k = &r->locations.v[i];
		assert_int_equal(l->address, k->address);
		assert_int_equal(l->mapping, k->mapping);
		assert_int_equal(l->kind, k->kind);
		if (!exact)
			continue;
		assert_int_equal(l->has_vaddr, k->has_vaddr);
		assert_int_equal(l->vaddr, k->vaddr);
		assert_int_equal(l->nframes, k->nframes);
		for (uint32_t j = 0; j < l->nframes; j++) {
			const struct profile_frame *f = &full->frames.v[l->first_frame + j];
			const struct profile_frame *g = &r->frames.v[k->first_frame + j];
			assert_str(full, f->function, r, g->function);
			assert_str(full, f->file, r, g->file);
			assert_str(full, f->module, r, g->module);
			assert_int_equal(f->line, g->line);
			assert_int_equal(f->inlined, g->inlined);
			assert_str(full, f->alias, r, g->alias);
		}
	}
	assert_true(r->stacks.n <= full->stacks.n);
	for (size_t i = 0; i < r->stacks.n; i++) {
		assert_int_equal(full->stacks.v[i].parent, r->stacks.v[i].parent);
		assert_int_equal(full->stacks.v[i].location, r->stacks.v[i].location);
		assert_int_equal(full->stacks.v[i].depth, r->stacks.v[i].depth);
	}
	assert_true(r->samples.n <= full->samples.n);
	for (size_t i = 0; i < r->samples.n; i++) {
		const struct profile_sample *s = &full->samples.v[i], *t = &r->samples.v[i];
		assert_int_equal(s->stack, t->stack);
		assert_int_equal(s->tid, t->tid);
		assert_int_equal(s->pid, t->pid);
		assert_int_equal(s->cpu, t->cpu);
		assert_int_equal(s->time, t->time);
		for (size_t v = 0; v < r->value_types.n; v++)
			assert_int_equal(s->values[v], t->values[v]);
	}
	for (size_t i = 0; i < r->threads.n; i++) {
		const struct profile_thread *t = profile_find_thread(full, r->threads.v[i].tid);
		assert_non_null(t);
		if (exact) {
			assert_int_equal(t->pid, r->threads.v[i].pid);
			assert_int_equal(t->start, r->threads.v[i].start);
			assert_int_equal(t->end, r->threads.v[i].end);
			assert_str(full, t->name, r, r->threads.v[i].name);
		}
	}
	for (size_t i = 0; i < r->meta.n; i++) {
		const char *k = profile_str(r, r->meta.v[i].key);
		assert_non_null(profile_get_meta(full, k));
		if (exact)
			assert_string_equal(profile_get_meta(full, k), profile_str(r, r->meta.v[i].value));
	}
	if (exact) {
		assert_int_equal(strtab_count(&r->strings), strtab_count(&full->strings));
		assert_int_equal(r->value_types.n, full->value_types.n);
		assert_int_equal(r->mappings.n, full->mappings.n);
		assert_int_equal(r->locations.n, full->locations.n);
		assert_int_equal(r->stacks.n, full->stacks.n);
		assert_int_equal(r->samples.n, full->samples.n);
		assert_int_equal(r->threads.n, full->threads.n);
		assert_int_equal(r->meta.n, full->meta.n);
	}
}

/* ---- tests ---- */

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(crc32c("", 0), 0);
	/* incremental equals one-shot, across the 8-byte stride */
	const char *s = "the quick brown fox jumps over the lazy dog";
	uint32_t c = crc32c_update(crc32c(s, 13), s + 13, strlen(s) - 13);
	assert_int_equal(c, crc32c(s, strlen(s)));
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "round.kiln");
	struct profile *full = write_file(path, true);
	struct profile *r;
	struct kiln_read_info info;
	assert_int_equal(kiln_read(path, &r, &info), 0);
	assert_true(info.complete);
	assert_false(info.truncated);
	assert_int_equal(info.version, KILN_FORMAT_VERSION);
	assert_true(info.chunks >= 4);
	assert_prefix(full, r, true);
	assert_string_equal(profile_get_meta(r, "command"), "demo --slow");
	assert_int_equal(profile_get_meta_u64(r, "start_ns", 0), 123456789);
	assert_string_equal(profile_str(r, profile_find_thread(r, 100)->name), "demo-main");
	/* the reader leaves working indexes behind */
	uint32_t n = (uint32_t)r->locations.n;
	assert_int_equal(profile_location(r, 0, 0x402000, PROFILE_LOC_USER), 1);
	assert_int_equal(r->locations.n, n);
	uint32_t locs[] = {1, 0};
	assert_int_equal(profile_stack_from_leaf(r, locs, 2), full->samples.v[0].stack);
	/* ...and the trie it read grows without duplicating a node */
	size_t nstacks = r->stacks.n;
	for (size_t i = 1; i < nstacks; i++)
		assert_int_equal(profile_stack_child(r, r->stacks.v[i].parent, r->stacks.v[i].location), i);
	assert_int_equal(r->stacks.n, nstacks);
	uint32_t leaf = profile_stack_child(r, full->samples.v[0].stack, 1);
	assert_int_equal(leaf, nstacks);
	assert_int_equal(r->stacks.v[leaf].depth, r->stacks.v[full->samples.v[0].stack].depth + 1);
	profile_free(r);
	profile_free(full);
	unlink(path);
}

/* A file with more than four value types says min_reader_version 2 (a
 * format 1 reader refuses it as newer, not as corrupt), one with more than
 * six says 3; one with four keeps 1, so older kilns read it; all read back
 * whole. */
static void test_min_reader_by_value_types(void **state)
{
	(void)state;
	static const int counts[] = {4, 5, 6, 7, PROFILE_MAX_VALUES};
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		int nv = counts[c];
		char path[512];
		tmp_path(path, sizeof(path), "minreader.kiln");
		struct profile *p = profile_new();
		for (int i = 0; i < nv; i++)
			profile_add_value_type(p, i ? "v" : "first", "count");
		struct profile_sample smp = {0};
		for (int i = 0; i < nv; i++)
			smp.values[i] = 10 + i;
		profile_add_sample(p, &smp);
		struct kiln_writer *w = NULL;
		assert_int_equal(kiln_writer_open(&w, path), 0);
		assert_int_equal(kiln_writer_flush(w, p), 0);
		assert_int_equal(kiln_writer_finish(w, p), 0);
		kiln_writer_free(w);
		size_t size;
		uint8_t *d = slurp(path, &size);
		assert_true(size > KILN_HEADER_SIZE);
		assert_int_equal(d[8], KILN_FORMAT_VERSION);
		assert_int_equal(d[10], nv > KILN_V2_MAX_VALUES ? 3 : nv > KILN_V1_MAX_VALUES ? 2 : 1);
		struct profile *r = NULL;
		struct kiln_read_info info = {0};
		assert_int_equal(kiln_read_mem(d, size, &r, &info), 0);
		assert_int_equal(r->value_types.n, nv);
		assert_int_equal(r->samples.v[0].values[nv - 1], 10 + nv - 1);
		profile_free(r);
		free(d);
		unlink(path);
		profile_free(p);
	}
}

static void test_series(void **state)
{
	/* series grow across flushes; an empty series is kept; a cut file keeps
	 * the points flushed before the cut */
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "series.kiln");
	struct profile *p = profile_new();
	struct kiln_writer *w;
	assert_int_equal(kiln_writer_open(&w, path), 0);
	uint32_t heap = profile_add_series(p, "heap", "bytes");
	uint32_t rss = profile_add_series(p, "rss", "bytes");
	assert_int_equal(kiln_writer_flush(w, p), 0);
	for (int i = 0; i < 1000; i++) {
		profile_series_add(p, heap, 1000000 + (uint64_t)i * 777, (i % 7 == 0 ? -5 : 3) * (int64_t)i);
		if (i % 250 == 249)
			assert_int_equal(kiln_writer_flush(w, p), 0);
	}
	profile_add_series(p, "empty", "count");
	assert_int_equal(kiln_writer_flush(w, p), 0);
	profile_series_add(p, rss, 5, INT64_MAX);
	profile_series_add(p, rss, 5, INT64_MIN);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	kiln_writer_free(w);

	struct profile *r;
	assert_int_equal(kiln_read(path, &r, NULL), 0);
	assert_int_equal(r->series.n, 3);
	const struct profile_series *h = profile_find_series(r, "heap");
	assert_non_null(h);
	assert_string_equal(profile_str(r, h->unit), "bytes");
	assert_int_equal(h->points.n, 1000);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(h->points.v[i].time, 1000000 + (uint64_t)i * 777);
		assert_int_equal(h->points.v[i].value, (i % 7 == 0 ? -5 : 3) * (int64_t)i);
	}
	const struct profile_series *x = profile_find_series(r, "rss");
	assert_int_equal(x->points.n, 2);
	assert_true(x->points.v[0].value == INT64_MAX && x->points.v[1].value == INT64_MIN);
	assert_int_equal(profile_find_series(r, "empty")->points.n, 0);
	assert_null(profile_find_series(r, "nope"));
	profile_free(r);

	/* cut at every offset: the points read are always a prefix of the truth */
	size_t size;
	uint8_t *data = slurp(path, &size);
	for (size_t cut = 0; cut < size; cut += 7) {
		struct profile *q = NULL;
		if (kiln_read_mem(data, cut, &q, NULL) == 0) {
			const struct profile_series *hq = profile_find_series(q, "heap");
			size_t n = hq ? hq->points.n : 0;
			for (size_t i = 0; i < n; i++)
				assert_int_equal(hq->points.v[i].time, p->series.v[heap].points.v[i].time);
		}
		profile_free(q);
	}
	free(data);
	profile_free(p);
	unlink(path);
}

static void test_unfinished(void **state)
{
	/* a recorder killed after its last flush: everything flushed is there */
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "unfinished.kiln");
	struct profile *full = write_file(path, false);
	struct profile *r;
	struct kiln_read_info info;
	assert_int_equal(kiln_read(path, &r, &info), 0);
	assert_false(info.complete);
	assert_false(info.truncated);
	assert_prefix(full, r, false);
	assert_int_equal(r->samples.n, full->samples.n);
	assert_int_equal(r->locations.n, full->locations.n);
	assert_int_equal(r->locations.v[0].nframes, 0); /* symbols come at the finish */
	assert_string_equal(profile_str(r, profile_find_thread(r, 100)->name), "demo-main");
	profile_free(r);
	profile_free(full);
	unlink(path);
}

static void test_truncation_every_offset(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "cut.kiln");
	struct profile *full = write_file(path, true);
	size_t size;
	uint8_t *d = slurp(path, &size);
	size_t prev_samples = 0;
	uint64_t prev_chunks = 0;
	/* where whole chunks end: a cut anywhere else is flagged as truncated */
	bool *boundary = calloc(size + 1, sizeof(*boundary));
	uint64_t nchunks = 0;
	for (size_t pos = KILN_HEADER_SIZE; pos <= size;) {
		boundary[pos] = true;
		if (pos == size)
			break;
		const uint8_t *h = d + pos + 16;
		pos += KILN_CHUNK_HEADER_SIZE + ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16);
		nchunks++;
	}
	assert_true(nchunks >= 4);
	for (size_t cut = 0; cut <= size; cut++) {
		/* a private copy so ASan sees reads past the cut */
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, d, cut);
		struct profile *r;
		struct kiln_read_info info;
		int rc = kiln_read_mem(c, cut, &r, &info);
		if (cut < KILN_HEADER_SIZE) {
			assert_int_equal(rc, -EBADMSG);
			assert_null(r);
		} else {
			assert_int_equal(rc, 0);
			assert_prefix(full, r, cut == size);
			assert_int_equal(info.complete, cut == size);
			assert_int_equal(info.truncated, !boundary[cut]);
			/* more file never means less data */
			assert_true(r->samples.n >= prev_samples);
			assert_true(info.chunks >= prev_chunks);
			prev_samples = r->samples.n;
			prev_chunks = info.chunks;
			profile_free(r);
		}
		free(c);
	}
	assert_int_equal(prev_samples, full->samples.n);
	assert_int_equal(prev_chunks, nchunks);
	free(boundary);
	free(d);
	profile_free(full);
	unlink(path);
}

static void test_bit_flips(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "flip.kiln");
	struct profile *full = write_file(path, true);
	size_t size;
	uint8_t *d = slurp(path, &size);
	for (size_t i = 0; i < size * 8; i++) {
		d[i / 8] ^= (uint8_t)(1u << (i % 8));
		struct profile *r;
		struct kiln_read_info info;
		int rc = kiln_read_mem(d, size, &r, &info);
		if (i / 8 < KILN_MAGIC_SIZE) {
			assert_int_equal(rc, -EPROTO);
		} else if (rc) {
			assert_int_equal(rc, -EBADMSG);
			assert_null(r);
		} else {
			/* damage after good chunks: a prefix, flagged */
			assert_true(info.truncated);
			assert_false(info.complete);
			assert_true(info.bad_offset >= KILN_HEADER_SIZE && info.bad_offset <= i / 8);
			assert_prefix(full, r, false);
			profile_free(r);
		}
		d[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(d);
	profile_free(full);
	unlink(path);
}

static void test_foreign_and_empty(void **state)
{
	(void)state;
	struct profile *r = (struct profile *)1;
	static const char elf[] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
	assert_int_equal(kiln_read_mem(elf, sizeof(elf), &r, NULL), -EPROTO);
	assert_null(r);
	assert_string_equal(kiln_read_strerror(-EPROTO), "not a kiln profile");
	assert_int_equal(kiln_read_mem("KILN", 4, &r, NULL), -EBADMSG); /* cut inside the magic */
	assert_int_equal(kiln_read_mem("KILX", 4, &r, NULL), -EPROTO);

	char path[512];
	tmp_path(path, sizeof(path), "empty.kiln");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
	int rc = kiln_read(path, &r, NULL);
	assert_int_equal(rc, -EBADMSG);
	assert_string_equal(kiln_read_strerror(rc), "empty file");
	unlink(path);

	tmp_path(path, sizeof(path), "missing.kiln");
	rc = kiln_read(path, &r, NULL);
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(kiln_read_strerror(rc), "no such file");

	/* a header and nothing else: an empty profile, not an error */
	uint8_t h[KILN_HEADER_SIZE];
	kiln_format_header(h);
	struct kiln_read_info info;
	assert_int_equal(kiln_read_mem(h, sizeof(h), &r, &info), 0);
	assert_int_equal(r->samples.n, 0);
	assert_false(info.complete);
	assert_false(info.truncated);
	profile_free(r);
}

static void test_newer_version(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "newer.kiln");
	struct profile *full = write_file(path, true);
	size_t size;
	uint8_t *d = slurp(path, &size);
	struct profile *r;
	struct kiln_read_info info;

	/* a newer file an old reader may still read: version up, min reader unchanged */
	d[8] = 5;
	d[28] = d[29] = d[30] = d[31] = 0;
	uint32_t crc = crc32c(d, 28);
	for (int i = 0; i < 4; i++)
		d[28 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(kiln_read_mem(d, size, &r, &info), 0);
	assert_int_equal(info.version, 5);
	assert_true(info.complete);
	profile_free(r);

	/* one that needs a newer reader */
	d[8] = 7;
	d[10] = KILN_READER_VERSION + 1;
	crc = crc32c(d, 28);
	for (int i = 0; i < 4; i++)
		d[28 + i] = (uint8_t)(crc >> (8 * i));
	int rc = kiln_read_mem(d, size, &r, &info);
	assert_int_equal(rc, -ENOTSUP);
	assert_null(r);
	assert_int_equal(info.version, 7);
	char want[128];
	snprintf(want, sizeof(want), "written by a newer kiln (format 7); this kiln reads up to %d",
	         KILN_READER_VERSION);
	assert_string_equal(kiln_read_strerror(rc), want);

	/* unknown incompatible feature bits */
	d[10] = KILN_READER_VERSION;
	d[24] = 1;
	crc = crc32c(d, 28);
	for (int i = 0; i < 4; i++)
		d[28 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(kiln_read_mem(d, size, &r, &info), -ENOTSUP);

	/* a bad header checksum */
	d[24] = 0;
	assert_int_equal(kiln_read_mem(d, size, &r, &info), -EBADMSG);
	assert_string_equal(kiln_read_strerror(-EBADMSG), "corrupt at byte 0");
	free(d);
	profile_free(full);
	unlink(path);
}

/* ---- hand-made chunks: the reader must refuse bad references ---- */

typedef VEC(uint8_t) bytes;

static void put(bytes *b, uint64_t x)
{
	do {
		uint8_t c = (uint8_t)(x & 0x7f);
		x >>= 7;
		vec_push(b, (uint8_t)(c | (x ? 0x80 : 0)));
	} while (x);
}

/* Appends a section of kind whose body is the n varints given. */
static void section(bytes *payload, uint8_t kind, const uint64_t *v, size_t n)
{
	bytes body = {0};
	for (size_t i = 0; i < n; i++)
		put(&body, v[i]);
	vec_push(payload, kind);
	put(payload, body.n);
	for (size_t i = 0; i < body.n; i++)
		vec_push(payload, body.v[i]);
	vec_free(&body);
}

#define SEC(b, kind, ...)                                                                                              \
	section((b), (kind), (const uint64_t[]){__VA_ARGS__},                                                          \
	        sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

/* A file of one raw chunk per payload given; returns kiln_read_mem's result. */
static int read_chunks(struct profile **r, struct kiln_read_info *info, uint16_t type, const bytes *payloads, int n)
{
	bytes f = {0};
	vec_reserve(&f, KILN_HEADER_SIZE);
	kiln_format_header(f.v);
	f.n = KILN_HEADER_SIZE;
	for (int i = 0; i < n; i++) {
		vec_reserve(&f, f.n + KILN_CHUNK_HEADER_SIZE + payloads[i].n);
		kiln_format_chunk_header(f.v + f.n, i == n - 1 ? type : KILN_CHUNK_DATA, KILN_CHUNK_RAW, (uint32_t)i,
		                         (uint32_t)payloads[i].n, payloads[i].v, (uint32_t)payloads[i].n);
		f.n += KILN_CHUNK_HEADER_SIZE;
		if (payloads[i].n)
			memcpy(f.v + f.n, payloads[i].v, payloads[i].n);
		f.n += payloads[i].n;
	}
	int rc = kiln_read_mem(f.v, f.n, r, info);
	vec_free(&f);
	return rc;
}

static int read_one(bytes *payload)
{
	struct profile *r;
	struct kiln_read_info info;
	int rc = read_chunks(&r, &info, KILN_CHUNK_DATA, payload, 1);
	vec_free(payload);
	if (!rc)
		profile_free(r);
	return rc;
}

static void test_hostile_records(void **state)
{
	(void)state;
	bytes p = {0};
	/* a good base: strings "", "a"; a location; a stack node; a sample */
	SEC(&p, KILN_SEC_STRINGS, 1, 1, 1);
	vec_push(&p, 'a');
	p.v[1]++; /* the section length covers the string byte */
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 0, 0);
	SEC(&p, KILN_SEC_STACKS, 1, 1, 1, 0);
	SEC(&p, KILN_SEC_SAMPLES, 1, 0, 1, 5, 5, 0, 2);
	SEC(&p, 200, 1, 2, 3); /* unknown section: skipped */
	struct profile *r;
	struct kiln_read_info info;
	assert_int_equal(read_chunks(&r, &info, KILN_CHUNK_DATA, &p, 1), 0);
	assert_false(info.complete); /* the only chunk was DATA */
	assert_int_equal(r->samples.n, 1);
	assert_int_equal(r->samples.v[0].time, 1);
	assert_string_equal(profile_str(r, 1), "a");
	profile_free(r);

	/* an unknown chunk type is skipped, END completes */
	bytes two[2] = {p, {0}};
	assert_int_equal(read_chunks(&r, &info, KILN_CHUNK_END, two, 2), 0);
	assert_true(info.complete);
	profile_free(r);
	two[1].n = 0;
	vec_push(&two[1], 0);
	assert_int_equal(read_chunks(&r, &info, 77, two, 2), 0);
	assert_false(info.complete);
	assert_int_equal(info.chunks, 2);
	profile_free(r);
	vec_free(&two[1]);
	vec_free(&p);

	/* each bad reference alone makes the (first) chunk corrupt */
	SEC(&p, KILN_SEC_STRINGS, 2, 0); /* strings must continue at 1 */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_STACKS, 1, 1, 1, 0); /* location 0 not defined */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 0, 0);
	SEC(&p, KILN_SEC_STACKS, 1, 1, 0, 0); /* a node its own parent */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 0, 0);
	SEC(&p, KILN_SEC_STACKS, 1, 1, 2, 0); /* parent before the root */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 5, 0); /* mapping 4 not defined */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_SAMPLES, 1, 0, 1, 5, 5, 0, 2); /* stack 1 not defined */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_SAMPLES, 1, PROFILE_MAX_VALUES + 1, 0, 5, 5, 0, 2, 1, 1, 1, 1, 1);
	assert_int_equal(read_one(&p), -EBADMSG);
	/* counts no body could hold: room is made for what the bytes allow,
	 * so these fail as cut short, not as a huge allocation */
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 0, 0);
	SEC(&p, KILN_SEC_STACKS, 1, UINT64_MAX, 1, 0);
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_LOCATIONS, 0, 1, 0x1000, 0, 0);
	SEC(&p, KILN_SEC_STACKS, 1, 1ull << 40, 1, 0, 1, 0);
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_SAMPLES, UINT64_MAX, 0, 0, 5, 5, 0, 2);
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_SAMPLES, 1ull << 40, PROFILE_MAX_VALUES, 0, 5, 5, 0, 2, 1, 2, 3, 4);
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_META, 1, 0, 3); /* string 3 not defined */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_THREADS, 1, 10, 10, 0, 0); /* cut short record */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_VALUE_TYPES, 0, PROFILE_MAX_VALUES + 1);
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_FRAMES, 1, 0, 1, 0, 0, 0, 0, 0); /* location 0 not defined */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_META, 0, 5); /* a byte after the last record */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_STRINGS, 1, 1, 100); /* string longer than the section */
	assert_int_equal(read_one(&p), -EBADMSG);
	SEC(&p, KILN_SEC_STRINGS, 1, 1, UINT64_MAX); /* huge varint length */
	assert_int_equal(read_one(&p), -EBADMSG);
	vec_push(&p, KILN_SEC_META);
	for (int i = 0; i < 11; i++) /* an endless varint */
		vec_push(&p, 0xff);
	assert_int_equal(read_one(&p), -EBADMSG);
}

static void test_hostile_chunk_sizes(void **state)
{
	(void)state;
	uint8_t f[KILN_HEADER_SIZE + KILN_CHUNK_HEADER_SIZE + 16] = {0};
	kiln_format_header(f);
	struct profile *r;
	struct kiln_read_info info;
	/* claims a huge uncompressed size for a small zstd payload */
	kiln_format_chunk_header(f + KILN_HEADER_SIZE, KILN_CHUNK_DATA, KILN_CHUNK_ZSTD, 0, UINT32_MAX,
	                         f + KILN_HEADER_SIZE + KILN_CHUNK_HEADER_SIZE, 16);
	assert_int_equal(kiln_read_mem(f, sizeof(f), &r, &info), -EBADMSG);
	assert_int_equal(info.bad_offset, KILN_HEADER_SIZE);
	char want[64];
	snprintf(want, sizeof(want), "corrupt at byte %d", KILN_HEADER_SIZE);
	assert_string_equal(kiln_read_strerror(-EBADMSG), want);
	/* a payload larger than the file: cut short, so an empty profile */
	static uint8_t big[KILN_HEADER_SIZE + KILN_CHUNK_HEADER_SIZE + 1000];
	kiln_format_header(big);
	kiln_format_chunk_header(big + KILN_HEADER_SIZE, KILN_CHUNK_DATA, KILN_CHUNK_RAW, 0, 1000,
	                         big + KILN_HEADER_SIZE + KILN_CHUNK_HEADER_SIZE, 1000);
	assert_int_equal(kiln_read_mem(big, sizeof(f), &r, &info), 0);
	assert_true(info.truncated);
	profile_free(r);
	/* a wrong sequence number */
	kiln_format_chunk_header(f + KILN_HEADER_SIZE, KILN_CHUNK_DATA, KILN_CHUNK_RAW, 3, 16,
	                         f + KILN_HEADER_SIZE + KILN_CHUNK_HEADER_SIZE, 16);
	assert_int_equal(kiln_read_mem(f, sizeof(f), &r, &info), -EBADMSG);
}

static void test_many_flushes(void **state)
{
	/* flushing often: each flush appends only its delta; big sections split */
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "many.kiln");
	struct kiln_writer *w;
	struct profile *p = profile_new();
	assert_int_equal(kiln_writer_open(&w, path), 0);
	profile_add_value_type(p, "samples", "count");
	uint32_t m =
	    profile_add_mapping(p, &(struct profile_mapping){1, 0, 1ull << 40, 0, profile_intern(p, "x"), 0, 0});
	char name[32];
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 5000; i++) {
			uint32_t locs[3];
			for (int k = 0; k < 3; k++)
				locs[k] = profile_location(
				    p, m, (uint64_t)((round * 7 + i * 13 + k * 101) % 20000) * 16, PROFILE_LOC_USER);
			struct profile_sample s = {profile_stack_from_leaf(p, locs, 3),
			                           (uint32_t)(i % 8),
			                           1,
			                           0,
			                           (uint64_t)round * 1000000 + (uint64_t)i,
			                           {1}};
			profile_add_sample(p, &s);
		}
		snprintf(name, sizeof(name), "thread-%d", round);
		profile_thread(p, (uint32_t)(round % 8), 1)->name = profile_intern(p, name);
		assert_int_equal(kiln_writer_flush(w, p), 0);
	}
	profile_name_unsymbolized(p);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	assert_int_equal(kiln_writer_flush(w, p), -EINVAL);
	kiln_writer_free(w);
	struct profile *r;
	struct kiln_read_info info;
	assert_int_equal(kiln_read(path, &r, &info), 0);
	assert_true(info.complete);
	assert_true(info.chunks >= 42);
	assert_prefix(p, r, true);
	profile_free(r);
	profile_free(p);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_unfinished),
	    cmocka_unit_test(test_series),
	    cmocka_unit_test(test_min_reader_by_value_types),
	    cmocka_unit_test(test_truncation_every_offset),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_foreign_and_empty),
	    cmocka_unit_test(test_newer_version),
	    cmocka_unit_test(test_hostile_records),
	    cmocka_unit_test(test_hostile_chunk_sizes),
	    cmocka_unit_test(test_many_flushes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
