/* perf_data.c - perf.data files into a profile (see perf_data.h).
 *
 * The layout (perf's tools/perf/Documentation/perf.data-file-format.txt):
 * a 104-byte header with the attrs, data and event_types sections and a
 * 256-bit feature bitmap; one (offset, size) pair per set feature bit right
 * after the data section; records in the data section, each with a
 * perf_event_header, SAMPLE fields in sample_type order and, with
 * sample_id_all, a trailer of ids on every other record.
 *
 * Each record is checked; a sample is decoded into the recorder's sample
 * fields (ip, tid, time, cpu, period, callchain, user registers and stack,
 * pointing into the file) and handed to recorder_feed_sample(), other
 * records are rewritten into the layout the recorder opens its own events
 * with and handed to recorder_feed(): one sample path and one unwinder for
 * live and recorded samples, and no copy of the stacks.
 */
#include "capture/perf_data.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <zstd.h>

#include "symbols/symbols.h"
#include "util/hashmap.h"
#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define HEADER_SIZE      104u
#define PIPE_HEADER_SIZE 16u
#define MAX_ATTRS        256u
#define MAX_IDS          (1u << 16)
#define MAX_FEATURE      (16u << 20)  /* bytes of one feature section read */
#define WINDOW           (4u << 20)   /* the data section's read window */
#define MAP_WHOLE_MAX    (64u << 20)  /* files up to this size are mapped whole */
#define REC_MAX          65536u       /* header.size is 16 bits */
#define Z_MAX            (256u << 20) /* decompressed bytes of one round (perf record -z) */

/* perf's feature bits (tools/perf/util/header.h) */
enum {
	FEAT_BUILD_ID = 2,
	FEAT_HOSTNAME = 3,
	FEAT_OSRELEASE = 4,
	FEAT_CMDLINE = 11,
	FEAT_EVENT_DESC = 12,
};

/* perf's own record types in a file (above the kernel's) */
enum {
	REC_FINISHED_ROUND = 68,
	REC_AUXTRACE = 71,
	REC_COMPRESSED = 81,
	REC_COMPRESSED2 = 83,
};

#define BUILD_ID_SIZE_VALID (1u << 15) /* build-id record misc: its size byte is set */

/* The sample_id_all trailer fields. */
#define ID_FIELDS                                                                                                      \
	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU |               \
	 PERF_SAMPLE_IDENTIFIER)

struct section {
	uint64_t offset, size;
};

struct source {
	int fd;
	const uint8_t *mem; /* NULL: read fd */
	uint64_t size;
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
};

/* One event of the file. */
struct attr {
	struct perf_event_attr a;
	uint64_t read_size; /* bytes of a PERF_SAMPLE_READ value */
};

/* What a record's trailer (or a sample) says about when and where. */
struct ids {
	uint32_t pid, tid, cpu;
	uint64_t time, id;
};

struct reader {
	struct source src;
	struct profile *p;
	struct perf_data_info *info;
	struct attr *attrs;
	uint32_t nattrs;
	uint32_t main;             /* the attr read */
	struct hashmap id_map;     /* sample id -> attr index */
	struct hashmap build_ids;  /* interned path -> interned hex build-id */
	struct hashmap path_cache; /* interned path -> interned path to open */
	struct recorder *rec;
	uint64_t regs_mask;
	uint64_t first_time, last_time;
	uint64_t kernel_text; /* _text when recorded (the kernel MMAP's pgoff), 0 if unknown */
	ZSTD_DStream *zs;     /* perf record -z: one stream through the file */
	uint8_t *z;           /* decompressed records not yet handled */
	size_t z_len, z_cap;
	uint64_t out[REC_MAX / 8 + 8]; /* a record rewritten for the recorder */
};

/* ---- reading bytes ---- */

static int fail(struct reader *r, int rc, uint64_t offset, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct reader *r, int rc, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->info->error, sizeof(r->info->error), fmt, ap);
	va_end(ap);
	r->info->error_offset = offset;
	return rc;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG; /* the file shrank while being read */
		got += (size_t)k;
	}
	return 0;
}

/* Points *out at n bytes at off, which the caller checked lie in the file;
 * valid until the next call. n is at most WINDOW. */
static int src_view(struct source *s, uint64_t off, size_t n, const uint8_t **out)
{
	if (s->mem) {
		*out = s->mem + off;
		return 0;
	}
	if (off < s->win_off || off + n > s->win_off + s->win_len) {
		size_t len = s->size - off < WINDOW ? (size_t)(s->size - off) : WINDOW;
		if (!s->win)
			s->win = xmalloc(WINDOW);
		s->win_len = 0;
		int rc = pread_full(s->fd, s->win, len, off);
		if (rc)
			return rc;
		s->win_off = off;
		s->win_len = len;
	}
	*out = s->win + (off - s->win_off);
	return 0;
}

static bool in_file(const struct source *s, uint64_t off, uint64_t n)
{
	return off <= s->size && n <= s->size - off;
}

/* Copies a whole small section (at most max bytes) into a new buffer. */
static int src_copy(struct source *s, struct section sec, uint64_t max, uint8_t **out)
{
	*out = NULL;
	if (!in_file(s, sec.offset, sec.size) || sec.size > max)
		return -EBADMSG;
	uint8_t *b = xmalloc(sec.size ? sec.size : 1);
	int rc = s->mem ? (memcpy(b, s->mem + sec.offset, sec.size), 0) : pread_full(s->fd, b, sec.size, sec.offset);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- the header and its sections ---- */

bool perf_data_sniff(const void *head, size_t n)
{
	return n >= 8 && (!memcmp(head, "PERFILE2", 8) || !memcmp(head, "2ELIFREP", 8) || !memcmp(head, "PERFFILE", 8));
}

static uint64_t read_format_size(const struct perf_event_attr *a)
{
	uint64_t f = a->read_format, per = 8 + (f & PERF_FORMAT_ID ? 8 : 0) + (f & PERF_FORMAT_LOST ? 8 : 0);
	uint64_t times = (f & PERF_FORMAT_TOTAL_TIME_ENABLED ? 8 : 0) + (f & PERF_FORMAT_TOTAL_TIME_RUNNING ? 8 : 0);
	if (f & PERF_FORMAT_GROUP)
		return 0; /* variable: nr comes first, see skip_read() */
	return per + times;
}

static bool is_dummy(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE && a->config == PERF_COUNT_SW_DUMMY;
}

static int read_attrs(struct reader *r, uint64_t attr_size, struct section sec)
{
	if (attr_size < PERF_ATTR_SIZE_VER0 + sizeof(struct section) || attr_size > 4096)
		return fail(r, -EBADMSG, 16, "bad attr size %" PRIu64, attr_size);
	if (sec.size % attr_size || !sec.size || sec.size / attr_size > MAX_ATTRS)
		return fail(r, -EBADMSG, 40, "attrs section of %" PRIu64 " bytes does not hold 1 to %u events",
		            sec.size, MAX_ATTRS);
	uint8_t *buf;
	int rc = src_copy(&r->src, sec, MAX_ATTRS * 4096ull, &buf);
	if (rc)
		return rc == -EBADMSG ? fail(r, rc, 24, "the attrs section lies past the end of the file") : rc;
	r->nattrs = (uint32_t)(sec.size / attr_size);
	r->info->events = r->nattrs;
	r->attrs = xcalloc(r->nattrs, sizeof(*r->attrs));
	uint64_t total_ids = 0;
	for (uint32_t i = 0; i < r->nattrs && !rc; i++) {
		const uint8_t *e = buf + i * attr_size;
		size_t asz = (size_t)attr_size - sizeof(struct section);
		memcpy(&r->attrs[i].a, e, asz < sizeof(r->attrs[i].a) ? asz : sizeof(r->attrs[i].a));
		r->attrs[i].read_size = read_format_size(&r->attrs[i].a);
		struct section ids = {get_u64(e + asz), get_u64(e + asz + 8)};
		if (ids.size % 8 || (total_ids += ids.size / 8) > MAX_IDS) {
			rc = fail(r, -EBADMSG, sec.offset + i * attr_size, "event %u has a bad ids section", i);
			break;
		}
		uint8_t *idb;
		rc = src_copy(&r->src, ids, MAX_IDS * 8ull, &idb);
		if (rc) {
			if (rc == -EBADMSG)
				rc = fail(r, rc, ids.offset, "the ids of event %u lie past the end of the file", i);
			break;
		}
		for (uint64_t k = 0; k < ids.size / 8; k++)
			hashmap_put(&r->id_map, get_u64(idb + k * 8), i);
		free(idb);
	}
	free(buf);
	return rc;
}

/* A perf_header_string at *pos of buf (len bytes): u32 length, then that
 * many bytes holding a NUL-terminated string. NULL when malformed. */
static const char *take_string(const uint8_t *buf, uint64_t len, uint64_t *pos)
{
	if (len - *pos < 4)
		return NULL;
	uint32_t n = get_u32(buf + *pos);
	if (n > len - *pos - 4 || !n || !memchr(buf + *pos + 4, '\0', n))
		return NULL;
	const char *s = (const char *)buf + *pos + 4;
	*pos += 4 + (uint64_t)n;
	return s;
}

static void feature_build_ids(struct reader *r, const uint8_t *b, uint64_t len)
{
	uint64_t pos = 0;
	while (len - pos >= 8) {
		uint16_t misc, size;
		memcpy(&misc, b + pos + 4, 2);
		memcpy(&size, b + pos + 6, 2);
		/* header, pid, 24 bytes of build-id (size in byte 20), name */
		if (size < 8 + 4 + 24 + 1 || size > len - pos)
			return;
		const uint8_t *id = b + pos + 12;
		const char *name = (const char *)b + pos + 36;
		unsigned n = misc & BUILD_ID_SIZE_VALID ? id[20] : 20;
		/* files by path, and the kernel (for perf's copy of its symbols) */
		if (n && n <= 20 && memchr(name, '\0', size - 36u) &&
		    (name[0] == '/' || !strcmp(name, "[kernel.kallsyms]"))) {
			char hex[41];
			num_hex_bytes(id, n, hex);
			hashmap_put(&r->build_ids, profile_intern(r->p, name), profile_intern(r->p, hex));
			r->info->build_ids += name[0] == '/';
		}
		pos += size;
	}
}

/* The command perf recorded: what follows "--", else the whole line. */
static void feature_cmdline(struct reader *r, const uint8_t *b, uint64_t len)
{
	if (len < 4)
		return;
	uint32_t n = get_u32(b);
	uint64_t pos = 4;
	struct strbuf all = STRBUF_INIT, after = STRBUF_INIT;
	bool dashes = false;
	for (uint32_t i = 0; i < n; i++) {
		const char *s = take_string(b, len, &pos);
		if (!s)
			break;
		strbuf_addf(&all, "%s%s", all.len ? " " : "", s);
		if (dashes)
			strbuf_addf(&after, "%s%s", after.len ? " " : "", s);
		else
			dashes = !strcmp(s, "--");
	}
	profile_set_meta(r->p, "command", after.len ? strbuf_str(&after) : strbuf_str(&all));
	profile_set_meta(r->p, "perf_command", strbuf_str(&all));
	strbuf_release(&all);
	strbuf_release(&after);
}

/* The name of event idx: nr, attr size, then per event the attr, the
 * number of ids, the name and the ids. */
static void feature_event_desc(struct reader *r, const uint8_t *b, uint64_t len, uint32_t idx)
{
	if (len < 8)
		return;
	uint32_t n = get_u32(b), asz = get_u32(b + 4);
	uint64_t pos = 8;
	for (uint32_t i = 0; i < n && i <= idx; i++) {
		if (len - pos < (uint64_t)asz + 4)
			return;
		pos += asz;
		uint32_t nids = get_u32(b + pos);
		pos += 4;
		const char *name = take_string(b, len, &pos);
		if (!name || (len - pos) / 8 < nids)
			return;
		pos += nids * 8ull;
		if (i == idx)
			snprintf(r->info->event, sizeof(r->info->event), "%s", name);
	}
}

static void read_features(struct reader *r, const uint64_t bits[4], uint64_t at, char *host, size_t nhost,
                          char *release, size_t nrel)
{
	uint32_t n = 0;
	for (int i = 0; i < 4; i++)
		n += (uint32_t)__builtin_popcountll(bits[i]);
	struct section idx = {at, n * (uint64_t)sizeof(struct section)};
	uint8_t *secs;
	if (!n || src_copy(&r->src, idx, 256 * sizeof(struct section), &secs))
		return; /* the features are optional: a file without them still reads */
	uint32_t k = 0;
	for (int bit = 0; bit < 256; bit++) {
		if (!(bits[bit / 64] >> (bit % 64) & 1))
			continue;
		struct section s = {get_u64(secs + k * 16), get_u64(secs + k * 16 + 8)};
		k++;
		if (bit != FEAT_BUILD_ID && bit != FEAT_HOSTNAME && bit != FEAT_OSRELEASE && bit != FEAT_CMDLINE &&
		    bit != FEAT_EVENT_DESC)
			continue;
		uint8_t *b;
		if (src_copy(&r->src, s, MAX_FEATURE, &b))
			continue;
		uint64_t pos = 0;
		const char *str;
		switch (bit) {
		case FEAT_BUILD_ID:
			feature_build_ids(r, b, s.size);
			break;
		case FEAT_HOSTNAME:
			if ((str = take_string(b, s.size, &pos)))
				snprintf(host, nhost, "%s", str);
			break;
		case FEAT_OSRELEASE:
			if ((str = take_string(b, s.size, &pos)))
				snprintf(release, nrel, "%s", str);
			break;
		case FEAT_CMDLINE:
			feature_cmdline(r, b, s.size);
			break;
		case FEAT_EVENT_DESC:
			feature_event_desc(r, b, s.size, r->main);
			break;
		}
		free(b);
	}
	free(secs);
}

/* ---- records ---- */

/* Which event a record belongs to, from its sample id. */
static uint32_t attr_of(struct reader *r, const uint8_t *rec, uint16_t size, bool sample)
{
	if (r->nattrs == 1)
		return 0;
	uint64_t st = r->attrs[0].a.sample_type, id, pos;
	if (sample) {
		/* IDENTIFIER first; else ID after ip, tid, time and addr */
		if (st & PERF_SAMPLE_IDENTIFIER)
			pos = 0;
		else if (st & PERF_SAMPLE_ID)
			pos = (uint64_t)__builtin_popcountll(
			    st & (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR));
		else
			return 0;
		if (8 + pos * 8 + 8 > size)
			return UINT32_MAX;
		id = get_u64(rec + 8 + pos * 8);
	} else {
		/* the trailer ends with IDENTIFIER; else ID before stream id and cpu */
		if (!r->attrs[0].a.sample_id_all)
			return 0;
		if (st & PERF_SAMPLE_IDENTIFIER)
			pos = 1;
		else if (st & PERF_SAMPLE_ID)
			pos = 1 + (uint64_t)__builtin_popcountll(st & (PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU));
		else
			return 0;
		if (8 + pos * 8 > size)
			return UINT32_MAX;
		id = get_u64(rec + size - pos * 8);
	}
	uint64_t v;
	return hashmap_get(&r->id_map, id, &v) ? (uint32_t)v : UINT32_MAX;
}

/* Reads the sample_id_all trailer of a non-sample record of event a; the
 * body is what comes before it. False when it does not fit. */
static bool take_trailer(const struct attr *a, const uint8_t *rec, uint16_t size, struct ids *ids, uint16_t *body)
{
	memset(ids, 0, sizeof(*ids));
	uint64_t st = a->a.sample_type;
	uint64_t n = a->a.sample_id_all ? 8 * (uint64_t)__builtin_popcountll(st & ID_FIELDS) : 0;
	if (n + 8 > size)
		return false;
	*body = (uint16_t)(size - n);
	const uint8_t *t = rec + *body;
	if (st & PERF_SAMPLE_TID && a->a.sample_id_all) {
		ids->pid = get_u32(t);
		ids->tid = get_u32(t + 4);
		t += 8;
	}
	if (st & PERF_SAMPLE_TIME && a->a.sample_id_all)
		ids->time = get_u64(t);
	return true;
}

/* Appends the recorder's trailer (pid, tid, time, cpu, res) at out + *at. */
static void put_trailer(struct reader *r, size_t *at, const struct ids *ids)
{
	uint8_t *o = (uint8_t *)r->out;
	uint32_t w[2] = {ids->pid, ids->tid};
	memcpy(o + *at, w, 8);
	memcpy(o + *at + 8, &ids->time, 8);
	memset(o + *at + 16, 0, 8);
	*at += 24;
}

static void feed(struct reader *r, uint32_t type, uint16_t misc, size_t size)
{
	struct perf_event_header *h = (struct perf_event_header *)r->out;
	h->type = type;
	h->misc = misc;
	h->size = (uint16_t)size;
	recorder_feed(r->rec, h);
}

/* The file to open for a binary perf saw at path: path itself when its
 * build-id is the recorded one (or none was recorded), else perf's cached
 * copy when there is one. A path that names something other than a
 * regular file (a FIFO would block the unwinder's open) is renamed so
 * that nothing opens it. Sets *bid to the recorded build-id (0: none). */
static const char *binary_path(struct reader *r, const char *path, uint32_t *bid)
{
	uint32_t pid = profile_intern(r->p, path);
	uint64_t v;
	*bid = hashmap_get(&r->build_ids, pid, &v) ? (uint32_t)v : 0;
	if (hashmap_get(&r->path_cache, pid, &v))
		return profile_str(r->p, (uint32_t)v);
	uint32_t use = pid;
	struct stat st;
	char buf[4200];
	if (path[0] == '/' && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(buf, sizeof(buf), "[not a file]%s", path);
		use = profile_intern(r->p, buf);
	} else if (*bid) {
		const char *want = profile_str(r->p, *bid);
		char have[129];
		if (symbols_file_build_id(path, have, sizeof(have)) != 1 || strcmp(have, want) != 0) {
			const char *dir = getenv("PERF_BUILDID_DIR"), *home = getenv("HOME");
			if (dir && *dir)
				snprintf(buf, sizeof(buf), "%s/.build-id/%.2s/%s/elf", dir, want, want + 2);
			else
				snprintf(buf, sizeof(buf), "%s/.debug/.build-id/%.2s/%s/elf", home ? home : "", want,
				         want + 2);
			if ((dir || home) && stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
				use = profile_intern(r->p, buf);
				r->info->from_cache++;
			}
		}
	}
	hashmap_put(&r->path_cache, pid, use);
	return profile_str(r->p, use);
}

/* MMAP and MMAP2 into the recorder's MMAP2 (kernel maps, pid -1, are
 * named from kallsyms instead). */
static bool do_mmap(struct reader *r, const struct attr *a, const uint8_t *rec, uint16_t size, uint16_t in_misc,
                    bool v2)
{
	struct ids ids;
	uint16_t body;
	size_t fixed = 8 + 8 + 24 + (v2 ? 32 : 0);
	if (!take_trailer(a, rec, size, &ids, &body) || body < fixed + 1)
		return false;
	const char *name = (const char *)rec + fixed;
	if (!memchr(name, '\0', body - fixed))
		return false;
	uint32_t pid = get_u32(rec + 8);
	if (pid == UINT32_MAX) {
		/* perf names the kernel's map after the symbol its pgoff holds */
		if (!strcmp(name, "[kernel.kallsyms]_text"))
			r->kernel_text = get_u64(rec + 32);
		return true;
	}
	if (!a->a.sample_id_all || !(a->a.sample_type & PERF_SAMPLE_TID))
		ids.pid = pid;
	ids.tid = get_u32(rec + 12);
	uint32_t bid;
	const char *path = binary_path(r, name, &bid);
	uint8_t *o = (uint8_t *)r->out;
	uint16_t misc = 0;
	memcpy(o + 8, rec + 8, 8 + 24); /* pid, tid, addr, len, pgoff */
	memset(o + 40, 0, 32);          /* the device and inode, or the build-id */
	if (v2)
		memcpy(o + 40 + 24, rec + 40 + 24, 8); /* prot, flags */
	if (bid) {
		const char *hex = profile_str(r->p, bid);
		size_t n = strlen(hex) / 2;
		o[40] = (uint8_t)n;
		for (size_t i = 0; i < n; i++) {
			unsigned x;
			sscanf(hex + 2 * i, "%2x", &x);
			o[44 + i] = (uint8_t)x;
		}
		misc |= PERF_RECORD_MISC_MMAP_BUILD_ID;
	} else if (v2 && (in_misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
		memcpy(o + 40, rec + 40, 24); /* perf record --buildid-mmap */
		misc |= PERF_RECORD_MISC_MMAP_BUILD_ID;
	}
	size_t at = 72, len = strlen(path) + 1;
	if (len > 4096)
		return false;
	memcpy(o + at, path, len);
	memset(o + at + len, 0, 8);
	at += (len + 7) & ~(size_t)7;
	put_trailer(r, &at, &ids);
	feed(r, PERF_RECORD_MMAP2, misc, at);
	return true;
}

static bool do_comm(struct reader *r, const struct attr *a, const uint8_t *rec, uint16_t size, uint16_t misc)
{
	struct ids ids;
	uint16_t body;
	if (!take_trailer(a, rec, size, &ids, &body) || body < 8 + 8 + 1 || !memchr(rec + 16, '\0', body - 16u))
		return false;
	uint8_t *o = (uint8_t *)r->out;
	size_t len = strlen((const char *)rec + 16) + 1, at = 16 + ((len + 7) & ~(size_t)7);
	memcpy(o + 8, rec + 8, 8);
	memset(o + 16, 0, at - 16);
	memcpy(o + 16, rec + 16, len);
	put_trailer(r, &at, &ids);
	feed(r, PERF_RECORD_COMM, misc & PERF_RECORD_MISC_COMM_EXEC, at);
	return true;
}

/* FORK, EXIT, LOST and LOST_SAMPLES: the recorder reads their bodies only. */
static bool do_plain(struct reader *r, uint32_t type, const uint8_t *rec, uint16_t size, size_t body)
{
	if (size < 8 + body)
		return false;
	memcpy((uint8_t *)r->out + 8, rec + 8, body);
	feed(r, type, 0, 8 + body);
	return true;
}

/* A sample's fields, as sample_type lays them out. */
struct sample {
	struct ids ids;
	uint64_t ip, period, nr;
	const uint8_t *chain;
	uint64_t abi, nregs, stack_size, dyn_size;
	const uint8_t *regs, *stack;
};

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t cur_u64(struct cursor *c)
{
	if (c->end - c->p < 8) {
		c->bad = true;
		return 0;
	}
	uint64_t v = get_u64(c->p);
	c->p += 8;
	return v;
}

static const uint8_t *cur_skip(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *b = c->p;
	c->p += n;
	return b;
}

static bool parse_sample(const struct attr *at, const uint8_t *rec, uint16_t size, struct sample *s)
{
	const struct perf_event_attr *a = &at->a;
	uint64_t st = a->sample_type;
	struct cursor c = {rec + 8, rec + size, false};
	memset(s, 0, sizeof(*s));
	s->period = a->freq ? 1 : a->sample_period;
	if (st & PERF_SAMPLE_IDENTIFIER)
		cur_u64(&c);
	if (st & PERF_SAMPLE_IP)
		s->ip = cur_u64(&c);
	if (st & PERF_SAMPLE_TID) {
		uint64_t v = cur_u64(&c);
		s->ids.pid = (uint32_t)v;
		s->ids.tid = (uint32_t)(v >> 32);
	}
	if (st & PERF_SAMPLE_TIME)
		s->ids.time = cur_u64(&c);
	if (st & PERF_SAMPLE_ADDR)
		cur_u64(&c);
	if (st & PERF_SAMPLE_ID)
		cur_u64(&c);
	if (st & PERF_SAMPLE_STREAM_ID)
		cur_u64(&c);
	if (st & PERF_SAMPLE_CPU)
		s->ids.cpu = (uint32_t)cur_u64(&c);
	if (st & PERF_SAMPLE_PERIOD)
		s->period = cur_u64(&c);
	if (st & PERF_SAMPLE_READ) {
		if (a->read_format & PERF_FORMAT_GROUP) {
			uint64_t nr = cur_u64(&c), f = a->read_format;
			uint64_t times =
			    (f & PERF_FORMAT_TOTAL_TIME_ENABLED ? 8 : 0) + (f & PERF_FORMAT_TOTAL_TIME_RUNNING ? 8 : 0);
			uint64_t per = 8 + (f & PERF_FORMAT_ID ? 8 : 0) + (f & PERF_FORMAT_LOST ? 8 : 0);
			if (nr > REC_MAX / 8)
				return false;
			cur_skip(&c, times + nr * per);
		} else {
			cur_skip(&c, at->read_size);
		}
	}
	if (st & PERF_SAMPLE_CALLCHAIN) {
		s->nr = cur_u64(&c);
		if (s->nr > REC_MAX / 8)
			return false;
		s->chain = cur_skip(&c, s->nr * 8);
	}
	if (st & PERF_SAMPLE_RAW) {
		const uint8_t *b = cur_skip(&c, 4);
		if (b)
			cur_skip(&c, get_u32(b));
	}
	if (st & PERF_SAMPLE_BRANCH_STACK) {
		uint64_t nr = cur_u64(&c);
		if (nr > REC_MAX / 24)
			return false;
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX)
			cur_u64(&c);
		cur_skip(&c, nr * 24);
	}
	if (st & PERF_SAMPLE_REGS_USER) {
		s->abi = cur_u64(&c);
		if (s->abi) {
			s->nregs = (uint64_t)__builtin_popcountll(a->sample_regs_user);
			s->regs = cur_skip(&c, s->nregs * 8);
		}
	}
	if (st & PERF_SAMPLE_STACK_USER) {
		s->stack_size = cur_u64(&c);
		if (s->stack_size) {
			s->stack = cur_skip(&c, s->stack_size);
			s->dyn_size = cur_u64(&c);
		}
	}
	return !c.bad;
}

/* Hands a sample of the event read to the recorder, decoded: its stack
 * copy is read where it lies in the file, not copied. */
static bool do_sample(struct reader *r, const uint8_t *rec, uint16_t size, uint16_t misc)
{
	struct sample s;
	if (!parse_sample(&r->attrs[r->main], rec, size, &s))
		return false;
	/* the limits of the recorder's own record (64 KiB), which the
	 * sample must keep to: the fields it adds (cpu, period) come off the
	 * stack copy's end */
	size_t i = 1 + 6 + s.nr; /* header, ip .. nr, chain */
	if (7 + s.nr + 1 + s.nregs + 3 > (REC_MAX - 8) / 8)
		return false;
	struct recorder_sample rs = {
	    .misc = misc,
	    .pid = s.ids.pid,
	    .tid = s.ids.tid,
	    .ip = s.ip,
	    .time = s.ids.time,
	    .cpu = s.ids.cpu,
	    .period = s.period,
	    .nr = s.nr,
	    .chain = s.chain,
	};
	if (r->info->dwarf) {
		rs.abi = s.regs ? s.abi : 0;
		rs.regs = s.regs;
		i += 1 + (s.regs ? s.nregs : 0);
		uint64_t room = (REC_MAX - 8) / 8 - i - 2;
		uint64_t words = s.stack_size / 8 < room ? s.stack_size / 8 : room;
		rs.stack_size = words * 8;
		rs.stack = words ? s.stack : NULL;
		rs.dyn_size = words ? (s.dyn_size < words * 8 ? s.dyn_size : words * 8) : 0;
		i += 1 + (words ? words + 1 : 0);
	}
	if (i * 8 >= REC_MAX)
		return false;
	if (s.ids.time) {
		if (!r->first_time || s.ids.time < r->first_time)
			r->first_time = s.ids.time;
		if (s.ids.time > r->last_time)
			r->last_time = s.ids.time;
	}
	recorder_feed_sample(r->rec, &rs);
	return true;
}

/* Handles one record in pass 0 (side-band) or 1 (samples). */
static void do_record(struct reader *r, const uint8_t *rec, int pass)
{
	struct perf_event_header h;
	memcpy(&h, rec, sizeof(h));
	bool sample = h.type == PERF_RECORD_SAMPLE;
	if (sample != (pass == 1) || (h.type >= PERF_RECORD_MAX && !sample))
		return;
	uint32_t ai = attr_of(r, rec, h.size, sample);
	if (sample && ai != r->main) {
		r->info->other_samples++;
		return;
	}
	const struct attr *a = &r->attrs[ai < r->nattrs ? ai : 0];
	bool ok = true;
	switch (h.type) {
	case PERF_RECORD_SAMPLE:
		ok = do_sample(r, rec, h.size, h.misc);
		break;
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		ok = do_mmap(r, a, rec, h.size, h.misc, h.type == PERF_RECORD_MMAP2);
		break;
	case PERF_RECORD_COMM:
		ok = do_comm(r, a, rec, h.size, h.misc);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		ok = do_plain(r, h.type, rec, h.size, 24);
		break;
	case PERF_RECORD_LOST:
		ok = do_plain(r, h.type, rec, h.size, 16);
		break;
	case PERF_RECORD_LOST_SAMPLES:
		ok = do_plain(r, h.type, rec, h.size, 8);
		break;
	default:
		break;
	}
	if (!ok)
		r->info->skipped++;
}

/* Checks the record at off (end: where the data section ends) and sets its
 * size and how far the next one is. */
static int record_at(struct reader *r, uint64_t off, uint64_t end, const uint8_t **rec, uint64_t *next)
{
	if (end - off < 8)
		return fail(r, -EBADMSG, off, "a record is cut short by the end of the data section");
	int rc = src_view(&r->src, off, 8, rec);
	if (rc)
		return rc;
	struct perf_event_header h;
	memcpy(&h, *rec, sizeof(h));
	if (h.size < 8)
		return fail(r, -EBADMSG, off, "a record of type %" PRIu32 " has size %u", h.type, h.size);
	if (h.size > end - off)
		return fail(r, -EBADMSG, off, "a record of %u bytes runs past the end of the data section", h.size);
	*next = off + h.size;
	if (h.type == REC_AUXTRACE) {
		/* its trace data follows the record, outside header.size */
		if (h.size < 16)
			return fail(r, -EBADMSG, off, "an AUXTRACE record has size %u", h.size);
		rc = src_view(&r->src, off, h.size, rec);
		if (rc)
			return rc;
		uint64_t aux = get_u64(*rec + 8);
		if (aux > end - *next)
			return fail(r, -EBADMSG, off, "AUXTRACE data of %" PRIu64 " bytes runs past the data section",
			            aux);
		*next += aux;
	}
	return src_view(&r->src, off, h.size, rec);
}

/* Decompresses a COMPRESSED (perf record -z) record at file offset off
 * onto the end of r->z: one zstd stream runs through all of them, and a
 * record may continue in the next one. */
static int inflate_record(struct reader *r, const uint8_t *rec, uint64_t off)
{
	struct perf_event_header h;
	memcpy(&h, rec, sizeof(h));
	size_t hdr = h.type == REC_COMPRESSED2 ? 16 : 8;
	if (h.size < hdr)
		return fail(r, -EBADMSG, off, "a compressed record has size %u", h.size);
	size_t n = h.size - hdr;
	if (h.type == REC_COMPRESSED2 && get_u64(rec + 8) < n)
		n = (size_t)get_u64(rec + 8); /* the rest is padding */
	if (!r->zs) {
		r->zs = ZSTD_createDStream();
		if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs)))
			return -ENOMEM;
	}
	ZSTD_inBuffer in = {rec + hdr, n, 0};
	while (in.pos < in.size) {
		if (r->z_cap - r->z_len < (1u << 20)) {
			if (r->z_cap >= Z_MAX)
				return fail(r, -EBADMSG, off,
				            "a round of compressed records decompresses to more than %u MiB",
				            Z_MAX >> 20);
			r->z_cap = r->z_cap ? r->z_cap * 2 : 4u << 20;
			r->z = xrealloc(r->z, r->z_cap);
		}
		ZSTD_outBuffer out = {r->z + r->z_len, r->z_cap - r->z_len, 0};
		size_t before = in.pos;
		size_t rc = ZSTD_decompressStream(r->zs, &out, &in);
		if (ZSTD_isError(rc))
			return fail(r, -EBADMSG, off, "a compressed record does not decompress (%s)",
			            ZSTD_getErrorName(rc));
		r->z_len += out.pos;
		if (!out.pos && in.pos == before && out.size)
			break; /* no progress: the rest is not zstd data */
	}
	return 0;
}

/* Runs both passes over the whole records decompressed so far and keeps
 * a cut last one for the next round. */
static int inflated_records(struct reader *r, uint64_t off)
{
	size_t pos = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (pos = 0; r->z_len - pos >= 8;) {
			struct perf_event_header h;
			memcpy(&h, r->z + pos, sizeof(h));
			if (h.size < 8)
				return fail(r, -EBADMSG, off, "a compressed record of type %" PRIu32 " has size %u",
				            h.type, h.size);
			if (h.size > r->z_len - pos)
				break;
			if (h.type != REC_COMPRESSED && h.type != REC_COMPRESSED2 && h.type != REC_AUXTRACE)
				do_record(r, r->z + pos, pass);
			pos += h.size;
		}
	}
	if (pos) { /* r->z is NULL until something was inflated */
		memmove(r->z, r->z + pos, r->z_len - pos);
		r->z_len -= pos;
	}
	return 0;
}

static int read_data(struct reader *r, uint64_t start, uint64_t end)
{
	uint64_t round = start;
	while (round < end) {
		/* find the round's end, handling side-band records on the way */
		uint64_t off = round, next = 0;
		const uint8_t *rec;
		bool finished = false, inflated = false;
		while (off < end && !finished) {
			int rc = record_at(r, off, end, &rec, &next);
			if (rc)
				return rc;
			uint32_t type = get_u32(rec);
			finished = type == REC_FINISHED_ROUND;
			if (type == REC_COMPRESSED || type == REC_COMPRESSED2) {
				rc = inflate_record(r, rec, off);
				if (rc)
					return rc;
				inflated = true;
			} else {
				do_record(r, rec, 0);
			}
			off = next;
		}
		if (inflated) {
			int rc = inflated_records(r, round);
			if (rc)
				return rc;
		}
		for (uint64_t s = round; s < off; s = next) {
			int rc = record_at(r, s, end, &rec, &next);
			if (rc)
				return rc;
			do_record(r, rec, 1);
		}
		round = off;
	}
	if (r->z_len)
		r->info->skipped++; /* a compressed record cut by the end */
	return 0;
}

/* ---- the whole file ---- */

static bool is_clock(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE &&
	       (a->config == PERF_COUNT_SW_CPU_CLOCK || a->config == PERF_COUNT_SW_TASK_CLOCK);
}

/* An event name for a file without HEADER_EVENT_DESC. */
static void default_event_name(const struct perf_event_attr *a, char *buf, size_t n)
{
	static const char *const hw[] = {"cycles",   "instructions",  "cache-references", "cache-misses",
	                                 "branches", "branch-misses", "bus-cycles"};
	static const char *const sw[] = {"cpu-clock", "task-clock", "page-faults", "context-switches",
	                                 "cpu-migrations"};
	if (a->type == PERF_TYPE_HARDWARE && a->config < sizeof(hw) / sizeof(hw[0]))
		snprintf(buf, n, "%s", hw[a->config]);
	else if (a->type == PERF_TYPE_SOFTWARE && a->config < sizeof(sw) / sizeof(sw[0]))
		snprintf(buf, n, "%s", sw[a->config]);
	else
		snprintf(buf, n, "event %" PRIu32 ":0x%" PRIx64, a->type, (uint64_t)a->config);
}

/* perf appends modifiers (cpu-clock:pppH); a tracepoint's ':' stays. */
static void strip_modifiers(char *name)
{
	char *c = strrchr(name, ':');
	if (c && c[1] && strspn(c + 1, "ukhpPGHISDW") == strlen(c + 1))
		*c = '\0';
}

/* Kernel frames recorded on another machine: kallsyms here would name
 * them wrongly, so they keep their addresses. */
static void name_foreign_kernel(struct profile *p)
{
	uint32_t kmod = profile_intern(p, "[kernel.kallsyms]");
	for (size_t i = 0; i < p->locations.n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		if (l->kind != PROFILE_LOC_KERNEL || l->nframes)
			continue;
		char buf[64];
		profile_addr_name(buf, sizeof(buf), "[kernel.kallsyms]", l->address);
		struct profile_frame f = {.function = profile_intern(p, buf), .module = kmod};
		profile_set_location_frames(p, (uint32_t)i, &f, 1);
	}
}

static int read_header(struct reader *r, uint64_t *bits, struct section *data, uint64_t *attr_size,
                       struct section *attrs)
{
	uint8_t h[HEADER_SIZE];
	size_t n = r->src.size < HEADER_SIZE ? (size_t)r->src.size : HEADER_SIZE;
	int rc = r->src.mem ? (memcpy(h, r->src.mem, n), 0) : pread_full(r->src.fd, h, n, 0);
	if (rc)
		return rc;
	if (!perf_data_sniff(h, n))
		return -ENOMSG;
	if (n < 16)
		return fail(r, -EBADMSG, 0, "the file ends inside its %u-byte header", HEADER_SIZE);
	if (!memcmp(h, "PERFFILE", 8))
		return fail(r, -EPROTONOSUPPORT, 0,
		            "it is in perf's first format (PERFFILE), which kiln does not read");
	if (!memcmp(h, "2ELIFREP", 8))
		return fail(r, -EPROTONOSUPPORT, 0, "it was written on a machine of the other byte order");
	uint64_t hsize = get_u64(h + 8);
	if (hsize == PIPE_HEADER_SIZE)
		return fail(r, -EPROTONOSUPPORT, 8,
		            "it is in pipe mode (perf record -o -); write a file with 'perf record -o FILE' or "
		            "'perf inject -i FILE -o FILE.data'");
	if (n < HEADER_SIZE)
		return fail(r, -EBADMSG, 0, "the file ends inside its %u-byte header", HEADER_SIZE);
	if (hsize != HEADER_SIZE)
		return fail(r, -EBADMSG, 8, "bad header size %" PRIu64, hsize);
	*attr_size = get_u64(h + 16);
	*attrs = (struct section){get_u64(h + 24), get_u64(h + 32)};
	*data = (struct section){get_u64(h + 40), get_u64(h + 48)};
	memcpy(bits, h + 72, 32);
	if (data->offset < HEADER_SIZE || data->offset > r->src.size)
		return fail(r, -EBADMSG, 40,
		            "the data section starts at %" PRIu64 ", outside the file (%" PRIu64 " bytes)",
		            data->offset, r->src.size);
	if (data->size == 0 && r->src.size > data->offset) {
		/* perf record was killed before it wrote the header: the
		 * records run to the end of the file, the features are gone */
		data->size = r->src.size - data->offset;
		memset(bits, 0, 32);
		r->info->cut_short = true;
	} else if (data->size > r->src.size - data->offset) {
		return fail(r, -EBADMSG, 48,
		            "the data section ends at %" PRIu64 ", past the end of the file (%" PRIu64
		            " bytes): the file is cut short",
		            data->offset + data->size, r->src.size);
	}
	return 0;
}

static void set_meta(struct reader *r, const char *host, const char *release)
{
	struct profile *p = r->p;
	const struct perf_event_attr *a = &r->attrs[r->main].a;
	profile_set_meta(p, "source", "perf.data");
	profile_set_meta(p, "event", r->info->event);
	if (a->freq)
		profile_set_meta_u64(p, "frequency", a->sample_freq);
	else
		profile_set_meta_u64(p, "period", a->sample_period);
	profile_set_meta(p, "call_graph", r->info->dwarf ? "dwarf" : "fp");
	if (r->info->dwarf)
		profile_set_meta_u64(p, "stack_size", a->sample_stack_user);
	if (*host)
		profile_set_meta(p, "hostname", host);
	if (*release)
		profile_set_meta(p, "kernel", release);
	if (r->last_time > r->first_time)
		profile_set_meta_u64(p, "duration_ns", r->last_time - r->first_time);
	const struct recorder_stats *st = &r->info->st;
	profile_set_meta_u64(p, "samples", st->samples);
	profile_set_meta_u64(p, "lost_samples", st->lost);
	profile_set_meta_u64(p, "truncated_stacks", st->truncated);
	profile_set_meta_u64(p, "stack_not_copied", st->not_copied);
	profile_set_meta_u64(p, "exec_cut_stacks", st->exec_cut);
	profile_set_meta_u64(p, "unwind_errors", st->unwind_errors);
	profile_set_meta(p, "kernel_stacks", a->exclude_kernel || a->exclude_callchain_kernel ? "no" : "yes");
}

/* Recorded on this host and kernel, and this boot as far as can be told:
 * KASLR moves the kernel at every boot, and kallsyms names addresses of
 * this boot only. */
static bool this_machine(struct reader *r, const char *host, const char *release)
{
	struct utsname u;
	if (!*host || !*release || uname(&u) != 0 || strcmp(u.nodename, host) || strcmp(u.release, release))
		return false;
	uint64_t text;
	if (r->kernel_text && symbols_kernel_text(&text) == 0 && text != r->kernel_text) {
		r->info->kernel_moved = true;
		return false;
	}
	return true;
}

/* perf record keeps a copy of /proc/kallsyms in its build-id cache, under
 * the kernel's build-id: reading that file is what the kernel's formatting
 * of /proc/kallsyms costs most of a small report, and it is the table of
 * when the file was recorded. */
static void cached_kallsyms(struct reader *r)
{
	uint64_t bid;
	if (!hashmap_get(&r->build_ids, profile_intern(r->p, "[kernel.kallsyms]"), &bid))
		return;
	const char *dir = getenv("PERF_BUILDID_DIR"), *home = getenv("HOME");
	char buf[sizeof(r->info->kallsyms)];
	if (dir && *dir)
		snprintf(buf, sizeof(buf), "%s/[kernel.kallsyms]/%s/kallsyms", dir, profile_str(r->p, (uint32_t)bid));
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.debug/[kernel.kallsyms]/%s/kallsyms", home,
		         profile_str(r->p, (uint32_t)bid));
	else
		return;
	struct stat st;
	if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
		snprintf(r->info->kallsyms, sizeof(r->info->kallsyms), "%s", buf);
}

static int read_all(struct reader *r, struct profile **out)
{
	uint64_t bits[4] = {0}, attr_size = 0;
	struct section data = {0, 0}, attrs = {0, 0};
	char host[256] = "", release[256] = "";
	int rc = read_header(r, bits, &data, &attr_size, &attrs);
	if (rc)
		return rc;
	r->p = profile_new();
	rc = read_attrs(r, attr_size, attrs);
	if (rc)
		return rc;
	r->main = UINT32_MAX;
	for (uint32_t i = 0; i < r->nattrs && r->main == UINT32_MAX; i++)
		if (!is_dummy(&r->attrs[i].a))
			r->main = i;
	if (r->main == UINT32_MAX)
		return fail(r, -EBADMSG, attrs.offset, "it holds no sampling event, only perf's dummy events");
	const struct perf_event_attr *a = &r->attrs[r->main].a;
	uint64_t both = PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	r->info->dwarf = (a->sample_type & both) == both;
	if (r->info->dwarf && !a->sample_regs_user)
		return fail(r, -EBADMSG, attrs.offset, "DWARF samples without user registers");
	read_features(r, bits, data.offset + data.size, host, sizeof(host), release, sizeof(release));
	if (!r->info->event[0])
		default_event_name(a, r->info->event, sizeof(r->info->event));
	strip_modifiers(r->info->event);

	profile_add_value_type(r->p, "samples", "count");
	if (is_clock(a))
		profile_add_value_type(r->p, "cpu", "nanoseconds");
	else
		profile_add_value_type(r->p, r->info->event, "events");
	struct recorder_options ro = {
	    .call_graph = r->info->dwarf ? CALL_GRAPH_DWARF : CALL_GRAPH_FP,
	    .stack_size = a->sample_stack_user,
	    .kernel = !a->exclude_kernel,
	    .regs_mask = r->info->dwarf ? a->sample_regs_user : 0,
	    .replay = true,
	};
	r->rec = recorder_new(r->p, &ro);
	rc = read_data(r, data.offset, data.offset + data.size);
	if (rc)
		return rc;
	recorder_get_stats(r->rec, &r->info->st);
	/* after the data: the kernel's MMAP record says where it was */
	r->info->same_machine = this_machine(r, host, release);
	if (r->info->same_machine)
		cached_kallsyms(r);
	set_meta(r, host, release);
	if (!r->info->same_machine)
		name_foreign_kernel(r->p);
	*out = r->p;
	r->p = NULL;
	return 0;
}

static int read_source(struct source *src, struct profile **out, struct perf_data_info *info)
{
	struct perf_data_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	struct reader *r = xcalloc(1, sizeof(*r));
	r->src = *src;
	r->info = info;
	hashmap_init(&r->id_map);
	hashmap_init(&r->build_ids);
	hashmap_init(&r->path_cache);
	int rc = read_all(r, out);
	if (r->rec && rc)
		recorder_get_stats(r->rec, &info->st);
	recorder_free(r->rec);
	profile_free(r->p);
	free(r->attrs);
	free(r->src.win);
	free(r->z);
	ZSTD_freeDStream(r->zs);
	hashmap_release(&r->id_map);
	hashmap_release(&r->build_ids);
	hashmap_release(&r->path_cache);
	free(r);
	return rc;
}

int perf_data_read_fd(int fd, struct profile **out, struct perf_data_info *info)
{
	struct stat st;
	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return -ESPIPE;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	struct source src = {.fd = fd, .size = (uint64_t)st.st_size};
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= MAP_WHOLE_MAX) {
		/* mapped, as perf report maps it: copying a DWARF recording's
		 * tens of MB through the read window was a fifth of reading it;
		 * a larger file goes through the window, so that reading a
		 * recording of gigabytes keeps kiln's memory small */
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m != MAP_FAILED) {
			src.mem = m;
			int rc = read_source(&src, out, info);
			munmap(m, (size_t)st.st_size);
			return rc;
		}
	}
	return read_source(&src, out, info);
}

int perf_data_read_mem(const void *data, size_t size, struct profile **out, struct perf_data_info *info)
{
	struct source src = {.fd = -1, .mem = data ? data : (const void *)"", .size = size};
	return read_source(&src, out, info);
}
