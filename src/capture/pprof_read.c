/* pprof_read.c - reads a pprof profile into a profile (see pprof_read.h).
 *
 * The Profile message is walked several times, once per kind of record,
 * so that fields may come in any order (the string table usually comes
 * last) without holding more than the decoded profile: first the string
 * table and the scalar fields, then mappings, functions, locations and
 * samples, each resolving the ids of the ones before. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "capture/pprof_read.h"
#include "profile/pprof_fields.h"
#include "util/hashmap.h"
#include "util/protobuf.h"
#include "util/strbuf.h"
#include "util/vec.h"

struct str_ref {
	const uint8_t *s;
	size_t len;
};

struct func {
	uint32_t name, file; /* kiln string ids */
};

struct reader {
	const uint8_t *msg;
	size_t len;
	struct profile *p;
	struct pprof_read_info *info;
	VEC(struct str_ref) strs;
	uint32_t *str_ids;                             /* kiln id of each pprof string, UINT32_MAX until used */
	struct hashmap mappings, functions, locations; /* pprof id -> index */
	VEC(uint32_t) map_module;                      /* mapping index -> module name id */
	VEC(struct func) funcs;
	VEC(struct profile_frame) frames; /* a location's lines */
	VEC(uint32_t) stack;              /* a sample's locations, leaf first */
	size_t nvalues;
	int64_t values[PROFILE_MAX_VALUES];
	size_t nsample_values;
	uint64_t period_type[2];
	bool has_period_type;
	int64_t time_nanos, duration_nanos, period;
	uint64_t comment, default_type;
	bool has_comment;
};

__attribute__((format(printf, 2, 3))) static int bad(struct reader *r, const char *fmt, ...)
{
	if (r->info) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->info->error, sizeof(r->info->error), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* The kiln id of pprof string idx, interned on first use. */
static int str(struct reader *r, uint64_t idx, uint32_t *id)
{
	if (idx >= r->strs.n)
		return bad(r, "string index %" PRIu64 " is past its string table (%zu strings)", idx, r->strs.n);
	if (r->str_ids[idx] == UINT32_MAX)
		r->str_ids[idx] = strtab_intern_n(&r->p->strings, (const char *)r->strs.v[idx].s, r->strs.v[idx].len);
	*id = r->str_ids[idx];
	return 0;
}

static int want_wire(struct reader *r, const struct pb_field *f, enum pb_wire wire, const char *what)
{
	if (f->wire == wire)
		return 0;
	return bad(r, "field %" PRIu32 " of %s has wire type %d, not %d", f->number, what, (int)f->wire, (int)wire);
}

/* The varint fields 1..n-1 of f, a message of type what, into v[1..n-1]
 * (0 where absent); other fields are skipped. */
static int read_varints(struct reader *r, const struct pb_field *f, const char *what, uint64_t *v, uint32_t n)
{
	struct pb_reader pr;
	memset(v, 0, n * sizeof(*v));
	pb_reader_init(&pr, f->data, f->len);
	while (!pb_done(&pr)) {
		struct pb_field g;
		if (pb_next(&pr, &g))
			return bad(r, "a %s message is corrupt", what);
		if (g.number >= 1 && g.number < n) {
			int rc = want_wire(r, &g, PB_VARINT, what);
			if (rc)
				return rc;
			v[g.number] = g.value;
		}
	}
	return 0;
}

/* Calls fn for each top-level field numbered number (0: every field). */
static int each_field(struct reader *r, uint32_t number, int (*fn)(struct reader *, const struct pb_field *))
{
	struct pb_reader pr;
	pb_reader_init(&pr, r->msg, r->len);
	while (!pb_done(&pr)) {
		size_t at = (size_t)(pr.p - r->msg);
		struct pb_field f;
		if (pb_next(&pr, &f))
			return bad(r, "the message is cut short or corrupt at byte %zu", at);
		if (number && f.number != number)
			continue;
		int rc = fn(r, &f);
		if (rc)
			return rc;
	}
	return 0;
}

/* A ValueType's (type, unit) string indexes. */
static int value_type(struct reader *r, const struct pb_field *f, uint64_t out[2])
{
	uint64_t v[3];
	int rc = want_wire(r, f, PB_LEN, "Profile");
	if (!rc)
		rc = read_varints(r, f, "ValueType", v, 3);
	out[0] = v[1];
	out[1] = v[2];
	return rc;
}

/* The first walk: strings, sample types and the scalar fields. */
static int scan_top(struct reader *r, const struct pb_field *f)
{
	switch (f->number) {
	case P_STRING_TABLE: {
		int rc = want_wire(r, f, PB_LEN, "Profile");
		if (rc)
			return rc;
		struct str_ref s = {f->data, f->len};
		vec_push(&r->strs, s);
		return 0;
	}
	case P_SAMPLE_TYPE:
		if (r->nvalues == PROFILE_MAX_VALUES)
			return bad(r, "it has more than %d sample types, the most kiln reads", PROFILE_MAX_VALUES);
		r->nvalues++; /* read once the strings are known */
		return want_wire(r, f, PB_LEN, "Profile");
	case P_PERIOD_TYPE:
		r->has_period_type = true;
		return value_type(r, f, r->period_type);
	case P_SAMPLE:
	case P_MAPPING:
	case P_LOCATION:
	case P_FUNCTION:
		return want_wire(r, f, PB_LEN, "Profile");
	case P_TIME_NANOS:
	case P_DURATION_NANOS:
	case P_PERIOD:
	case P_DEFAULT_SAMPLE_TYPE: {
		int rc = want_wire(r, f, PB_VARINT, "Profile");
		if (rc)
			return rc;
		if (f->number == P_TIME_NANOS)
			r->time_nanos = (int64_t)f->value;
		else if (f->number == P_DURATION_NANOS)
			r->duration_nanos = (int64_t)f->value;
		else if (f->number == P_PERIOD)
			r->period = (int64_t)f->value;
		else
			r->default_type = f->value;
		return 0;
	}
	case P_COMMENT:
		if (f->wire == PB_VARINT && !r->has_comment) {
			r->comment = f->value;
			r->has_comment = true;
		} else if (f->wire == PB_LEN && !r->has_comment && f->len) {
			struct pb_reader pr; /* packed: its first */
			pb_reader_init(&pr, f->data, f->len);
			if (pb_read_varint(&pr, &r->comment))
				return bad(r, "a comment is corrupt");
			r->has_comment = true;
		}
		return 0;
	default: /* drop_frames, keep_frames and fields of later versions */
		return 0;
	}
}

static int read_sample_type(struct reader *r, const struct pb_field *f)
{
	uint64_t vt[2];
	uint32_t type, unit;
	int rc = value_type(r, f, vt);
	if (!rc)
		rc = str(r, vt[0], &type);
	if (!rc)
		rc = str(r, vt[1], &unit);
	if (rc)
		return rc;
	struct profile_value_type *v = vec_grow(&r->p->value_types);
	v->type = type;
	v->unit = unit;
	return 0;
}

/* A new id for map: not 0 (pprof's "none") nor seen before. */
static int new_id(struct reader *r, struct hashmap *map, uint64_t id, uint64_t index, const char *what)
{
	uint64_t old;
	if (!id || id == UINT64_MAX)
		return bad(r, "a %s has id %" PRIu64 "", what, id);
	if (hashmap_get(map, id, &old))
		return bad(r, "two %ss have id %" PRIu64, what, id);
	hashmap_put(map, id, index);
	return 0;
}

static int read_mapping(struct reader *r, const struct pb_field *f)
{
	uint64_t v[7];
	int rc = read_varints(r, f, "Mapping", v, 7);
	if (rc)
		return rc;
	struct profile_mapping m = {.start = v[2], .end = v[3], .pgoff = v[4]};
	rc = str(r, v[5], &m.path);
	if (!rc)
		rc = str(r, v[6], &m.build_id);
	if (!rc)
		rc = new_id(r, &r->mappings, v[1], r->p->mappings.n, "mapping");
	if (rc)
		return rc;
	profile_add_mapping(r->p, &m);
	const char *path = profile_str(r->p, m.path);
	vec_push(&r->map_module, *path ? profile_intern(r->p, profile_module_name(path)) : 0);
	return 0;
}

static int read_function(struct reader *r, const struct pb_field *f)
{
	uint64_t v[5];
	int rc = read_varints(r, f, "Function", v, 5);
	if (rc)
		return rc;
	struct func fn;
	uint32_t system_name;
	rc = str(r, v[2], &fn.name);
	if (!rc)
		rc = str(r, v[3], &system_name);
	if (!rc)
		rc = str(r, v[4], &fn.file);
	if (!rc)
		rc = new_id(r, &r->functions, v[1], r->funcs.n, "function");
	if (rc)
		return rc;
	if (!fn.name) /* only a linker's name */
		fn.name = system_name;
	vec_push(&r->funcs, fn);
	return 0;
}

/* One Line of a location: a frame, or nothing for function id 0. */
static int read_line(struct reader *r, const struct pb_field *f, uint64_t loc)
{
	if (want_wire(r, f, PB_LEN, "Location"))
		return -EBADMSG;
	uint64_t v[3], at;
	if (read_varints(r, f, "Line", v, 3))
		return -EBADMSG;
	uint64_t fid = v[1], line = v[2];
	if (!fid)
		return 0;
	if (!hashmap_get(&r->functions, fid, &at))
		return bad(r, "location %" PRIu64 " names function %" PRIu64 ", which is not in the file", loc, fid);
	struct profile_frame *fr = vec_grow(&r->frames);
	fr->function = r->funcs.v[at].name;
	fr->file = r->funcs.v[at].file;
	fr->line = (int64_t)line > 0 && line <= UINT32_MAX ? (uint32_t)line : 0;
	return 0;
}

static int read_location(struct reader *r, const struct pb_field *f)
{
	struct pb_reader pr;
	uint64_t v[4], at;
	/* the id first: the lines' errors name it */
	int rc = read_varints(r, f, "Location", v, 4);
	if (rc)
		return rc;
	uint64_t id = v[1], mapping_id = v[2], address = v[3];
	vec_clear(&r->frames);
	pb_reader_init(&pr, f->data, f->len);
	while (!pb_done(&pr)) {
		struct pb_field g;
		(void)pb_next(&pr, &g); /* read above */
		if (g.number == 4 && (rc = read_line(r, &g, id)))
			return rc;
	}
	uint32_t mapping = PROFILE_NO_MAPPING, module = 0;
	if (mapping_id) {
		if (!hashmap_get(&r->mappings, mapping_id, &at))
			return bad(r, "location %" PRIu64 " is in mapping %" PRIu64 ", which is not in the file", id,
			           mapping_id);
		mapping = (uint32_t)at;
		module = r->map_module.v[at];
	}
	uint32_t index = (uint32_t)r->p->locations.n;
	if ((rc = new_id(r, &r->locations, id, index, "location")))
		return rc;
	/* pprof's locations are distinct even at one address (0, in many
	 * profiles without addresses): appended, not deduplicated */
	struct profile_location *l = vec_grow(&r->p->locations);
	l->mapping = mapping;
	l->address = address;
	const char *path = mapping != PROFILE_NO_MAPPING ? profile_str(r->p, r->p->mappings.v[mapping].path) : "";
	l->kind =
	    !strncmp(path, "[kernel", 7) || address >= 0xffff800000000000ULL ? PROFILE_LOC_KERNEL : PROFILE_LOC_USER;
	if (l->kind == PROFILE_LOC_KERNEL && !module) /* as kiln's own kernel frames say */
		module = profile_intern(r->p, "[kernel.kallsyms]");
	for (size_t i = 0; i < r->frames.n; i++) {
		r->frames.v[i].module = module;
		r->frames.v[i].inlined = i + 1 < r->frames.n;
	}
	if (r->frames.n)
		profile_set_location_frames(r->p, index, r->frames.v, (uint32_t)r->frames.n);
	return 0;
}

static int add_location(void *ctx, uint64_t id)
{
	struct reader *r = ctx;
	uint64_t at;
	if (!hashmap_get(&r->locations, id, &at))
		return bad(r, "a sample names location %" PRIu64 ", which is not in the file", id);
	vec_push(&r->stack, (uint32_t)at);
	return 0;
}

static int add_value(void *ctx, uint64_t v)
{
	struct reader *r = ctx;
	if (r->nsample_values < PROFILE_MAX_VALUES)
		r->values[r->nsample_values] = (int64_t)v;
	r->nsample_values++;
	return 0;
}

/* A label: the thread's name, its id and its process's id. */
static int read_label(struct reader *r, const struct pb_field *f, uint32_t *name, uint64_t *tid, uint64_t *pid)
{
	if (want_wire(r, f, PB_LEN, "Sample"))
		return -EBADMSG;
	uint64_t v[4];
	if (read_varints(r, f, "Label", v, 4))
		return -EBADMSG;
	uint32_t key, s;
	int rc = str(r, v[1], &key);
	if (!rc)
		rc = str(r, v[2], &s);
	if (rc)
		return rc;
	const char *k = profile_str(r->p, key);
	if (!strcmp(k, "thread") || !strcmp(k, "thread_name"))
		*name = s;
	else if (!strcmp(k, "thread_id") || !strcmp(k, "tid"))
		*tid = v[3];
	else if (!strcmp(k, "pid"))
		*pid = v[3];
	return 0;
}

static int read_sample(struct reader *r, const struct pb_field *f)
{
	struct pb_reader pr;
	uint32_t name = 0;
	uint64_t tid = 0, pid = 0;
	int rc = 0;
	vec_clear(&r->stack);
	r->nsample_values = 0;
	pb_reader_init(&pr, f->data, f->len);
	while (!pb_done(&pr) && !rc) {
		struct pb_field g;
		if (pb_next(&pr, &g))
			return bad(r, "sample %zu is corrupt", r->p->samples.n + 1);
		if (g.number == 1)
			rc = pb_each_varint(&g, add_location, r);
		else if (g.number == 2)
			rc = pb_each_varint(&g, add_value, r);
		else if (g.number == 3)
			rc = read_label(r, &g, &name, &tid, &pid);
		if (rc == -EBADMSG && r->info && !r->info->error[0])
			bad(r, "sample %zu is corrupt", r->p->samples.n + 1);
	}
	if (rc)
		return rc;
	if (r->nsample_values != r->nvalues)
		return bad(r, "sample %zu has %zu values for %zu sample types", r->p->samples.n + 1, r->nsample_values,
		           r->nvalues);
	struct profile_sample s = {0};
	s.stack = profile_stack_from_leaf(r->p, r->stack.v, (uint32_t)r->stack.n);
	s.tid = tid <= UINT32_MAX ? (uint32_t)tid : 0;
	s.pid = pid <= UINT32_MAX ? (uint32_t)pid : 0;
	memcpy(s.values, r->values, sizeof(s.values));
	if (s.tid) {
		struct profile_thread *t = profile_thread(r->p, s.tid, s.pid);
		if (name)
			t->name = name;
	}
	profile_add_sample(r->p, &s);
	return 0;
}

/* What the views show of the run: its times, its sampling, its command
 * and the value type to show first (pprof's default is the last). */
static int read_meta(struct reader *r)
{
	struct profile *p = r->p;
	profile_set_meta(p, "source", "pprof");
	if (r->time_nanos > 0)
		profile_set_meta_u64(p, "start_time", (uint64_t)r->time_nanos);
	if (r->duration_nanos > 0)
		profile_set_meta_u64(p, "duration_ns", (uint64_t)r->duration_nanos);
	uint32_t id;
	int rc;
	if (r->has_period_type && r->period > 0) {
		uint32_t type, unit;
		if ((rc = str(r, r->period_type[0], &type)) || (rc = str(r, r->period_type[1], &unit)))
			return rc;
		profile_set_meta(p, "event", profile_str(p, type));
		if (!strcmp(profile_str(p, unit), "nanoseconds"))
			profile_set_meta_u64(p, "frequency", 1000000000ULL / (uint64_t)r->period ?: 1);
		else
			profile_set_meta_u64(p, "period", (uint64_t)r->period);
	}
	if (r->has_comment) {
		if ((rc = str(r, r->comment, &id)))
			return rc;
		profile_set_meta(p, "command", profile_str(p, id));
	}
	if (r->default_type) {
		if ((rc = str(r, r->default_type, &id)))
			return rc;
		profile_set_meta(p, "default_value", profile_str(p, id));
	} else if (p->value_types.n >= 2) {
		profile_set_meta(p, "default_value", profile_str(p, p->value_types.v[p->value_types.n - 1].type));
	}
	return 0;
}

static int read_message(struct reader *r)
{
	int rc = each_field(r, 0, scan_top);
	if (rc)
		return rc;
	if (!r->strs.n || r->strs.v[0].len)
		return bad(r, "its string table does not start with \"\"");
	if (!r->nvalues)
		return bad(r, "it has no sample types");
	r->str_ids = xcalloc(r->strs.n, sizeof(*r->str_ids));
	memset(r->str_ids, 0xff, r->strs.n * sizeof(*r->str_ids));
	r->str_ids[0] = 0;
	if ((rc = each_field(r, P_SAMPLE_TYPE, read_sample_type)) || (rc = each_field(r, P_MAPPING, read_mapping)) ||
	    (rc = each_field(r, P_FUNCTION, read_function)) || (rc = each_field(r, P_LOCATION, read_location)) ||
	    (rc = each_field(r, P_SAMPLE, read_sample)))
		return rc;
	rc = read_meta(r);
	profile_reindex(r->p);
	return rc;
}

/* Uncompresses gzip data into out, at most max bytes. */
static int gunzip(const uint8_t *data, size_t size, uint64_t max, struct strbuf *out, struct pprof_read_info *info)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + 15) != Z_OK)
		return -ENOMEM;
	int rc = 0;
	size_t left = size;
	z.next_in = (Bytef *)data;
	for (;;) {
		if (!z.avail_in && left) {
			z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
			left -= z.avail_in;
		}
		unsigned char buf[65536];
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		int zr = inflate(&z, Z_NO_FLUSH);
		size_t got = sizeof(buf) - z.avail_out;
		if (out->len + got > max) {
			snprintf(info->error, sizeof(info->error), "it uncompresses to more than %" PRIu64 " bytes",
			         max);
			rc = -EFBIG;
			break;
		}
		strbuf_add(out, buf, got);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && !z.avail_in && !left) {
			snprintf(info->error, sizeof(info->error), "its gzip data is cut short");
			rc = -EBADMSG;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			snprintf(info->error, sizeof(info->error), "its gzip data is corrupt (%s)",
			         z.msg ? z.msg : "zlib error");
			rc = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			break;
		}
		if (!got && !z.avail_in && !left) {
			snprintf(info->error, sizeof(info->error), "its gzip data is cut short");
			rc = -EBADMSG;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

/* Is (number, wire) a field of Profile as profile.proto has it? */
static bool profile_field(uint32_t number, enum pb_wire wire)
{
	if ((number >= 1 && number <= 6) || number == 11)
		return wire == PB_LEN;
	if (number == 13) /* comment: packed or not */
		return wire == PB_LEN || wire == PB_VARINT;
	return number >= 7 && number <= 14 && wire == PB_VARINT;
}

/* Is the payload a ValueType (type and unit: varints of fields 1 and 2,
 * at least one of them there: names are never all empty)? */
static bool value_type_payload(const struct pb_field *f)
{
	if (f->len < 2)
		return false;
	struct pb_reader r;
	pb_reader_init(&r, f->data, f->len);
	struct pb_field g;
	while (!pb_done(&r))
		if (pb_next(&r, &g) || (g.number != 1 && g.number != 2) || g.wire != PB_VARINT)
			return false;
	return true;
}

bool pprof_sniff(const void *head, size_t n)
{
	const uint8_t *b = head;
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) /* gzip: deflate, no reserved flag (RFC 1952) */
		return n < 4 || (b[2] == 8 && !(b[3] & 0xe0));
	/* a raw message: fields of Profile with their wire types, as far as
	 * head holds whole ones (perf.data's "PERFILE2" starts with what
	 * could be field 10, but its next is field 10 with the wrong type),
	 * and a control byte (tags and lengths) text never has. Random bytes
	 * pass the first tag one time in 16: so the first field must be
	 * whole, and be a sample_type holding a ValueType (as every writer
	 * puts it first, fields in order) or be followed by two more whole
	 * fields; else reading an endless device as pprof would follow. */
	if (n > 256)
		n = 256;
	bool control = false;
	for (size_t i = 0; i < n && !control; i++)
		control = b[i] < 0x09 || (b[i] > 0x0d && b[i] < 0x20);
	if (!control)
		return false;
	struct pb_reader r;
	pb_reader_init(&r, b, n);
	size_t fields = 0;
	bool sample_type_first = false;
	while (!pb_done(&r)) {
		struct pb_field f;
		const uint8_t *at = r.p;
		uint64_t tag;
		if (pb_read_varint(&r, &tag))
			break; /* cut by the end of head */
		if (!profile_field((uint32_t)(tag >> 3 <= 15 ? tag >> 3 : 0), (enum pb_wire)(tag & 7)))
			return false;
		r.p = at;
		if (pb_next(&r, &f))
			break; /* a field running past head */
		if (!fields++)
			sample_type_first = f.number == 1 && value_type_payload(&f);
	}
	return sample_type_first || fields >= 3;
}

int pprof_read_mem(const void *data, size_t size, uint64_t max_bytes, struct profile **out,
                   struct pprof_read_info *info)
{
	struct pprof_read_info none;
	if (!info)
		info = &none;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	if (!max_bytes)
		max_bytes = PPROF_DEFAULT_MAX_BYTES;
	struct strbuf raw = STRBUF_INIT;
	const uint8_t *b = data;
	int rc;
	if (size >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		info->gzip = true;
		if ((rc = gunzip(b, size, max_bytes, &raw, info)))
			goto out_free_raw;
		b = (const uint8_t *)raw.buf;
		size = raw.len;
	} else if (size > max_bytes) {
		snprintf(info->error, sizeof(info->error), "it is larger than %" PRIu64 " bytes", max_bytes);
		rc = -EFBIG;
		goto out_free_raw;
	}
	info->bytes = size;
	struct reader r = {.msg = b, .len = size, .info = info, .p = profile_new()};
	hashmap_init(&r.mappings);
	hashmap_init(&r.functions);
	hashmap_init(&r.locations);
	rc = size ? read_message(&r) : bad(&r, "it is empty");
	if (rc)
		profile_free(r.p);
	else
		*out = r.p;
	free(r.str_ids);
	vec_free(&r.strs);
	vec_free(&r.map_module);
	vec_free(&r.funcs);
	vec_free(&r.frames);
	vec_free(&r.stack);
	hashmap_release(&r.mappings);
	hashmap_release(&r.functions);
	hashmap_release(&r.locations);
out_free_raw:
	strbuf_release(&raw);
	return rc;
}

int pprof_read_file(const char *path, uint64_t max_bytes, struct profile **out, struct pprof_read_info *info)
{
	struct pprof_read_info none;
	if (!info)
		info = &none;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	if (!max_bytes)
		max_bytes = PPROF_DEFAULT_MAX_BYTES;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out_close;
		}
		if (!n)
			break;
		/* the compressed file is no larger than what it holds, nearly */
		if (sb.len + (size_t)n > max_bytes + (max_bytes >> 4) + 4096) {
			snprintf(info->error, sizeof(info->error), "it is larger than %" PRIu64 " bytes", max_bytes);
			rc = -EFBIG;
			goto out_close;
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	rc = pprof_read_mem(sb.buf ? sb.buf : "", sb.len, max_bytes, out, info);
out_close:
	close(fd);
	strbuf_release(&sb);
	return rc;
}
