/* test_perf_data.c - the perf.data reader on files built here byte by byte:
 * records rewritten for the recorder (mappings, threads, FP chains, kernel
 * frames), events told apart by sample id, features (host, build-ids), and
 * every kind of cut or corrupt file refused with what is wrong. */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <cmocka.h>
#include <zstd.h>

#include "capture/perf_data.h"
#include "profile/profile.h"
#include "symbols/symbols.h"

#define PID       4242u
#define MAP_START 0x400000ull
#define KADDR     0xffffffff81000010ull

/* A perf.data file under construction. */
struct pfile {
	uint8_t b[1 << 16];
	size_t n;
	size_t data_at;
	uint64_t features;
};

static size_t put(struct pfile *f, const void *p, size_t n)
{
	size_t at = f->n;
	memcpy(f->b + f->n, p, n);
	f->n += n;
	return at;
}

static void put_u64(struct pfile *f, uint64_t v)
{
	put(f, &v, 8);
}

static void set_u64(struct pfile *f, size_t at, uint64_t v)
{
	memcpy(f->b + at, &v, 8);
}

static struct perf_event_attr sampling_attr(uint64_t extra)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.size = sizeof(a);
	a.sample_freq = 99;
	a.freq = 1;
	a.sample_type =
	    PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | extra;
	a.sample_id_all = 1;
	return a;
}

/* Header, then the attrs (each with one id, 100 + index) and the start of
 * the data section. */
static void begin(struct pfile *f, const struct perf_event_attr *attrs, int n)
{
	memset(f, 0, sizeof(*f));
	put(f, "PERFILE2", 8);
	f->n = 104;
	size_t ids_at = f->n;
	for (int i = 0; i < n; i++)
		put_u64(f, 100 + (uint64_t)i);
	size_t attrs_at = f->n;
	for (int i = 0; i < n; i++) {
		put(f, &attrs[i], sizeof(attrs[i]));
		put_u64(f, ids_at + 8 * (uint64_t)i);
		put_u64(f, 8);
	}
	set_u64(f, 8, 104);
	set_u64(f, 16, sizeof(struct perf_event_attr) + 16);
	set_u64(f, 24, attrs_at);
	set_u64(f, 32, f->n - attrs_at);
	f->data_at = f->n;
}

/* The trailer of side-band records for sampling_attr(): tid, time. */
static void trailer(struct pfile *f, uint64_t time, uint64_t id, bool with_id)
{
	uint32_t t[2] = {PID, PID};
	put(f, t, 8);
	put_u64(f, time);
	if (with_id)
		put_u64(f, id);
}

static size_t record_start(struct pfile *f, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = {type, misc, 0};
	return put(f, &h, sizeof(h));
}

static void record_end(struct pfile *f, size_t at)
{
	uint16_t size = (uint16_t)(f->n - at);
	memcpy(f->b + at + 6, &size, 2);
}

static void mmap2(struct pfile *f, const char *path, bool with_id)
{
	size_t at = record_start(f, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	uint32_t ids[2] = {PID, PID};
	put(f, ids, 8);
	put_u64(f, MAP_START);
	put_u64(f, 0x1000);
	put_u64(f, 0);
	uint8_t zero[32] = {0};
	put(f, zero, 32);
	char name[64] = {0};
	size_t len = strlen(path) + 1;
	memcpy(name, path, len);
	put(f, name, (len + 7) & ~(size_t)7);
	trailer(f, 1, 100, with_id);
	record_end(f, at);
}

static void comm(struct pfile *f, const char *name, bool with_id)
{
	size_t at = record_start(f, PERF_RECORD_COMM, 0);
	uint32_t ids[2] = {PID, PID};
	put(f, ids, 8);
	char buf[16] = {0};
	snprintf(buf, sizeof(buf), "%s", name);
	put(f, buf, 16);
	trailer(f, 1, 100, with_id);
	record_end(f, at);
}

/* A sample of sampling_attr(): a kernel frame, then user pcs leaf first. */
static void sample(struct pfile *f, uint64_t time, const uint64_t *pcs, int n, bool identifier, uint64_t id)
{
	size_t at = record_start(f, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	if (identifier)
		put_u64(f, id);
	put_u64(f, KADDR);
	put_u64(f, PID | (uint64_t)PID << 32);
	put_u64(f, time);
	put_u64(f, 10101010);
	put_u64(f, (uint64_t)n + 3);
	put_u64(f, PERF_CONTEXT_KERNEL);
	put_u64(f, KADDR);
	put_u64(f, PERF_CONTEXT_USER);
	for (int i = 0; i < n; i++)
		put_u64(f, pcs[i]);
	record_end(f, at);
}

static void put_string_feature(struct pfile *f, size_t idx, const char *str)
{
	size_t at = f->n;
	char s[128] = {0};
	snprintf(s, sizeof(s), "%s", str);
	uint32_t len = sizeof(s);
	put(f, &len, 4);
	put(f, s, sizeof(s));
	set_u64(f, idx, at);
	set_u64(f, idx + 8, f->n - at);
}

/* Closes the data section and writes the HOSTNAME and OSRELEASE features
 * (release NULL: the running kernel's). */
static void finish_on(struct pfile *f, const char *host, const char *release)
{
	set_u64(f, 40, f->data_at);
	set_u64(f, 48, f->n - f->data_at);
	if (!host)
		return;
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	set_u64(f, 72, 1ull << 3 | 1ull << 4); /* HEADER_HOSTNAME, HEADER_OSRELEASE */
	size_t idx = f->n;
	for (int i = 0; i < 4; i++)
		put_u64(f, 0);
	put_string_feature(f, idx, host);
	put_string_feature(f, idx + 16, release ? release : u.release);
}

static void finish(struct pfile *f, const char *host)
{
	finish_on(f, host, NULL);
}

/* perf's MMAP of the kernel: pid -1, pgoff = where _text was. */
static void kernel_mmap(struct pfile *f, uint64_t text)
{
	size_t at = record_start(f, PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL);
	uint32_t ids[2] = {UINT32_MAX, 0};
	put(f, ids, 8);
	put_u64(f, text);
	put_u64(f, 0x1000000);
	put_u64(f, text);
	char name[24] = "[kernel.kallsyms]_text";
	put(f, name, sizeof(name));
	trailer(f, 0, 100, false);
	record_end(f, at);
}

static const char *frame_name(const struct profile *p, uint32_t loc)
{
	const struct profile_location *l = &p->locations.v[loc];
	return l->nframes ? profile_str(p, p->frames.v[l->first_frame].function) : NULL;
}

static void build_fp_file_text(struct pfile *f, const char *host, uint64_t text)
{
	struct perf_event_attr a = sampling_attr(0);
	begin(f, &a, 1);
	if (text)
		kernel_mmap(f, text);
	comm(f, "prog", false);
	mmap2(f, "/nonexistent/kiln-test/prog", false);
	uint64_t pcs[3] = {MAP_START + 0x100, MAP_START + 0x200, MAP_START + 0x300};
	sample(f, 10, pcs, 3, false, 0);
	sample(f, 20, pcs, 2, false, 0);
	put(f, &(struct perf_event_header){68, 0, 8}, 8); /* FINISHED_ROUND */
	finish(f, host);
}

static void build_fp_file(struct pfile *f, const char *host)
{
	build_fp_file_text(f, host, 0);
}

static void test_fp_samples(void **state)
{
	(void)state;
	static struct pfile f;
	build_fp_file(&f, "not-this-host.invalid");
	struct profile *p = NULL;
	struct perf_data_info info;
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_non_null(p);
	assert_int_equal(p->samples.n, 2);
	assert_int_equal(info.st.samples, 2);
	assert_false(info.dwarf);
	assert_false(info.same_machine);
	assert_string_equal(info.event, "cpu-clock");
	assert_string_equal(profile_get_meta(p, "source"), "perf.data");
	assert_string_equal(profile_get_meta(p, "call_graph"), "fp");
	assert_string_equal(profile_get_meta(p, "hostname"), "not-this-host.invalid");
	assert_int_equal(p->samples.v[0].values[1], 10101010);
	/* the thread got its name, the mapping its path */
	const struct profile_thread *t = profile_find_thread(p, PID);
	assert_non_null(t);
	assert_string_equal(profile_str(p, t->name), "prog");
	assert_int_equal(p->mappings.n, 1);
	assert_string_equal(profile_str(p, p->mappings.v[0].path), "/nonexistent/kiln-test/prog");
	/* the first sample: kernel leaf, then the three user frames, each
	 * caller's return address stepped back into its call */
	uint32_t node = p->samples.v[0].stack;
	size_t nlocs = 0;
	uint32_t locs[8];
	while (node && nlocs < 8) {
		locs[nlocs++] = p->stacks.v[node].location;
		node = p->stacks.v[node].parent;
	}
	assert_int_equal(nlocs, 4);
	assert_int_equal(p->locations.v[locs[0]].kind, PROFILE_LOC_KERNEL);
	/* recorded elsewhere: the kernel frame is not named from this kallsyms */
	assert_string_equal(frame_name(p, locs[0]), "[kernel.kallsyms]+0xffffffff81000010");
	assert_int_equal(p->locations.v[locs[1]].address, MAP_START + 0x100);
	assert_int_equal(p->locations.v[locs[2]].address, MAP_START + 0x200 - 1);
	assert_int_equal(p->locations.v[locs[3]].address, MAP_START + 0x300 - 1);
	assert_int_equal(p->locations.v[locs[1]].mapping, 0);
	profile_free(p);
}

/* Recorded here: kernel frames are left to kallsyms, unless the kernel
 * has moved since (another boot), which its MMAP record tells. */
static void test_this_machine(void **state)
{
	(void)state;
	static struct pfile f;
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	uint64_t text;
	bool known = symbols_kernel_text(&text) == 0;
	struct profile *p = NULL;
	struct perf_data_info info;

	build_fp_file_text(&f, u.nodename, known ? text : 0);
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_true(info.same_machine);
	assert_false(info.kernel_moved);
	for (size_t i = 0; i < p->locations.n; i++)
		if (p->locations.v[i].kind == PROFILE_LOC_KERNEL)
			assert_int_equal(p->locations.v[i].nframes, 0); /* named later, from kallsyms */
	profile_free(p);

	build_fp_file(&f, NULL); /* then the features: */
	finish_on(&f, u.nodename, "0.0.0-another-kernel");
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_false(info.same_machine);
	profile_free(p);

	if (!known) {
		print_message("kallsyms hides addresses here: the moved-kernel case is not checked\n");
		return;
	}
	build_fp_file_text(&f, u.nodename, text + 0x200000);
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_false(info.same_machine);
	assert_true(info.kernel_moved);
	profile_free(p);
}

/* perf record -z: the records in COMPRESSED records of one zstd stream,
 * here cut in two with the middle record split between them. */
static void test_compressed(void **state)
{
	(void)state;
	static struct pfile f, g;
	build_fp_file(&f, NULL);
	size_t len = f.n - f.data_at, cut = len / 2;
	memcpy(&g, &f, sizeof(g));
	g.n = g.data_at;
	ZSTD_CStream *zs = ZSTD_createCStream();
	assert_non_null(zs);
	ZSTD_initCStream(zs, 3);
	for (int part = 0; part < 2; part++) {
		size_t at = record_start(&g, 81, 0);
		ZSTD_inBuffer in = {f.b + f.data_at + (part ? cut : 0), part ? len - cut : cut, 0};
		ZSTD_outBuffer out = {g.b + g.n, sizeof(g.b) - g.n, 0};
		while (in.pos < in.size)
			assert_false(ZSTD_isError(ZSTD_compressStream(zs, &out, &in)));
		assert_int_equal(ZSTD_flushStream(zs, &out), 0);
		g.n += out.pos;
		record_end(&g, at);
	}
	ZSTD_freeCStream(zs);
	finish(&g, NULL);
	struct profile *p = NULL;
	struct perf_data_info info;
	assert_int_equal(perf_data_read_mem(g.b, g.n, &p, &info), 0);
	assert_int_equal(p->samples.n, 2);
	assert_int_equal(p->mappings.n, 1);
	assert_int_equal(info.skipped, 0);
	profile_free(p);
}

/* Two sampling events with PERF_SAMPLE_IDENTIFIER: only the first is read,
 * the other's samples are counted; side-band trailers end with the id. */
static void test_two_events(void **state)
{
	(void)state;
	static struct pfile f;
	struct perf_event_attr a[2] = {sampling_attr(PERF_SAMPLE_IDENTIFIER), sampling_attr(PERF_SAMPLE_IDENTIFIER)};
	a[1].type = PERF_TYPE_HARDWARE;
	a[1].config = PERF_COUNT_HW_INSTRUCTIONS;
	begin(&f, a, 2);
	mmap2(&f, "/nonexistent/kiln-test/prog", true);
	uint64_t pcs[1] = {MAP_START + 0x10};
	sample(&f, 10, pcs, 1, true, 100);
	sample(&f, 11, pcs, 1, true, 101);
	sample(&f, 12, pcs, 1, true, 101);
	finish(&f, NULL);
	struct profile *p = NULL;
	struct perf_data_info info;
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_int_equal(info.events, 2);
	assert_int_equal(p->samples.n, 1);
	assert_int_equal(info.other_samples, 2);
	assert_int_equal(p->mappings.n, 1);
	profile_free(p);
}

/* A file perf record did not finish (killed): data size 0, records to the
 * end of the file. */
static void test_unfinished(void **state)
{
	(void)state;
	static struct pfile f;
	build_fp_file(&f, NULL);
	set_u64(&f, 48, 0);
	struct profile *p = NULL;
	struct perf_data_info info;
	assert_int_equal(perf_data_read_mem(f.b, f.n, &p, &info), 0);
	assert_true(info.cut_short);
	assert_int_equal(p->samples.n, 2);
	profile_free(p);
}

static int read_error(const void *d, size_t n, struct perf_data_info *info)
{
	struct profile *p = (struct profile *)1;
	int rc = perf_data_read_mem(d, n, &p, info);
	assert_null(p);
	return rc;
}

static void test_refused(void **state)
{
	(void)state;
	static struct pfile f, g;
	struct perf_data_info info;
	build_fp_file(&f, NULL);

	assert_int_equal(read_error("KILNPROF", 8, &info), -ENOMSG);
	assert_int_equal(read_error("", 0, &info), -ENOMSG);
	assert_int_equal(read_error(f.b, 60, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "ends inside its 104-byte header"));

	memcpy(&g, &f, sizeof(g));
	memcpy(g.b, "2ELIFREP", 8);
	assert_int_equal(read_error(g.b, g.n, &info), -EPROTONOSUPPORT);
	assert_non_null(strstr(info.error, "other byte order"));

	memcpy(&g, &f, sizeof(g));
	set_u64(&g, 8, 16); /* pipe mode's header */
	assert_int_equal(read_error(g.b, g.n, &info), -EPROTONOSUPPORT);
	assert_non_null(strstr(info.error, "pipe mode"));

	/* cut: the data section runs past the end */
	assert_int_equal(read_error(f.b, f.n - 20, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "the file is cut short"));

	/* a record of size 4 (a loop of empty records otherwise) */
	memcpy(&g, &f, sizeof(g));
	uint16_t four = 4;
	memcpy(g.b + g.data_at + 6, &four, 2);
	assert_int_equal(read_error(g.b, g.n, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "has size 4"));
	assert_int_equal(info.error_offset, g.data_at);

	/* a record running past the data section */
	memcpy(&g, &f, sizeof(g));
	set_u64(&g, 48, 20);
	assert_int_equal(read_error(g.b, g.n, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "past the end of the data section"));

	/* attrs past the end of the file */
	memcpy(&g, &f, sizeof(g));
	set_u64(&g, 24, 1u << 20);
	assert_int_equal(read_error(g.b, g.n, &info), -EBADMSG);

	/* a compressed record that is not zstd data */
	memcpy(&g, &f, sizeof(g));
	uint32_t compressed = 81;
	memcpy(g.b + g.data_at, &compressed, 4);
	assert_int_equal(read_error(g.b, g.n, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "does not decompress"));

	/* only perf's dummy event */
	struct perf_event_attr dummy = sampling_attr(0);
	dummy.config = PERF_COUNT_SW_DUMMY;
	begin(&g, &dummy, 1);
	finish(&g, NULL);
	assert_int_equal(read_error(g.b, g.n, &info), -EBADMSG);
	assert_non_null(strstr(info.error, "no sampling event"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fp_samples), cmocka_unit_test(test_this_machine), cmocka_unit_test(test_compressed),
	    cmocka_unit_test(test_two_events), cmocka_unit_test(test_unfinished),   cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
