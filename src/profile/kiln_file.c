/* kiln_file.c - writing and reading the .kiln container (docs/file-format.md).
 *
 * A file is a 32-byte header followed by chunks. Each chunk is one write(2)
 * of a checksummed, usually zstd-compressed payload made of sections: runs
 * of records of one table. The writer appends only what the profile gained
 * since the last flush, in dependency order (strings before the records
 * naming them), so every prefix of whole chunks is a consistent profile.
 *
 * The reader trusts nothing: every count, size, index and reference is
 * checked against what was already read, decompression is capped per chunk
 * and per file, and a damaged or cut chunk ends the read with what came
 * before it.
 */
#include "profile/kiln_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "profile/crc32c.h"
#include "profile/kiln_format.h"
#include "util/hashmap.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define ZSTD_LEVEL       1
#define CHUNK_TARGET     (1u << 20)    /* start a new chunk past this many payload bytes */
#define SECTION_TARGET   (1u << 20)    /* split a section past this many body bytes */
#define RESERVE_SLACK    (1u << 16)    /* what a section's last record and headers add past a target */
#define STRING_MAX       (16u << 20)   /* longer strings are written cut to this */
#define FILE_BUDGET_BASE (16ull << 20) /* decompressed bytes any file may expand to... */
#define FILE_BUDGET_RATE 256ull        /* ...plus this many per byte of file */

typedef VEC(uint8_t) byte_vec;

/* ---- little-endian and varint encoding ---- */

static void le16(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
}

static void le32(uint8_t *p, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes x as a varint at out; returns the byte after it. */
static inline uint8_t *varint_put(uint8_t *out, uint64_t x)
{
	while (x >= 0x80) {
		*out++ = (uint8_t)x | 0x80;
		x >>= 7;
	}
	*out++ = (uint8_t)x;
	return out;
}

static size_t varint_encode(uint8_t *out, uint64_t x)
{
	return (size_t)(varint_put(out, x) - out);
}

static void put_u64(byte_vec *b, uint64_t x)
{
	vec_reserve(b, b->n + 10);
	b->n += varint_encode(b->v + b->n, x);
}

/* Records by the batch, for the big sections: room for n varints is made
 * once, and they are written through a plain pointer. */
#define VARINT_BATCH 4096

static uint8_t *varints_begin(byte_vec *b, size_t n)
{
	vec_reserve(b, b->n + n * 10);
	return b->v + b->n;
}

static void varints_end(byte_vec *b, const uint8_t *end)
{
	b->n = (size_t)(end - b->v);
}

static uint64_t zigzag(int64_t x)
{
	uint64_t u = (uint64_t)x;
	return (u << 1) ^ (0 - (u >> 63));
}

static int64_t unzigzag(uint64_t u)
{
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static void put_bytes(byte_vec *b, const void *data, size_t n)
{
	vec_reserve(b, b->n + n);
	memcpy(b->v + b->n, data, n);
	b->n += n;
}

void kiln_format_header(uint8_t *out)
{
	kiln_format_header_min(out, 1);
}

void kiln_format_header_min(uint8_t *out, uint16_t min_reader)
{
	memset(out, 0, KILN_HEADER_SIZE);
	memcpy(out, KILN_MAGIC, KILN_MAGIC_SIZE);
	le16(out + 8, KILN_FORMAT_VERSION);
	le16(out + 10, min_reader);
	le16(out + 12, KILN_HEADER_SIZE);
	le16(out + 14, 0);
	le32(out + 16, KILN_ENDIAN_MARK);
	le32(out + 20, 0); /* compat features */
	le32(out + 24, 0); /* incompat features */
	le32(out + 28, crc32c(out, 28));
}

void kiln_format_chunk_header(uint8_t *out, uint16_t type, uint16_t flags, uint32_t seq, uint32_t usize,
                              const void *payload, uint32_t csize)
{
	le32(out, KILN_CHUNK_MAGIC);
	le16(out + 4, type);
	le16(out + 6, flags);
	le32(out + 8, seq);
	le32(out + 12, usize);
	le32(out + 16, csize);
	le32(out + 20, crc32c(payload, csize));
	le32(out + 24, crc32c(out, 24));
}

/* ---- writer ---- */

struct kiln_writer {
	int fd;
	int err; /* sticky: after a failed write nothing more is appended */
	bool finished;
	uint32_t seq;  /* sequence number of the next chunk */
	uint64_t size; /* file size up to the last whole chunk */

	/* how much of each append-only table is in the file */
	uint32_t nstrings, nvalue_types, nmappings, nlocations, nstacks;
	size_t nsamples;
	/* threads and metadata change in place: what the file last said */
	VEC(struct profile_thread) threads;
	VEC(struct profile_meta) meta;
	VEC(size_t) series_points; /* per series: points already in the file */

	byte_vec payload; /* sections of the chunk being assembled */
	byte_vec body;    /* records of the section being assembled */
	byte_vec out;     /* chunk header + stored payload */
	ZSTD_CCtx *cctx;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Appends one chunk with one write(2), so a crash leaves at most one partial chunk. */
static int writer_emit(struct kiln_writer *w, uint16_t type)
{
	if (w->err)
		return w->err;
	size_t bound = ZSTD_compressBound(w->payload.n);
	vec_reserve(&w->out, KILN_CHUNK_HEADER_SIZE + bound);
	uint8_t *stored = w->out.v + KILN_CHUNK_HEADER_SIZE;
	uint16_t flags = KILN_CHUNK_RAW;
	size_t csize = w->payload.n;
	if (w->payload.n) {
		size_t z = ZSTD_compressCCtx(w->cctx, stored, bound, w->payload.v, w->payload.n, ZSTD_LEVEL);
		if (ZSTD_isError(z))
			return w->err = -EIO;
		if (z < w->payload.n) {
			flags = KILN_CHUNK_ZSTD;
			csize = z;
		} else {
			memcpy(stored, w->payload.v, w->payload.n);
		}
	}
	kiln_format_chunk_header(w->out.v, type, flags, w->seq, (uint32_t)w->payload.n, stored, (uint32_t)csize);
	size_t total = KILN_CHUNK_HEADER_SIZE + csize;
	int rc = write_all(w->fd, w->out.v, total);
	if (rc) {
		/* leave the file ending at a chunk boundary if we can */
		if (ftruncate(w->fd, (off_t)w->size) == 0)
			lseek(w->fd, (off_t)w->size, SEEK_SET);
		return w->err = rc;
	}
	w->size += total;
	w->seq++;
	w->payload.n = 0;
	return 0;
}

/* Moves the finished section body into the chunk payload, with its kind,
 * length and the leading fields (first id when has_first, record count). */
static int section_end(struct kiln_writer *w, enum kiln_section kind, bool has_first, uint64_t first, uint64_t count)
{
	uint8_t head[20];
	size_t hn = 0;
	if (has_first)
		hn += varint_encode(head + hn, first);
	hn += varint_encode(head + hn, count);
	uint8_t kb = (uint8_t)kind;
	put_bytes(&w->payload, &kb, 1);
	put_u64(&w->payload, hn + w->body.n);
	put_bytes(&w->payload, head, hn);
	put_bytes(&w->payload, w->body.v, w->body.n);
	w->body.n = 0;
	if (w->payload.n >= CHUNK_TARGET)
		return writer_emit(w, KILN_CHUNK_DATA);
	return 0;
}

static int write_strings(struct kiln_writer *w, const struct profile *p)
{
	uint32_t n = strtab_count(&p->strings), i = w->nstrings;
	while (i < n) {
		uint32_t first = i;
		for (; i < n && w->body.n < SECTION_TARGET; i++) {
			size_t len = p->strings.lens.v[i];
			if (len > STRING_MAX)
				len = STRING_MAX;
			put_u64(&w->body, len);
			put_bytes(&w->body, p->strings.strs.v[i], len);
		}
		int rc = section_end(w, KILN_SEC_STRINGS, true, first, i - first);
		if (rc)
			return rc;
	}
	w->nstrings = n;
	return 0;
}

/* The oldest reader that takes nvalues value types. */
static uint16_t min_reader_for(uint32_t nvalues)
{
	return nvalues > KILN_V2_MAX_VALUES ? 3 : nvalues > KILN_V1_MAX_VALUES ? 2 : 1;
}

static int write_value_types(struct kiln_writer *w, const struct profile *p)
{
	uint32_t n = (uint32_t)p->value_types.n;
	if (n <= w->nvalue_types)
		return 0;
	if (min_reader_for(n) > min_reader_for(w->nvalue_types)) {
		/* an older reader would call the file corrupt: tell it to
		 * say "newer kiln" instead (one write of the whole header) */
		uint8_t header[KILN_HEADER_SIZE];
		kiln_format_header_min(header, min_reader_for(n));
		if (pwrite(w->fd, header, sizeof(header), 0) != (ssize_t)sizeof(header))
			return errno ? -errno : -EIO;
	}
	for (uint32_t i = w->nvalue_types; i < n; i++) {
		put_u64(&w->body, p->value_types.v[i].type);
		put_u64(&w->body, p->value_types.v[i].unit);
	}
	int rc = section_end(w, KILN_SEC_VALUE_TYPES, true, w->nvalue_types, n - w->nvalue_types);
	w->nvalue_types = n;
	return rc;
}

/* Writes mappings [from, end): new ones while recording, all at the finish
 * (a build-id may have been filled in since). */
static int write_mappings(struct kiln_writer *w, const struct profile *p, uint32_t from)
{
	uint32_t n = (uint32_t)p->mappings.n, i = from;
	while (i < n) {
		uint32_t first = i;
		for (; i < n && w->body.n < SECTION_TARGET; i++) {
			const struct profile_mapping *m = &p->mappings.v[i];
			put_u64(&w->body, m->pid);
			put_u64(&w->body, m->start);
			put_u64(&w->body, m->end);
			put_u64(&w->body, m->pgoff);
			put_u64(&w->body, m->path);
			put_u64(&w->body, m->build_id);
			put_u64(&w->body, m->time);
		}
		int rc = section_end(w, KILN_SEC_MAPPINGS, true, first, i - first);
		if (rc)
			return rc;
	}
	w->nmappings = n;
	return 0;
}

static bool thread_equal(const struct profile_thread *a, const struct profile_thread *b)
{
	return a->tid == b->tid && a->pid == b->pid && a->name == b->name && a->start == b->start && a->end == b->end;
}

/* Writes the threads that are new or changed since the last write (all when full). */
static int write_threads(struct kiln_writer *w, const struct profile *p, bool full)
{
	size_t n = p->threads.n, count = 0;
	if (n < w->threads.n)
		full = true; /* someone shrank the table: say it all again */
	for (size_t i = 0; i < n; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		if (!full && i < w->threads.n && thread_equal(t, &w->threads.v[i]))
			continue;
		put_u64(&w->body, t->tid);
		put_u64(&w->body, t->pid);
		put_u64(&w->body, t->name);
		put_u64(&w->body, t->start);
		put_u64(&w->body, t->end);
		count++;
		if (w->body.n >= SECTION_TARGET) {
			int rc = section_end(w, KILN_SEC_THREADS, false, 0, count);
			if (rc)
				return rc;
			count = 0;
		}
	}
	if (count) {
		int rc = section_end(w, KILN_SEC_THREADS, false, 0, count);
		if (rc)
			return rc;
	}
	w->threads.n = 0;
	vec_reserve(&w->threads, n);
	if (n)
		memcpy(w->threads.v, p->threads.v, n * sizeof(*p->threads.v));
	w->threads.n = n;
	return 0;
}

static int write_meta(struct kiln_writer *w, const struct profile *p, bool full)
{
	size_t n = p->meta.n, count = 0;
	if (n < w->meta.n)
		full = true;
	for (size_t i = 0; i < n; i++) {
		const struct profile_meta *m = &p->meta.v[i];
		if (!full && i < w->meta.n && m->key == w->meta.v[i].key && m->value == w->meta.v[i].value)
			continue;
		put_u64(&w->body, m->key);
		put_u64(&w->body, m->value);
		count++;
	}
	if (count) {
		int rc = section_end(w, KILN_SEC_META, false, 0, count);
		if (rc)
			return rc;
	}
	w->meta.n = 0;
	vec_reserve(&w->meta, n);
	if (n)
		memcpy(w->meta.v, p->meta.v, n * sizeof(*p->meta.v));
	w->meta.n = n;
	return 0;
}

static int write_locations(struct kiln_writer *w, const struct profile *p)
{
	uint32_t n = (uint32_t)p->locations.n, i = w->nlocations;
	while (i < n) {
		uint32_t first = i;
		for (; i < n && w->body.n < SECTION_TARGET; i++) {
			const struct profile_location *l = &p->locations.v[i];
			uint8_t *o = varints_begin(&w->body, 3);
			o = varint_put(o, l->address);
			/* mapping + 1, so that "none" (UINT32_MAX) becomes a one-byte 0 */
			o = varint_put(o, l->mapping == PROFILE_NO_MAPPING ? 0 : (uint64_t)l->mapping + 1);
			o = varint_put(o, l->kind);
			varints_end(&w->body, o);
		}
		int rc = section_end(w, KILN_SEC_LOCATIONS, true, first, i - first);
		if (rc)
			return rc;
	}
	w->nlocations = n;
	return 0;
}

static int write_stacks(struct kiln_writer *w, const struct profile *p)
{
	uint32_t n = (uint32_t)p->stacks.n, i = w->nstacks;
	while (i < n) {
		uint32_t first = i;
		while (i < n && w->body.n < SECTION_TARGET) {
			uint32_t end = n - i < VARINT_BATCH ? n : i + VARINT_BATCH;
			uint8_t *o = varints_begin(&w->body, 2 * (size_t)(end - i)),
			        *limit = w->body.v + SECTION_TARGET;
			for (; i < end && o < limit; i++) {
				const struct profile_stack_node *s = &p->stacks.v[i];
				/* parents come before children: store the (small, positive) distance */
				o = varint_put(o, i - s->parent);
				o = varint_put(o, s->location);
			}
			varints_end(&w->body, o);
		}
		int rc = section_end(w, KILN_SEC_STACKS, true, first, i - first);
		if (rc)
			return rc;
	}
	w->nstacks = n;
	return 0;
}

static int write_samples(struct kiln_writer *w, const struct profile *p)
{
	size_t n = p->samples.n, i = w->nsamples;
	uint32_t nvalues = (uint32_t)(p->value_types.n < PROFILE_MAX_VALUES ? p->value_types.n : PROFILE_MAX_VALUES);
	while (i < n) {
		size_t first = i;
		uint64_t prev = 0;
		put_u64(&w->body, nvalues);
		while (i < n && w->body.n < SECTION_TARGET) {
			size_t end = n - i < VARINT_BATCH ? n : i + VARINT_BATCH;
			uint8_t *o = varints_begin(&w->body, (5 + nvalues) * (end - i)),
			        *limit = w->body.v + SECTION_TARGET;
			for (; i < end && o < limit; i++) {
				const struct profile_sample *s = &p->samples.v[i];
				o = varint_put(o, s->stack);
				o = varint_put(o, s->tid);
				o = varint_put(o, s->pid);
				o = varint_put(o, s->cpu);
				o = varint_put(
				    o, zigzag((int64_t)(s->time - prev))); /* samples come roughly in time order */
				prev = s->time;
				for (uint32_t v = 0; v < nvalues; v++)
					o = varint_put(o, zigzag(s->values[v]));
			}
			varints_end(&w->body, o);
		}
		int rc = section_end(w, KILN_SEC_SAMPLES, false, 0, i - first);
		if (rc)
			return rc;
	}
	w->nsamples = n;
	return 0;
}

static int write_frames(struct kiln_writer *w, const struct profile *p)
{
	size_t n = p->locations.n, count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		if (!l->nframes)
			continue;
		/* room for the record once, then plain stores: a call and a
		 * bounds check per number were 4% of kiln count's own work */
		uint8_t *o = varints_begin(&w->body, 2 + 5 * (size_t)l->nframes);
		o = varint_put(o, i);
		o = varint_put(o, l->nframes);
		for (uint32_t j = 0; j < l->nframes; j++) {
			const struct profile_frame *f = &p->frames.v[l->first_frame + j];
			o = varint_put(o, f->function);
			o = varint_put(o, f->file);
			o = varint_put(o, f->line);
			o = varint_put(o, f->module);
			o = varint_put(o, f->inlined ? 1 : 0);
		}
		varints_end(&w->body, o);
		count++;
		if (w->body.n >= SECTION_TARGET) {
			int rc = section_end(w, KILN_SEC_FRAMES, false, 0, count);
			if (rc)
				return rc;
			count = 0;
		}
	}
	if (count)
		return section_end(w, KILN_SEC_FRAMES, false, 0, count);
	return 0;
}

/* The ELF virtual address of each symbolized location and its outermost
 * frame's alias: a section of its own, so readers that predate it read the
 * frames as before. */
static int write_symbol_info(struct kiln_writer *w, const struct profile *p)
{
	size_t n = p->locations.n, count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		uint32_t alias = l->nframes ? p->frames.v[l->first_frame + l->nframes - 1].alias : 0;
		if (!l->has_vaddr && !alias)
			continue;
		uint8_t *o = varints_begin(&w->body, 4);
		o = varint_put(o, i);
		o = varint_put(o, l->has_vaddr ? 1 : 0);
		o = varint_put(o, l->vaddr);
		o = varint_put(o, alias);
		varints_end(&w->body, o);
		count++;
		if (w->body.n >= SECTION_TARGET) {
			int rc = section_end(w, KILN_SEC_SYMBOL_INFO, false, 0, count);
			if (rc)
				return rc;
			count = 0;
		}
	}
	if (count)
		return section_end(w, KILN_SEC_SYMBOL_INFO, false, 0, count);
	return 0;
}

int kiln_writer_open(struct kiln_writer **out, const char *path)
{
	int rc;
	*out = NULL;
	struct kiln_writer *w = xcalloc(1, sizeof(*w));
	w->nstrings = 1; /* id 0, "", is implied */
	w->nstacks = 1;  /* so is the root node */
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		rc = -ENOMEM;
		goto out_free;
	}
	/* A section and a chunk fill up to their targets and a little past:
	 * room for that from the start, rather than doubling from 8 bytes
	 * (each doubling a copy into pages touched for the first time: about
	 * 100 page faults writing kiln count's profile of /bin/true). Pages
	 * never written are never touched, so a small profile costs no more. */
	vec_reserve(&w->body, SECTION_TARGET + RESERVE_SLACK);
	vec_reserve(&w->payload, CHUNK_TARGET + SECTION_TARGET + RESERVE_SLACK);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = -errno;
		goto out_free;
	}
	uint8_t header[KILN_HEADER_SIZE];
	kiln_format_header(header);
	rc = write_all(w->fd, header, sizeof(header));
	if (rc) {
		close(w->fd);
		goto out_free;
	}
	w->size = sizeof(header);
	*out = w;
	return 0;
out_free:
	ZSTD_freeCCtx(w->cctx);
	free(w);
	return rc;
}

/* Appends the delta sections, in the order their references need. */
/* Series grow at the end only: each section record is one series' new
 * points (index, name, unit, first point, count, then time deltas and values). */
static int write_series(struct kiln_writer *w, const struct profile *p)
{
	for (size_t i = 0; i < p->series.n; i++) {
		const struct profile_series *s = &p->series.v[i];
		if (i >= w->series_points.n)
			vec_push(&w->series_points, SIZE_MAX); /* not in the file yet */
		size_t written = w->series_points.v[i];
		size_t from = written == SIZE_MAX ? 0 : written;
		if (written != SIZE_MAX && from >= s->points.n)
			continue;
		put_u64(&w->body, i);
		put_u64(&w->body, s->name);
		put_u64(&w->body, s->unit);
		put_u64(&w->body, from);
		put_u64(&w->body, s->points.n - from);
		uint64_t t = from ? s->points.v[from - 1].time : 0;
		for (size_t j = from; j < s->points.n; j++) {
			put_u64(&w->body, s->points.v[j].time - t);
			put_u64(&w->body, zigzag(s->points.v[j].value));
			t = s->points.v[j].time;
		}
		w->series_points.v[i] = s->points.n;
		int rc = section_end(w, KILN_SEC_SERIES, false, 0, 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int writer_add_delta(struct kiln_writer *w, const struct profile *p)
{
	int rc;
	if ((rc = write_strings(w, p)) || (rc = write_value_types(w, p)) || (rc = write_mappings(w, p, w->nmappings)) ||
	    (rc = write_threads(w, p, false)) || (rc = write_locations(w, p)) || (rc = write_stacks(w, p)) ||
	    (rc = write_samples(w, p)) || (rc = write_meta(w, p, false)) || (rc = write_series(w, p)))
		return rc;
	return 0;
}

int kiln_writer_flush(struct kiln_writer *w, const struct profile *p)
{
	if (w->err)
		return w->err;
	if (w->finished)
		return -EINVAL;
	int rc = writer_add_delta(w, p);
	if (!rc && w->payload.n)
		rc = writer_emit(w, KILN_CHUNK_DATA);
	return rc;
}

int kiln_writer_stream(struct kiln_writer *w, struct profile *p)
{
	int rc = kiln_writer_flush(w, p);
	if (rc)
		return rc;
	profile_clear_samples(p);
	w->nsamples = 0; /* the next sample written is p->samples.v[0] */
	return 0;
}

int kiln_writer_finish(struct kiln_writer *w, const struct profile *p)
{
	int rc;
	if (w->err)
		return w->err;
	if (w->finished)
		return -EINVAL;
	/* the last delta, then what only the end knows: symbols, and the final
	 * state of the tables that change in place (a build-id may have been
	 * filled into a mapping, a thread renamed) */
	if ((rc = writer_add_delta(w, p)) || (rc = write_mappings(w, p, 0)) || (rc = write_frames(w, p)) ||
	    (rc = write_symbol_info(w, p)) || (rc = write_threads(w, p, true)) || (rc = write_meta(w, p, true)))
		return rc;
	if (w->payload.n && (rc = writer_emit(w, KILN_CHUNK_DATA)))
		return rc;
	if ((rc = writer_emit(w, KILN_CHUNK_END)))
		return rc;
	if (fsync(w->fd) < 0)
		return w->err = -errno;
	w->finished = true;
	return 0;
}

void kiln_writer_free(struct kiln_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	vec_free(&w->threads);
	vec_free(&w->meta);
	vec_free(&w->series_points);
	vec_free(&w->payload);
	vec_free(&w->body);
	vec_free(&w->out);
	free(w);
}

/* ---- reader ---- */

/* What the last failed read on this thread was about, for kiln_read_strerror(). */
static _Thread_local struct {
	int err;
	uint32_t version;
	uint64_t offset;
	const char *what; /* a fixed description, or NULL */
} last_error;

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_u64_slow(struct cursor *c)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (c->p >= c->end)
			break;
		uint8_t b = *c->p++;
		if (shift == 63 && b > 1)
			break; /* more than 64 bits */
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return x;
	}
	c->bad = true;
	c->p = c->end;
	return 0;
}

/* Decoded inline: one byte for most numbers, and no bound check per byte
 * while a longest varint (10 bytes) still fits. Anything else, including
 * every malformed number, takes the careful path above. */
static inline uint64_t get_u64(struct cursor *c)
{
	const uint8_t *p = c->p;
	if (p < c->end && *p < 0x80) {
		c->p = p + 1;
		return *p;
	}
	if (c->end - p >= 10) {
		uint64_t x = 0;
		for (unsigned shift = 0; shift < 63; shift += 7) {
			uint8_t b = *p++;
			x |= (uint64_t)(b & 0x7f) << shift;
			if (!(b & 0x80)) {
				c->p = p;
				return x;
			}
		}
		if (*p <= 1) { /* the tenth byte holds bit 63 only */
			x |= (uint64_t)*p << 63;
			c->p = p + 1;
			return x;
		}
	}
	return get_u64_slow(c);
}

/* How many records of at least min_bytes each the rest of c can hold: a
 * bound for reserving room that a lying count cannot inflate. */
static size_t records_left(const struct cursor *c, size_t min_bytes)
{
	return (size_t)(c->end - c->p) / min_bytes;
}

static uint32_t get_u32(struct cursor *c)
{
	uint64_t x = get_u64(c);
	if (x > UINT32_MAX) {
		c->bad = true;
		return 0;
	}
	return (uint32_t)x;
}

typedef VEC(uint32_t) id_vec;

struct reader {
	struct profile *p;
	/* file id -> profile id: the profile deduplicates, a hostile file need not */
	id_vec strings, locations;
	struct hashmap meta_index; /* key string id -> index in p->meta */
	uint8_t *buf;              /* decompressed payload */
	size_t buf_cap;
	ZSTD_DCtx *dctx;
	uint64_t budget; /* decompressed bytes left for this file */
};

/* A string reference: a file string id, mapped to the profile's id. */
static uint32_t get_str(struct reader *r, struct cursor *c)
{
	uint32_t id = get_u32(c);
	if (id >= r->strings.n) {
		c->bad = true;
		return 0;
	}
	return r->strings.v[id];
}

static int read_strings(struct reader *r, struct cursor *c)
{
	uint64_t first = get_u64(c), count = get_u64(c);
	if (first != r->strings.n) /* strings never change: exactly the next ones */
		return -1;
	for (uint64_t i = 0; i < count && !c->bad; i++) {
		uint64_t len = get_u64(c);
		if (c->bad || len > (size_t)(c->end - c->p))
			return -1;
		uint32_t id = strtab_intern_n(&r->p->strings, (const char *)c->p, (size_t)len);
		c->p += len;
		vec_push(&r->strings, id);
	}
	return 0;
}

static int read_value_types(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t first = get_u64(c), count = get_u64(c);
	if (first > p->value_types.n || count > PROFILE_MAX_VALUES - first)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		struct profile_value_type vt;
		vt.type = get_str(r, c);
		vt.unit = get_str(r, c);
		if (c->bad)
			return -1;
		if (first + i < p->value_types.n)
			p->value_types.v[first + i] = vt;
		else
			vec_push(&p->value_types, vt);
	}
	return 0;
}

static int read_mappings(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t first = get_u64(c), count = get_u64(c);
	if (first > p->mappings.n)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		struct profile_mapping m;
		m.pid = get_u32(c);
		m.start = get_u64(c);
		m.end = get_u64(c);
		m.pgoff = get_u64(c);
		m.path = get_str(r, c);
		m.build_id = get_str(r, c);
		m.time = get_u64(c);
		if (c->bad)
			return -1;
		if (first + i < p->mappings.n) {
			p->mappings.v[first + i] = m;
		} else {
			if (p->mappings.n >= PROFILE_NO_MAPPING)
				return -1;
			vec_push(&p->mappings, m);
		}
	}
	return 0;
}

static int read_threads(struct reader *r, struct cursor *c)
{
	uint64_t count = get_u64(c);
	for (uint64_t i = 0; i < count; i++) {
		uint32_t tid = get_u32(c), pid = get_u32(c), name = get_str(r, c);
		uint64_t start = get_u64(c), end = get_u64(c);
		if (c->bad)
			return -1;
		struct profile_thread *t = profile_thread(r->p, tid, pid); /* upsert by tid */
		t->pid = pid;
		t->name = name;
		t->start = start;
		t->end = end;
	}
	return 0;
}

static int read_locations(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t first = get_u64(c), count = get_u64(c);
	if (first != r->locations.n)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t address = get_u64(c), mapping = get_u64(c), kind = get_u64(c);
		if (c->bad || mapping > p->mappings.n || kind > 255)
			return -1;
		uint32_t m = mapping ? (uint32_t)(mapping - 1) : PROFILE_NO_MAPPING;
		uint32_t id = profile_location(p, m, address, (enum profile_location_kind)kind);
		vec_push(&r->locations, id);
	}
	return 0;
}

static int read_stacks(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t first = get_u64(c), count = get_u64(c);
	if (first != p->stacks.n)
		return -1;
	/* appended as they are (the writer deduplicated them) and not indexed:
	 * views only read the trie, and profile_stack_child() indexes it when
	 * something adds to it. A lookup per node would cost more than the
	 * whole decode. Each node takes at least two bytes. */
	size_t room = records_left(c, 2);
	profile_reserve(p, p->stacks.n + (count < room ? (size_t)count : room), 0, 0);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t id = p->stacks.n, up = get_u64(c), loc = get_u64(c);
		/* a parent is an earlier node: up >= 1 keeps the trie acyclic */
		if (c->bad || up == 0 || up > id || loc >= r->locations.n || id >= UINT32_MAX)
			return -1;
		struct profile_stack_node n;
		n.parent = (uint32_t)(id - up);
		n.location = r->locations.v[loc];
		n.depth = p->stacks.v[n.parent].depth + 1;
		vec_push(&p->stacks, n);
	}
	return 0;
}

static int read_samples(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t count = get_u64(c), nvalues = get_u64(c), prev = 0;
	if (nvalues > PROFILE_MAX_VALUES)
		return -1;
	/* a sample takes at least a byte per field */
	size_t room = records_left(c, 5 + (size_t)nvalues);
	profile_reserve(p, 0, p->samples.n + (count < room ? (size_t)count : room), 0);
	for (uint64_t i = 0; i < count; i++) {
		struct profile_sample s = {0};
		uint32_t stack = get_u32(c);
		s.tid = get_u32(c);
		s.pid = get_u32(c);
		s.cpu = get_u32(c);
		s.time = prev + (uint64_t)unzigzag(get_u64(c));
		prev = s.time;
		for (uint64_t v = 0; v < nvalues; v++)
			s.values[v] = unzigzag(get_u64(c));
		if (c->bad || stack >= p->stacks.n)
			return -1;
		s.stack = stack;
		vec_push(&p->samples, s);
	}
	return 0;
}

static int read_meta(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t count = get_u64(c);
	for (uint64_t i = 0; i < count; i++) {
		struct profile_meta m;
		m.key = get_str(r, c);
		m.value = get_str(r, c);
		if (c->bad)
			return -1;
		uint64_t at;
		if (hashmap_get(&r->meta_index, m.key, &at)) {
			p->meta.v[at].value = m.value;
		} else {
			vec_push(&p->meta, m);
			hashmap_put(&r->meta_index, m.key, p->meta.n - 1);
		}
	}
	return 0;
}

static int read_series(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t count = get_u64(c);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t idx = get_u64(c);
		uint32_t name = get_str(r, c), unit = get_str(r, c);
		uint64_t first = get_u64(c), n = get_u64(c);
		/* a series is created in order and only ever appended to; each
		 * point takes at least two bytes, which bounds n */
		if (c->bad || idx > p->series.n || n > (uint64_t)(c->end - c->p) / 2)
			return -1;
		if (idx == p->series.n) {
			struct profile_series *s = vec_grow(&p->series);
			s->name = name;
			s->unit = unit;
		}
		struct profile_series *s = &p->series.v[idx];
		if (first != s->points.n)
			return -1;
		uint64_t t = first ? s->points.v[first - 1].time : 0;
		vec_reserve(&s->points, s->points.n + n);
		for (uint64_t j = 0; j < n; j++) {
			uint64_t dt = get_u64(c);
			int64_t v = unzigzag(get_u64(c));
			if (c->bad || dt > UINT64_MAX - t)
				return -1;
			t += dt;
			struct profile_series_point pt = {t, v};
			vec_push(&s->points, pt);
		}
	}
	return 0;
}

static int read_frames(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t count = get_u64(c);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t loc = get_u64(c), nframes = get_u64(c);
		/* each frame takes at least five bytes */
		if (c->bad || loc >= r->locations.n || nframes > (uint64_t)(c->end - c->p) / 5 ||
		    p->frames.n + nframes >= UINT32_MAX)
			return -1;
		size_t first = p->frames.n;
		for (uint64_t j = 0; j < nframes; j++) {
			struct profile_frame f = {0};
			f.function = get_str(r, c);
			f.file = get_str(r, c);
			f.line = get_u32(c);
			f.module = get_str(r, c);
			f.inlined = get_u64(c) & 1;
			if (c->bad) {
				p->frames.n = first; /* drop the half-read location */
				return -1;
			}
			vec_push(&p->frames, f);
		}
		struct profile_location *l = &p->locations.v[r->locations.v[loc]];
		l->first_frame = (uint32_t)first;
		l->nframes = (uint32_t)nframes;
	}
	return 0;
}

static int read_symbol_info(struct reader *r, struct cursor *c)
{
	struct profile *p = r->p;
	uint64_t count = get_u64(c);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t loc = get_u64(c), flags = get_u64(c), vaddr = get_u64(c);
		uint32_t alias = get_str(r, c);
		if (c->bad || loc >= r->locations.n)
			return -1;
		struct profile_location *l = &p->locations.v[r->locations.v[loc]];
		if (flags & 1) {
			l->vaddr = vaddr;
			l->has_vaddr = true;
		}
		if (l->nframes) /* the writer puts FRAMES first; an alias without frames has nothing to name */
			p->frames.v[l->first_frame + l->nframes - 1].alias = alias;
	}
	return 0;
}

/* Applies a DATA chunk's sections. Returns 0, or -1 at the first malformed
 * record (records before it stay applied: each was checked on its own). */
static int read_sections(struct reader *r, const uint8_t *data, size_t size)
{
	struct cursor all = {data, data + size, false};
	while (all.p < all.end) {
		uint8_t kind = *all.p++;
		uint64_t len = get_u64(&all);
		if (all.bad || len > (size_t)(all.end - all.p))
			return -1;
		struct cursor c = {all.p, all.p + len, false};
		all.p += len;
		int rc;
		switch (kind) {
		case KILN_SEC_STRINGS:
			rc = read_strings(r, &c);
			break;
		case KILN_SEC_VALUE_TYPES:
			rc = read_value_types(r, &c);
			break;
		case KILN_SEC_MAPPINGS:
			rc = read_mappings(r, &c);
			break;
		case KILN_SEC_THREADS:
			rc = read_threads(r, &c);
			break;
		case KILN_SEC_LOCATIONS:
			rc = read_locations(r, &c);
			break;
		case KILN_SEC_STACKS:
			rc = read_stacks(r, &c);
			break;
		case KILN_SEC_SAMPLES:
			rc = read_samples(r, &c);
			break;
		case KILN_SEC_META:
			rc = read_meta(r, &c);
			break;
		case KILN_SEC_SERIES:
			rc = read_series(r, &c);
			break;
		case KILN_SEC_FRAMES:
			rc = read_frames(r, &c);
			break;
		case KILN_SEC_SYMBOL_INFO:
			rc = read_symbol_info(r, &c);
			break;
		default:
			continue; /* a newer writer's section: skip it */
		}
		if (rc || c.bad || c.p != c.end) /* a body holds its records exactly */
			return -1;
	}
	return 0;
}

/* Returns the chunk's plain payload in *out (pointing into data or r->buf),
 * or -1 when it cannot be decoded within the limits. */
static int chunk_payload(struct reader *r, const uint8_t *stored, uint32_t csize, uint32_t usize, uint16_t flags,
                         const uint8_t **out)
{
	if (usize > KILN_CHUNK_MAX_USIZE || usize > r->budget)
		return -1;
	r->budget -= usize;
	switch (flags & KILN_CHUNK_COMPRESSION_MASK) {
	case KILN_CHUNK_RAW:
		if (usize != csize)
			return -1;
		*out = stored;
		return 0;
	case KILN_CHUNK_ZSTD:
		break;
	default:
		return -1;
	}
	if (ZSTD_getFrameContentSize(stored, csize) != usize)
		return -1;
	if (usize > r->buf_cap) {
		uint8_t *nb = realloc(r->buf, usize);
		if (!nb)
			return -1;
		r->buf = nb;
		r->buf_cap = usize;
	}
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
		return -1;
	size_t got = ZSTD_decompressDCtx(r->dctx, r->buf, usize, stored, csize);
	if (ZSTD_isError(got) || got != usize)
		return -1;
	*out = r->buf;
	return 0;
}

static int set_error(int err, uint32_t version, uint64_t offset, const char *what)
{
	last_error.err = err;
	last_error.version = version;
	last_error.offset = offset;
	last_error.what = what;
	return err;
}

/* Whether d starts with perf.data's magic ("PERFILE2", either byte order,
 * or version 1's "PERFFILE"). */
static bool is_perf_data(const uint8_t *d, size_t size)
{
	return size >= 8 && (!memcmp(d, "PERFILE2", 8) || !memcmp(d, "2ELIFREP", 8) || !memcmp(d, "PERFFILE", 8));
}

/* Checks the file header; returns its size, or a negative kiln_read error. */
static int read_header(const uint8_t *d, size_t size, struct kiln_read_info *info)
{
	if (size == 0)
		return set_error(-EBADMSG, 0, 0, "empty file");
	if (is_perf_data(d, size))
		return set_error(-EPROTONOSUPPORT, 0, 0, NULL);
	size_t m = size < KILN_MAGIC_SIZE ? size : KILN_MAGIC_SIZE;
	if (memcmp(d, KILN_MAGIC, m) != 0)
		return set_error(-EPROTO, 0, 0, NULL);
	if (size < KILN_HEADER_SIZE)
		return set_error(-EBADMSG, 0, size, "cut short inside the file header");
	uint16_t version = get_le16(d + 8), min_reader = get_le16(d + 10), hsize = get_le16(d + 12);
	info->version = version;
	if (hsize < KILN_HEADER_SIZE || hsize > KILN_HEADER_MAX)
		return set_error(-EBADMSG, version, 12, NULL);
	if (size < hsize)
		return set_error(-EBADMSG, version, size, "cut short inside the file header");
	uint32_t crc = crc32c_update(crc32c(d, 28), d + KILN_HEADER_SIZE, hsize - KILN_HEADER_SIZE);
	if (crc != get_le32(d + 28))
		return set_error(-EBADMSG, version, 0, NULL);
	if (min_reader > KILN_READER_VERSION)
		return set_error(-ENOTSUP, version, 0, NULL);
	if (get_le32(d + 16) != KILN_ENDIAN_MARK)
		return set_error(-EBADMSG, version, 16, NULL);
	if (get_le32(d + 24) & ~KILN_INCOMPAT_KNOWN)
		return set_error(-ENOTSUP, version, 24, "uses features this kiln does not know; upgrade kiln");
	return hsize;
}

/* Where a file's bytes come from: memory, or a descriptor read a chunk at a
 * time (after head, bytes already read from it), so that a file is checked
 * as it is read and never held whole. */
struct source {
	const uint8_t *mem; /* memory: all of it */
	size_t mem_size;
	int fd; /* else a descriptor, after head */
	const uint8_t *head;
	size_t nhead;
	uint64_t pos; /* bytes consumed */
	byte_vec buf; /* what take() returned last, for a descriptor */
};

/* Makes the next n bytes available at *out and consumes them: returns how
 * many there are (fewer only at the end of the input), or -errno. *out
 * stays valid until the next call. */
static ssize_t source_take(struct source *s, size_t n, const uint8_t **out)
{
	if (s->mem) {
		size_t left = s->mem_size - (size_t)s->pos;
		size_t got = n < left ? n : left;
		*out = s->mem + s->pos;
		s->pos += got;
		return (ssize_t)got;
	}
	vec_clear(&s->buf);
	vec_reserve(&s->buf, n ? n : 1);
	size_t got = 0;
	if (s->pos < s->nhead && n) {
		size_t h = s->nhead - (size_t)s->pos;
		got = n < h ? n : h;
		memcpy(s->buf.v, s->head + s->pos, got);
	}
	while (got < n) {
		ssize_t r = read(s->fd, s->buf.v + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = s->buf.v;
	s->pos += got;
	return (ssize_t)got;
}

/* Reads the file header and then chunk after chunk from src. size_hint is
 * the file's size when known (the decompression budget grows with it). */
static int read_source(struct source *src, uint64_t size_hint, struct profile **out, struct kiln_read_info *info)
{
	struct kiln_read_info dummy;
	uint8_t hdr[KILN_HEADER_MAX];
	const uint8_t *d;
	int rc;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	/* the fixed part first: a file that is not ours is rejected from its
	 * first bytes, however large it is */
	ssize_t got = source_take(src, KILN_HEADER_SIZE, &d);
	if (got < 0)
		return set_error((int)got, 0, 0, NULL);
	size_t n = (size_t)got;
	memcpy(hdr, d, n);
	if (n == KILN_HEADER_SIZE && !memcmp(hdr, KILN_MAGIC, KILN_MAGIC_SIZE)) {
		uint16_t hsize = get_le16(hdr + 12);
		if (hsize > KILN_HEADER_SIZE && hsize <= KILN_HEADER_MAX) {
			got = source_take(src, hsize - KILN_HEADER_SIZE, &d);
			if (got < 0)
				return set_error((int)got, 0, 0, NULL);
			memcpy(hdr + n, d, (size_t)got);
			n += (size_t)got;
		}
	}
	rc = read_header(hdr, n, info);
	if (rc < 0)
		return rc;
	rc = 0;

	struct reader r = {0};
	r.p = profile_new();
	hashmap_init(&r.meta_index);
	r.budget = FILE_BUDGET_BASE + FILE_BUDGET_RATE * size_hint;
	vec_push(&r.strings, 0);

	for (;;) {
		uint64_t pos = src->pos;
		got = source_take(src, KILN_CHUNK_HEADER_SIZE, &d);
		if (got < 0) {
			rc = set_error((int)got, info->version, pos, NULL);
			goto out_free;
		}
		if (got == 0)
			break;
		if (got < KILN_CHUNK_HEADER_SIZE) {
			info->truncated = true;
			break;
		}
		uint8_t h[KILN_CHUNK_HEADER_SIZE];
		memcpy(h, d, sizeof(h));
		bool header_ok = get_le32(h) == KILN_CHUNK_MAGIC && get_le32(h + 24) == crc32c(h, 24);
		uint16_t type = get_le16(h + 4), flags = get_le16(h + 6);
		uint32_t seq = get_le32(h + 8), usize = get_le32(h + 12), csize = get_le32(h + 16);
		bool bad = !header_ok || seq != info->chunks || csize > KILN_CHUNK_MAX_CSIZE;
		const uint8_t *stored = NULL, *plain = NULL;
		if (!bad) {
			got = source_take(src, csize, &stored);
			if (got < 0) {
				rc = set_error((int)got, info->version, pos, NULL);
				goto out_free;
			}
			if ((size_t)got < csize) {
				info->truncated = true; /* cut inside this chunk: keep what came before */
				break;
			}
			/* a file still growing (or a pipe) earns budget as it is read */
			if (src->pos > size_hint) {
				r.budget += FILE_BUDGET_RATE * (src->pos - size_hint);
				size_hint = src->pos;
			}
			bad = get_le32(h + 20) != crc32c(stored, csize);
		}
		if (!bad && type == KILN_CHUNK_DATA)
			bad = chunk_payload(&r, stored, csize, usize, flags, &plain) || read_sections(&r, plain, usize);
		if (bad) {
			info->bad_offset = pos;
			if (!info->chunks) {
				rc = set_error(-EBADMSG, info->version, pos, NULL);
				goto out_free;
			}
			info->truncated = true; /* damage after good chunks: keep those */
			break;
		}
		info->chunks++;
		if (type == KILN_CHUNK_END) {
			info->complete = true;
			break;
		}
	}
	/* nothing to reindex: locations and threads were indexed as they were
	 * read, and the stack trie is indexed when something first adds to it */
	*out = r.p;
	r.p = NULL;
out_free:
	profile_free(r.p);
	vec_free(&r.strings);
	vec_free(&r.locations);
	hashmap_release(&r.meta_index);
	free(r.buf);
	ZSTD_freeDCtx(r.dctx);
	return rc;
}

int kiln_read_mem(const void *data, size_t size, struct profile **out, struct kiln_read_info *info)
{
	struct source src = {.mem = data, .mem_size = size};
	static const uint8_t none[1];
	if (!src.mem)
		src.mem = none; /* an empty buffer is still memory */
	return read_source(&src, size, out, info);
}

int kiln_read_fd(int fd, const void *head, size_t nhead, struct profile **out, struct kiln_read_info *info)
{
	struct source src = {.fd = fd, .head = head, .nhead = nhead};
	struct stat st;
	uint64_t size_hint = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	int rc = read_source(&src, size_hint, out, info);
	vec_free(&src.buf);
	return rc;
}

int kiln_read(const char *path, struct profile **out, struct kiln_read_info *info)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_error(-errno, 0, 0, NULL);
	struct stat st;
	int rc;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		rc = set_error(-EISDIR, 0, 0, NULL);
	else
		rc = kiln_read_fd(fd, NULL, 0, out, info);
	close(fd);
	return rc;
}

/* The details (format version, byte offset) come from the last failed read
 * on this thread that returned the same code: kiln_read_strerror() takes no
 * info, so call it right after the read it describes. */
const char *kiln_read_strerror(int err)
{
	static _Thread_local char msg[160];
	bool detail = err == last_error.err;
	switch (err) {
	case 0:
		return "success";
	case -EPROTO:
		return "not a kiln profile";
	case -EPROTONOSUPPORT:
		return "a perf.data file, not a kiln profile; bring it along with 'perf script -i FILE | kiln "
		       "collapse'";
	case -ENOTSUP:
		if (detail && last_error.what)
			return last_error.what;
		if (detail) {
			snprintf(msg, sizeof(msg),
			         "written by a newer kiln (format %" PRIu32 "); this kiln reads up to %d",
			         last_error.version, KILN_READER_VERSION);
			return msg;
		}
		return "written by a newer kiln; upgrade kiln to read it";
	case -EBADMSG:
		if (detail && last_error.what)
			return last_error.what;
		if (detail) {
			snprintf(msg, sizeof(msg), "corrupt at byte %" PRIu64, last_error.offset);
			return msg;
		}
		return "corrupt file";
	case -ENOENT:
		return "no such file";
	case -EACCES:
	case -EPERM:
		return "permission denied";
	case -EISDIR:
		return "is a directory, not a file";
	case -ENOMEM:
		return "out of memory";
	default:
		snprintf(msg, sizeof(msg), "%s", strerror(-err));
		if (msg[0] >= 'A' && msg[0] <= 'Z')
			msg[0] = (char)(msg[0] - 'A' + 'a');
		return msg;
	}
}

bool kiln_has_magic(const void *buf, size_t n)
{
	return n >= KILN_MAGIC_SIZE && !memcmp(buf, KILN_MAGIC, KILN_MAGIC_SIZE);
}
