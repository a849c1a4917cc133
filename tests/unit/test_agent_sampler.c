/* test_agent_sampler.c - the agent's cpu-mode records (the profiled
 * program writes them: untrusted) through capture/agent_sampler into the
 * recorder: maps text split anywhere, samples with their period and
 * losses, thread names, an exec and a fork, and malformed records that
 * must be dropped, not read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/agent_sampler.h"
#include "capture/recorder.h"
#include "profile/profile.h"

#define PID   777u
#define CHILD 778u
#define LO    0x400000ull

struct fixture {
	struct profile *p;
	struct recorder *r;
	struct agent_sampler *s;
	const struct agent_channel_ops *ops;
};

static void setup_fx(struct fixture *f)
{
	f->p = profile_new();
	struct recorder_options o = {0};
	assert_int_equal(event_parse("cpu-clock", &o.event), 0);
	o.freq = 997;
	o.call_graph = CALL_GRAPH_FP;
	o.replay = true;
	profile_add_value_type(f->p, "samples", "count");
	profile_add_value_type(f->p, "cpu", "nanoseconds");
	f->r = recorder_new(f->p, &o);
	f->s = agent_sampler_new(f->r);
	f->ops = agent_sampler_ops(f->s);
}

static void teardown_fx(struct fixture *f)
{
	agent_sampler_free(f->s);
	recorder_free(f->r);
	profile_free(f->p);
}

static void ring(struct fixture *f, uint32_t idx, uint32_t pid, uint32_t ppid, uint64_t start)
{
	struct kh_ring_header h = {.pid = pid, .ppid = ppid, .start_ns = start, .mode = KH_MODE_CPU};
	f->ops->ring_new(f->ops->ctx, idx, &h);
}

static void rec(struct fixture *f, uint32_t idx, uint32_t type, const void *payload, uint32_t len)
{
	uint64_t buf[512] = {0};
	struct kh_rec_header *h = (struct kh_rec_header *)buf;
	h->type = type;
	h->size = (uint32_t)((sizeof(*h) + len + 7) & ~7u);
	if (len)
		memcpy(h + 1, payload, len);
	f->ops->record(f->ops->ctx, idx, h);
}

static void maps(struct fixture *f, uint32_t idx, const char *text, size_t cut)
{
	rec(f, idx, KH_REC_MAPS, text, (uint32_t)cut);
	rec(f, idx, KH_REC_MAPS, text + cut, (uint32_t)(strlen(text) - cut));
	rec(f, idx, KH_REC_MAPS_END, NULL, 0);
}

/* A sample record; size_frames: how many frames the record really holds. */
static void sample(struct fixture *f, uint32_t idx, uint32_t tid, uint64_t time, const uint64_t *pcs, uint16_t n,
                   uint32_t size_frames, uint64_t lost)
{
	uint64_t buf[64] = {0};
	struct kh_rec_cpu_sample *s = (struct kh_rec_cpu_sample *)buf;
	s->h.type = KH_REC_CPU_SAMPLE;
	s->h.size = (uint32_t)(sizeof(*s) + size_frames * 8);
	s->time = time;
	s->period = 4000000;
	s->lost = lost;
	s->tid = tid;
	s->nframes = n;
	memcpy(s + 1, pcs, (size_t)size_frames * 8);
	f->ops->record(f->ops->ctx, idx, &s->h);
}

static const char maps_text[] = "00400000-00500000 r-xp 00000000 08:01 1234 /opt/app/bin/server\n"
                                "00600000-00700000 rw-p 00100000 08:01 1234 /opt/app/bin/server\n"
                                "7f0000000000-7f0000100000 r-xp 00002000 08:01 99 /lib/libc.so.6\n";

static void test_samples_maps_threads(void **state)
{
	(void)state;
	struct fixture f;
	setup_fx(&f);
	ring(&f, 0, PID, 1, 1000);
	maps(&f, 0, maps_text, 70); /* cut inside the second line */
	struct kh_rec_thread t = {.time = 1100, .tid = PID + 1};
	memcpy(t.name, "worker-1", 9);
	rec(&f, 0, KH_REC_THREAD, (char *)&t + sizeof(t.h), sizeof(t) - sizeof(t.h));
	uint64_t pcs[3] = {LO + 0x100, 0x7f0000000200, LO + 0x300};
	sample(&f, 0, PID + 1, 2000, pcs, 3, 3, 2);
	struct kh_rec_cpu_lost l = {.lost = 5, .signals = 9};
	rec(&f, 0, KH_REC_CPU_LOST, (char *)&l + sizeof(l.h), sizeof(l) - sizeof(l.h));

	assert_int_equal(f.p->samples.n, 1);
	const struct profile_sample *s = &f.p->samples.v[0];
	assert_int_equal(s->pid, PID);
	assert_int_equal(s->tid, PID + 1);
	assert_int_equal(s->values[1], 4000000); /* the period: the CPU time it stands for */
	uint32_t node = s->stack;
	for (int d = 0; d < 3; d++) { /* leaf first: the pc, then return addresses minus one */
		const struct profile_location *loc = &f.p->locations.v[f.p->stacks.v[node].location];
		assert_int_equal(loc->address, d ? pcs[d] - 1 : pcs[d]);
		assert_int_not_equal(loc->mapping, PROFILE_NO_MAPPING);
		const char *path = profile_str(f.p, f.p->mappings.v[loc->mapping].path);
		assert_string_equal(path, d == 1 ? "/lib/libc.so.6" : "/opt/app/bin/server");
		node = f.p->stacks.v[node].parent;
	}
	assert_int_equal(node, 0);
	const struct profile_thread *th = profile_find_thread(f.p, PID + 1);
	assert_non_null(th);
	assert_string_equal(profile_str(f.p, th->name), "worker-1");

	struct recorder_stats rs;
	recorder_get_stats(f.r, &rs);
	assert_int_equal(rs.lost, 7);
	struct agent_sampler_stats st;
	agent_sampler_get_stats(f.s, &st);
	assert_int_equal(st.samples, 1);
	assert_int_equal(st.lost, 7);
	assert_int_equal(st.signals, 9);
	teardown_fx(&f);
}

static void test_malformed_dropped(void **state)
{
	(void)state;
	struct fixture f;
	setup_fx(&f);
	ring(&f, 0, PID, 1, 1000);
	maps(&f, 0, maps_text, 10);
	uint64_t pcs[4] = {LO + 1, LO + 2, LO + 3, LO + 4};
	sample(&f, 0, PID, 2000, pcs, 40, 4, 0); /* says 40 frames, holds 4 */
	sample(&f, 0, PID, 2001, pcs, 0, 0, 0);  /* no frame at all */
	/* a record shorter than its struct */
	uint64_t tiny[2] = {0};
	struct kh_rec_header *h = (struct kh_rec_header *)tiny;
	h->type = KH_REC_CPU_SAMPLE;
	h->size = sizeof(tiny);
	f.ops->record(f.ops->ctx, 0, h);
	h->type = KH_REC_THREAD;
	f.ops->record(f.ops->ctx, 0, h);
	/* a record of a ring never announced */
	sample(&f, 5, PID, 2002, pcs, 1, 1, 0);
	/* maps lines that are not maps lines */
	static const char junk[] = "garbage\nffff-1000 r-xp 0 0:0 0 /x\n";
	rec(&f, 0, KH_REC_MAPS, junk, sizeof(junk) - 1);
	rec(&f, 0, KH_REC_MAPS_END, NULL, 0);
	assert_int_equal(f.p->samples.n, 0);
	sample(&f, 0, PID, 2003, pcs, 4, 4, 0);
	assert_int_equal(f.p->samples.n, 1);
	teardown_fx(&f);
}

static void test_exec_and_fork(void **state)
{
	(void)state;
	struct fixture f;
	setup_fx(&f);
	ring(&f, 0, PID, 1, 1000);
	maps(&f, 0, maps_text, 0);
	uint64_t pc = LO + 0x10;
	sample(&f, 0, PID, 1500, &pc, 1, 1, 0);
	/* the same process after an exec: a new image, other maps */
	ring(&f, 1, PID, 1, 3000);
	maps(&f, 1, "00400000-00410000 r-xp 00000000 08:01 5 /usr/bin/other\n", 5);
	sample(&f, 1, PID, 3500, &pc, 1, 1, 0);
	/* a forked child: the parent's maps until its own come */
	ring(&f, 2, CHILD, PID, 4000);
	sample(&f, 2, CHILD, 4500, &pc, 1, 1, 0);
	assert_int_equal(f.p->samples.n, 3);
	const char *want[3] = {"/opt/app/bin/server", "/usr/bin/other", "/usr/bin/other"};
	for (int i = 0; i < 3; i++) {
		const struct profile_location *loc = &f.p->locations.v[f.p->stacks.v[f.p->samples.v[i].stack].location];
		assert_int_not_equal(loc->mapping, PROFILE_NO_MAPPING);
		assert_string_equal(profile_str(f.p, f.p->mappings.v[loc->mapping].path), want[i]);
	}
	teardown_fx(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples_maps_threads),
	    cmocka_unit_test(test_malformed_dropped),
	    cmocka_unit_test(test_exec_and_fork),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
