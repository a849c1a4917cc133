/* agent_sampler.c - the agent's cpu-mode (and lock-mode) records as perf records: each
 * becomes what the kernel would have written into a perf ring for an fp
 * call graph (PERF_RECORD_MMAP2 from the maps text, COMM from thread
 * names and execs, FORK from a new process's ring, SAMPLE with a user
 * callchain, LOST_SAMPLES), handed to the recorder one by one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/agent_sampler.h"
#include "capture/events.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define SAMPLER_MAX_FRAMES 4096 /* as many as the recorder takes */

/* What is known of each ring: its process and its maps text so far. */
struct sampler_ring {
	uint32_t pid;
	uint64_t start_ns, last_ns;
	bool maps_seen; /* a whole maps text came: later ones are modules loaded since */
	struct strbuf maps;
};

struct agent_sampler {
	struct recorder *r;
	struct agent_channel_ops ops;
	VEC(struct sampler_ring) rings;
	VEC(uint32_t) pids; /* processes with a ring, ever */
	struct agent_sampler_stats st;
	uint64_t buf[(sizeof(struct perf_event_header) + 8 * (6 + SAMPLER_MAX_FRAMES)) / 8 + 1];
};

/* sample_id_all's trailer, as the recorder reads it */
struct trailer {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu, res;
};

static bool pid_seen(const struct agent_sampler *s, uint32_t pid)
{
	for (size_t i = 0; i < s->pids.n; i++)
		if (s->pids.v[i] == pid)
			return true;
	return false;
}

static struct perf_event_header *rec_start(struct agent_sampler *s, uint32_t type, uint16_t misc)
{
	struct perf_event_header *h = (struct perf_event_header *)s->buf;
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->misc = misc;
	h->size = sizeof(*h);
	return h;
}

static void rec_put(struct perf_event_header *h, const void *p, size_t len)
{
	memcpy((char *)h + h->size, p, len);
	h->size = (uint16_t)(h->size + len);
}

/* A NUL-terminated string padded to 8 bytes. */
static void rec_put_str(struct perf_event_header *h, const char *str, size_t max)
{
	size_t n = strnlen(str, max);
	size_t padded = (n + 8) & ~(size_t)7;
	memset((char *)h + h->size, 0, padded);
	memcpy((char *)h + h->size, str, n);
	h->size = (uint16_t)(h->size + padded);
}

static void rec_trailer(struct perf_event_header *h, uint32_t pid, uint32_t tid, uint64_t time)
{
	struct trailer t = {pid, tid, time, 0, 0};
	rec_put(h, &t, sizeof(t));
}

static void feed_comm(struct agent_sampler *s, uint32_t pid, uint32_t tid, const char *name, uint64_t time, bool exec)
{
	struct perf_event_header *h = rec_start(s, PERF_RECORD_COMM, exec ? PERF_RECORD_MISC_COMM_EXEC : 0);
	uint32_t ids[2] = {pid, tid};
	rec_put(h, ids, sizeof(ids));
	rec_put_str(h, name, 16);
	rec_trailer(h, pid, tid, time);
	recorder_feed(s->r, h);
}

/* One line of /proc/PID/maps text: an executable mapping becomes MMAP2. */
static void feed_maps_line(struct agent_sampler *s, uint32_t pid, const char *line, uint64_t time)
{
	uint64_t lo, hi, off, ino;
	unsigned maj, min;
	char perms[8];
	int pos = 0;
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &lo, &hi, perms, &off, &maj,
	           &min, &ino, &pos) < 7 ||
	    !strchr(perms, 'x') || hi <= lo)
		return;
	const char *path = line + pos;
	if (!*path || strlen(path) > 4000)
		return;
	struct {
		uint32_t pid, tid;
		uint64_t addr, len, pgoff;
		uint32_t maj, min;
		uint64_t ino, ino_generation;
		uint32_t prot, flags;
	} m = {pid, pid, lo, hi - lo, off, maj, min, ino, 0, 0, 0};
	struct perf_event_header *h = rec_start(s, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	rec_put(h, &m, sizeof(m));
	rec_put_str(h, path, 4000);
	rec_trailer(h, pid, pid, time);
	recorder_feed(s->r, h);
}

static void feed_maps(struct agent_sampler *s, struct sampler_ring *sr)
{
	/* the first text is the process's at the ring's start; later ones
	 * (exec, exit) add what was loaded since, from then on */
	uint64_t time = sr->maps_seen ? sr->last_ns + 1 : sr->start_ns;
	char *line = sr->maps.buf;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		feed_maps_line(s, sr->pid, line, time);
		line = nl ? nl + 1 : NULL;
	}
	strbuf_reset(&sr->maps);
	sr->maps_seen = true;
}

static void feed_lost(struct agent_sampler *s, uint64_t lost)
{
	if (!lost)
		return;
	s->st.lost += lost;
	struct perf_event_header *h = rec_start(s, PERF_RECORD_LOST_SAMPLES, 0);
	rec_put(h, &lost, sizeof(lost));
	recorder_feed(s->r, h);
}

static void feed_sample(struct agent_sampler *s, struct sampler_ring *sr, const struct kh_rec_cpu_sample *cs)
{
	uint32_t n = cs->nframes;
	if (sizeof(*cs) + (size_t)n * 8 > cs->h.size || n == 0 || n > SAMPLER_MAX_FRAMES - 1)
		return;
	const uint64_t *frames = (const uint64_t *)(cs + 1);
	sr->last_ns = cs->time;
	s->st.samples++;
	if (cs->flags & KH_CPU_CUT)
		s->st.cut++;
	feed_lost(s, cs->lost);
	struct perf_event_header *h = rec_start(s, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	uint64_t head[6] = {
	    frames[0], (uint64_t)sr->pid | (uint64_t)cs->tid << 32, cs->time, 0, cs->period, (uint64_t)n + 1,
	};
	rec_put(h, head, sizeof(head));
	uint64_t ctx = PERF_CONTEXT_USER;
	rec_put(h, &ctx, sizeof(ctx));
	rec_put(h, frames, (size_t)n * 8);
	recorder_feed(s->r, h);
}

/* A lock-mode record (agent_lock.h) as a sample whose raw data is the
 * record without its frames, for a recorder in raw mode: its stack is
 * unwound into the profile as a cpu sample's, and the record handed to
 * the recorder's on_raw. */
static void feed_lock(struct agent_sampler *s, struct sampler_ring *sr, const struct kh_rec_header *rec, size_t fixed,
                      uint64_t time, uint32_t tid, const uint64_t *frames, uint32_t n)
{
	if (n > SAMPLER_MAX_FRAMES - 1 || fixed + (size_t)n * 8 > rec->size || fixed > 256)
		return;
	sr->last_ns = time > sr->last_ns ? time : sr->last_ns;
	struct perf_event_header *h = rec_start(s, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	uint64_t head[6] = {n ? frames[0] : 0,      (uint64_t)sr->pid | (uint64_t)tid << 32, time, 0, 1,
	                    n ? (uint64_t)n + 1 : 0};
	rec_put(h, head, sizeof(head));
	if (n) {
		uint64_t ctx = PERF_CONTEXT_USER;
		rec_put(h, &ctx, sizeof(ctx));
		rec_put(h, frames, (size_t)n * 8);
	}
	/* PERF_SAMPLE_RAW: a u32 size, the bytes, padded to end on 8 */
	uint32_t raw = (uint32_t)(((fixed + 4 + 7) & ~(size_t)7) - 4);
	uint8_t pad[264] = {0};
	memcpy(pad, rec, fixed);
	rec_put(h, &raw, 4);
	rec_put(h, pad, raw);
	recorder_feed(s->r, h);
}

static struct sampler_ring *ring_of(struct agent_sampler *s, uint32_t ring)
{
	return ring < s->rings.n ? &s->rings.v[ring] : NULL;
}

static void cb_ring_new(void *ctx, uint32_t ring, const struct kh_ring_header *h)
{
	struct agent_sampler *s = ctx;
	while (s->rings.n <= ring) {
		struct sampler_ring z = {.maps = STRBUF_INIT};
		vec_push(&s->rings, z);
	}
	struct sampler_ring *sr = &s->rings.v[ring];
	sr->pid = h->pid;
	sr->start_ns = sr->last_ns = h->start_ns;
	if (pid_seen(s, h->pid)) {
		/* a new image in a process seen before: an exec */
		feed_comm(s, h->pid, h->pid, "", h->start_ns, true);
	} else {
		if (pid_seen(s, h->ppid)) {
			struct perf_event_header *f = rec_start(s, PERF_RECORD_FORK, 0);
			struct {
				uint32_t pid, ppid, tid, ptid;
				uint64_t time;
			} fk = {h->pid, h->ppid, h->pid, h->ppid, h->start_ns};
			rec_put(f, &fk, sizeof(fk));
			rec_trailer(f, h->pid, h->pid, h->start_ns);
			recorder_feed(s->r, f);
		}
		vec_push(&s->pids, h->pid);
	}
}

static void cb_record(void *ctx, uint32_t ring, const struct kh_rec_header *rec)
{
	struct agent_sampler *s = ctx;
	struct sampler_ring *sr = ring_of(s, ring);
	if (!sr)
		return;
	switch (rec->type) {
	case KH_REC_MAPS: {
		const char *text = (const char *)(rec + 1);
		size_t max = rec->size - sizeof(*rec);
		strbuf_add(&sr->maps, text, strnlen(text, max));
		break;
	}
	case KH_REC_MAPS_END:
		feed_maps(s, sr);
		break;
	case KH_REC_CPU_SAMPLE:
		if (rec->size >= sizeof(struct kh_rec_cpu_sample))
			feed_sample(s, sr, (const struct kh_rec_cpu_sample *)rec);
		break;
	case KH_REC_THREAD: {
		if (rec->size < sizeof(struct kh_rec_thread))
			break;
		const struct kh_rec_thread *t = (const struct kh_rec_thread *)rec;
		feed_comm(s, sr->pid, t->tid, t->name, t->time, false);
		break;
	}
	case KH_REC_LOCK_WAIT: {
		if (rec->size < sizeof(struct kh_rec_lock_wait))
			break;
		const struct kh_rec_lock_wait *w = (const struct kh_rec_lock_wait *)rec;
		feed_lock(s, sr, rec, sizeof(*w), w->time, w->tid, (const uint64_t *)(w + 1), w->nframes);
		break;
	}
	case KH_REC_LOCK_WAKE:
		if (rec->size >= sizeof(struct kh_rec_lock_wake))
			feed_lock(s, sr, rec, sizeof(struct kh_rec_lock_wake), sr->last_ns, sr->pid, NULL, 0);
		break;
	case KH_REC_LOCK_HOLD:
		if (rec->size >= sizeof(struct kh_rec_lock_hold))
			feed_lock(s, sr, rec, sizeof(struct kh_rec_lock_hold), sr->last_ns, sr->pid, NULL, 0);
		break;
	case KH_REC_CPU_LOST: {
		if (rec->size < sizeof(struct kh_rec_cpu_lost))
			break;
		const struct kh_rec_cpu_lost *l = (const struct kh_rec_cpu_lost *)rec;
		feed_lost(s, l->lost);
		s->st.signals += l->signals;
		break;
	}
	default:
		break;
	}
}

struct agent_sampler *agent_sampler_new(struct recorder *r)
{
	struct agent_sampler *s = xcalloc(1, sizeof(*s));
	s->r = r;
	s->ops = (struct agent_channel_ops){.ctx = s, .ring_new = cb_ring_new, .record = cb_record};
	return s;
}

void agent_sampler_free(struct agent_sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->rings.n; i++)
		strbuf_release(&s->rings.v[i].maps);
	vec_free(&s->rings);
	vec_free(&s->pids);
	free(s);
}

const struct agent_channel_ops *agent_sampler_ops(struct agent_sampler *s)
{
	return &s->ops;
}

void agent_sampler_get_stats(const struct agent_sampler *s, struct agent_sampler_stats *st)
{
	*st = s->st;
}
