/* lock_agent.c - kiln lock's agent engine: the preloaded agent in its lock
 * mode (src/agent/agent_lock.c) sends waits, wakes and hold times over its
 * channel; agent_sampler.c turns them into raw samples for a recorder,
 * which unwinds nothing (the agent sent program counters) and hands each
 * here with its stack. No privileges needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/lock.h"
#include "capture/agent_channel.h"
#include "capture/agent_lock.h"
#include "capture/agent_sampler.h"
#include "capture/events.h"
#include "capture/recorder.h"
#include "cmd/cmd.h"
#include "cmd/lock_engine.h"

#define LINGER_NS  5000000000ull /* how long children may outlive the command */
#define PATIENT_NS 200000000ull  /* ... when the only rings left are of processes that still run */

struct agent_ctx {
	struct lock_session *s;
	struct agent_channel *ch;
	struct agent_sampler *sampler;
	struct recorder *r;
};

static enum lock_kind kind_of(uint32_t k)
{
	switch (k) {
	case AGENT_LOCK_MUTEX:
		return LOCK_KIND_MUTEX;
	case AGENT_LOCK_RWLOCK:
		return LOCK_KIND_RWLOCK;
	case AGENT_LOCK_SEMAPHORE:
		return LOCK_KIND_SEMAPHORE;
	case AGENT_LOCK_CONDVAR:
		return LOCK_KIND_CONDVAR;
	default:
		return LOCK_KIND_FUTEX;
	}
}

static void on_raw(void *vctx, const struct recorder_raw_sample *rs)
{
	struct agent_ctx *k = vctx;
	struct lock_input *in = &k->s->in;
	struct agent_lock_event ev;
	agent_lock_decode(rs->raw, rs->raw_size, &ev);
	switch (ev.what) {
	case AGENT_LOCK_WAIT: {
		struct lock_wait *w = vec_grow(&in->waits);
		w->start = ev.time;
		w->ns = ev.ns;
		w->uaddr = ev.addr;
		w->tid = ev.tid;
		w->pid = rs->pid;
		w->stack = rs->stack;
		w->kind = kind_of(ev.kind);
		break;
	}
	case AGENT_LOCK_WAKE:
		lock_input_wake(in, rs->pid, ev.tid, ev.addr, ev.wakes, ev.several);
		break;
	case AGENT_LOCK_HOLD:
		if (!ev.addr) {
			k->s->lost += ev.lost;
			break;
		}
		struct lock_hold *h = vec_grow(&in->holds);
		h->uaddr = ev.addr;
		h->pid = rs->pid;
		h->acquisitions = ev.acquisitions;
		h->uncontended = ev.uncontended;
		h->hold_ns = ev.hold_ns;
		h->hold_max_ns = ev.hold_max_ns;
		break;
	default:
		break;
	}
}

static size_t poll_agent(struct lock_session *s, int timeout_ms)
{
	struct agent_ctx *k = s->engine_ctx;
	uint64_t n = agent_channel_poll(k->ch, agent_sampler_ops(k->sampler));
	if (!n && timeout_ms) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return (size_t)n;
}

/* After the command exited: what its processes wrote last. */
static void drain(struct agent_ctx *k)
{
	uint64_t exited = cmd_now_ns();
	for (;;) {
		uint64_t n = agent_channel_poll(k->ch, agent_sampler_ops(k->sampler));
		if (agent_channel_done(k->ch))
			break;
		size_t running;
		size_t pending = agent_channel_pending(k->ch, &running, NULL, 0);
		uint64_t waited = cmd_now_ns() - exited;
		if (waited > LINGER_NS || (pending == running && waited > PATIENT_NS))
			break;
		if (!n) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

int lock_agent_run(struct lock_session *s)
{
	const struct lock_args *a = s->a;
	struct agent_ctx k = {.s = s};
	int status = -1;
	char *agent = NULL;
	s->engine_name = "agent";
	s->sees = "pthread locks, semaphores, condvars and futex calls through syscall(), in the process";
	s->blind = "static binaries, futex calls not made through libc's syscall(), hold times of Rust std locks";
	agent = cmd_agent_find();
	if (!agent) {
		kiln_error("cannot find libkiln-agent.so next to kiln or in ../lib/kiln (the agent engine needs it); "
		           "set KILN_AGENT=/path/to/libkiln-agent.so");
		return 1;
	}
	int rc = agent_channel_new(&k.ch);
	if (rc) {
		kiln_error("cannot create the agent's channel in /dev/shm or /tmp: %s", strerror(-rc));
		free(agent);
		return 1;
	}
	cmd_agent_env(agent, agent_channel_dir(k.ch), "lock", 0);
	struct event_desc ev = {0};
	event_parse("cpu-clock", &ev);
	struct recorder_options ro = {
	    .event = ev,
	    .call_graph = CALL_GRAPH_FP,
	    .inherit = true,
	    .replay = true, /* the agent sends the maps: no /proc reads */
	    .raw = true,
	    .on_raw = on_raw,
	    .raw_ctx = &k,
	};
	k.r = recorder_new(s->p, &ro);
	k.sampler = agent_sampler_new(k.r);
	s->engine_ctx = &k;
	rc = target_launch(&s->t, a->argv);
	if (rc) {
		kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
		status = 1;
		goto out_free;
	}
	rc = target_start(&s->t);
	if (rc) {
		status = cmd_exec_error(a->argv[0], rc, NULL);
		goto out_free;
	}
	lock_session_wait(s, poll_agent);
	drain(&k);
	if (!agent_channel_rings(k.ch)) {
		kiln_error("the agent did not start in '%s' (a static binary, or LD_PRELOAD removed); nothing was "
		           "recorded; use --engine kernel",
		           a->argv[0]);
		status = 1;
	}
out_free:
	s->engine_ctx = NULL;
	agent_sampler_free(k.sampler);
	recorder_free(k.r);
	agent_channel_free(k.ch);
	free(agent);
	return status;
}
