/* pprof.c - writes a profile as pprof's profile.proto, gzip-compressed
 * (see pprof.h for what goes where). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "analysis/hotspots.h"
#include "render/pprof.h"
#include "profile/pprof_fields.h"
#include "util/hashmap.h"
#include "util/protobuf.h"
#include "util/strbuf.h"
#include "util/strtab.h"
#include "util/vec.h"

struct agg_sample {
	uint32_t stack, tid, pid;
	int64_t values[PROFILE_MAX_VALUES];
};

struct pprof_writer {
	const struct profile *p;
	struct strbuf *out;
	struct strtab extra;  /* strings the profile does not have; ids after its own */
	struct strbuf msg;    /* the message being built */
	struct strbuf packed; /* a packed repeated field being built */
	struct strbuf sub;    /* a message nested in msg */
};

/* A string's index in the written string table: the profile's own
 * strings keep their ids (its id 0 is "", as pprof wants), the rest
 * follow them. */
static uint64_t str_id(struct pprof_writer *w, const char *s)
{
	uint32_t id = strtab_find(&w->p->strings, s);
	if (id != UINT32_MAX)
		return id;
	return (uint64_t)strtab_count(&w->p->strings) + strtab_intern(&w->extra, s) - 1;
}

/* Moves w->msg into out as field number `field`. */
static void put_msg(struct pprof_writer *w, uint32_t field)
{
	pb_put_bytes(w->out, field, w->msg.buf, w->msg.len);
	strbuf_reset(&w->msg);
}

static void put_value_type(struct pprof_writer *w, uint32_t field, uint64_t type, uint64_t unit)
{
	pb_put_uint(&w->msg, 1, type);
	pb_put_uint(&w->msg, 2, unit);
	put_msg(w, field);
}

static void put_label(struct pprof_writer *w, const char *key, uint64_t str, int64_t num)
{
	strbuf_reset(&w->sub);
	pb_put_uint(&w->sub, 1, str_id(w, key));
	pb_put_uint(&w->sub, 2, str);
	pb_put_int(&w->sub, 3, num);
	pb_put_bytes(&w->msg, 3, w->sub.buf, w->sub.len);
}

/* Samples of one stack and thread are one pprof Sample: pprof has no
 * sample times, and a profile of a long run would be mostly repeats. */
static void write_samples(struct pprof_writer *w, size_t nvalues)
{
	const struct profile *p = w->p;
	VEC(struct agg_sample) agg = {0};
	struct hashmap index;
	hashmap_init(&index);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint64_t key = (uint64_t)s->stack << 32 | s->tid, at;
		if (!hashmap_get(&index, key, &at)) {
			at = agg.n;
			struct agg_sample *a = vec_grow(&agg);
			a->stack = s->stack;
			a->tid = s->tid;
			a->pid = s->pid;
			hashmap_put(&index, key, at);
		}
		struct agg_sample *a = &agg.v[at];
		if (!p->value_types.n)
			a->values[0] = (int64_t)((uint64_t)a->values[0] + 1);
		for (size_t v = 0; v < p->value_types.n && v < PROFILE_MAX_VALUES; v++)
			a->values[v] = (int64_t)((uint64_t)a->values[v] +
			                         (uint64_t)s->values[v]); /* wraps, as pprof's int64 sums do */
	}
	for (size_t i = 0; i < agg.n; i++) {
		const struct agg_sample *a = &agg.v[i];
		strbuf_reset(&w->packed);
		for (uint32_t n = a->stack; n && n < p->stacks.n; n = p->stacks.v[n].parent)
			pb_put_varint(&w->packed, (uint64_t)p->stacks.v[n].location + 1);
		if (w->packed.len)
			pb_put_bytes(&w->msg, 1, w->packed.buf, w->packed.len);
		strbuf_reset(&w->packed);
		for (size_t v = 0; v < nvalues; v++)
			pb_put_varint(&w->packed, (uint64_t)a->values[v]);
		pb_put_bytes(&w->msg, 2, w->packed.buf, w->packed.len);
		if (a->tid) {
			const struct profile_thread *t = profile_find_thread(p, a->tid);
			if (t && t->name)
				put_label(w, "thread", t->name, 0);
			put_label(w, "thread_id", 0, a->tid);
		}
		if (a->pid)
			put_label(w, "pid", 0, a->pid);
		put_msg(w, P_SAMPLE);
	}
	hashmap_release(&index);
	vec_free(&agg);
}

static void write_mappings(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	for (size_t i = 0; i < p->mappings.n; i++) {
		const struct profile_mapping *m = &p->mappings.v[i];
		pb_put_uint(&w->msg, 1, i + 1);
		pb_put_uint(&w->msg, 2, m->start);
		pb_put_uint(&w->msg, 3, m->end);
		pb_put_uint(&w->msg, 4, m->pgoff);
		pb_put_uint(&w->msg, 5, m->path);
		pb_put_uint(&w->msg, 6, m->build_id);
		/* kiln names every location itself: a reader must not look
		 * for the binaries to symbolize them again */
		for (uint32_t f = 7; f <= 10; f++)
			pb_put_uint(&w->msg, f, 1);
		put_msg(w, P_MAPPING);
	}
}

/* Locations, and the functions their lines name (function ids by
 * (name, file), in the order first used). */
static void write_locations(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	struct hashmap funcs;
	hashmap_init(&funcs);
	VEC(uint64_t) order = {0}; /* function id - 1 -> (name << 32 | file) */
	for (size_t i = 0; i < p->locations.n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		pb_put_uint(&w->msg, 1, i + 1);
		if (l->mapping != PROFILE_NO_MAPPING && l->mapping < p->mappings.n)
			pb_put_uint(&w->msg, 2, (uint64_t)l->mapping + 1);
		pb_put_uint(&w->msg, 3, l->address);
		for (uint32_t k = 0; k < l->nframes && l->first_frame + k < p->frames.n; k++) {
			const struct profile_frame *f = &p->frames.v[l->first_frame + k];
			uint64_t key = (uint64_t)f->function << 32 | f->file, id;
			if (!hashmap_get(&funcs, key, &id)) {
				vec_push(&order, key);
				id = order.n;
				hashmap_put(&funcs, key, id);
			}
			strbuf_reset(&w->sub);
			pb_put_uint(&w->sub, 1, id);
			pb_put_uint(&w->sub, 2, f->line);
			pb_put_bytes(&w->msg, 4, w->sub.buf, w->sub.len);
		}
		put_msg(w, P_LOCATION);
	}
	for (size_t i = 0; i < order.n; i++) {
		pb_put_uint(&w->msg, 1, i + 1);
		pb_put_uint(&w->msg, 2, order.v[i] >> 32);
		pb_put_uint(&w->msg, 3, order.v[i] >> 32);
		pb_put_uint(&w->msg, 4, order.v[i] & UINT32_MAX);
		put_msg(w, P_FUNCTION);
	}
	vec_free(&order);
	hashmap_release(&funcs);
}

/* The sampling period: a frequency is a period of 1e9/Hz nanoseconds of
 * CPU time, as Go's CPU profiles say it; a period of events is that many
 * events. */
static void write_period(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	uint64_t hz = profile_get_meta_u64(p, "frequency", 0);
	uint64_t period = profile_get_meta_u64(p, "period", 0);
	if (hz) {
		put_value_type(w, P_PERIOD_TYPE, str_id(w, "cpu"), str_id(w, "nanoseconds"));
		pb_put_uint(w->out, P_PERIOD, 1000000000ULL / hz);
	} else if (period) {
		const char *ev = profile_get_meta(p, "event");
		put_value_type(w, P_PERIOD_TYPE, str_id(w, ev && *ev ? ev : "events"), str_id(w, "count"));
		pb_put_uint(w->out, P_PERIOD, period);
	}
}

void pprof_encode(const struct profile *p, struct strbuf *out)
{
	struct pprof_writer w = {.p = p, .out = out};
	strtab_init(&w.extra);
	size_t nvalues = p->value_types.n ? p->value_types.n : 1;
	if (nvalues > PROFILE_MAX_VALUES)
		nvalues = PROFILE_MAX_VALUES;
	if (!p->value_types.n)
		put_value_type(&w, P_SAMPLE_TYPE, str_id(&w, "samples"), str_id(&w, "count"));
	for (size_t i = 0; i < nvalues && i < p->value_types.n; i++)
		put_value_type(&w, P_SAMPLE_TYPE, p->value_types.v[i].type, p->value_types.v[i].unit);
	write_samples(&w, nvalues);
	write_mappings(&w);
	write_locations(&w);
	pb_put_int(out, P_TIME_NANOS, (int64_t)profile_get_meta_u64(p, "start_time", 0));
	pb_put_int(out, P_DURATION_NANOS, (int64_t)profile_get_meta_u64(p, "duration_ns", 0));
	write_period(&w);
	const char *cmd = profile_get_meta(p, "command");
	if (cmd && *cmd)
		pb_put_uint(out, P_COMMENT, str_id(&w, cmd));
	/* the value kiln report shows first, which pprof's readers would
	 * not guess (their default is the last type) */
	int dflt = hotspots_value_index(p, NULL);
	if (dflt >= 0 && (size_t)dflt < p->value_types.n)
		pb_put_uint(out, P_DEFAULT_SAMPLE_TYPE, p->value_types.v[dflt].type);
	/* the string table last: only now is every extra string known */
	uint32_t n = strtab_count(&p->strings);
	for (uint32_t i = 0; i < n; i++) {
		const char *s = strtab_get(&p->strings, i);
		pb_put_bytes(out, P_STRING_TABLE, s, strlen(s));
	}
	for (uint32_t i = 1; i < strtab_count(&w.extra); i++) {
		const char *s = strtab_get(&w.extra, i);
		pb_put_bytes(out, P_STRING_TABLE, s, strlen(s));
	}
	strbuf_release(&w.msg);
	strbuf_release(&w.packed);
	strbuf_release(&w.sub);
	strtab_release(&w.extra);
}

int pprof_write(const struct profile *p, struct strbuf *out)
{
	struct strbuf raw = STRBUF_INIT;
	pprof_encode(p, &raw);
	int rc = -ENOMEM;
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 16 + 15: a gzip wrapper around the largest window */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out_free_raw;
	z.next_in = (Bytef *)raw.buf;
	size_t left = raw.len;
	for (;;) {
		/* avail_in is an unsigned int: a huge profile goes in slices */
		if (!z.avail_in && left) {
			z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
			left -= z.avail_in;
		}
		char buf[65536];
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof(buf);
		int zr = deflate(&z, left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			goto out_end;
		strbuf_add(out, buf, sizeof(buf) - z.avail_out);
		if (zr == Z_STREAM_END)
			break;
	}
	rc = 0;
out_end:
	deflateEnd(&z);
out_free_raw:
	strbuf_release(&raw);
	return rc;
}
