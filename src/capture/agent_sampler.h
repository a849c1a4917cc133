/* agent_sampler.h - the agent's cpu mode, kiln's side: turns the records
 * of a channel whose agent samples CPU time (KH_REC_CPU_SAMPLE, thread
 * names, maps, forks and execs) into the perf records the recorder takes
 * from a perf_event ring (recorder_feed()), so both engines make the same
 * profile through one sample path. The lock mode's records come the same
 * way, as samples with raw data for a recorder in raw mode (agent_lock.h).
 */
#ifndef KILN_CAPTURE_AGENT_SAMPLER_H
#define KILN_CAPTURE_AGENT_SAMPLER_H

#include <stdint.h>

#include "capture/agent_channel.h"
#include "capture/recorder.h"

struct agent_sampler;

/* What the agent told besides its samples. */
struct agent_sampler_stats {
	uint64_t samples; /* sample records read */
	uint64_t lost;    /* samples the agents dropped (busy, ring full) */
	uint64_t cut;     /* stacks the agent's unwinder cut short */
	uint64_t signals; /* timer signals the processes that exited received */
};

/* A sampler that feeds r (the caller's; a recorder made for the fp call
 * graph with replay set: no /proc reads). */
struct agent_sampler *agent_sampler_new(struct recorder *r);
/* Accepts NULL. */
void agent_sampler_free(struct agent_sampler *s);
/* The callbacks to hand agent_channel_poll(); valid while s lives. */
const struct agent_channel_ops *agent_sampler_ops(struct agent_sampler *s);
void agent_sampler_get_stats(const struct agent_sampler *s, struct agent_sampler_stats *st);

#endif
