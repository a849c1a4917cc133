/* agent_channel.h - kiln's side of the shared-memory channel to
 * libkiln-agent.so (wire format: src/agent/channel_format.h).
 *
 * kiln makes a private directory, passes it to the target in KILN_HEAP_DIR
 * (with LD_PRELOAD), and every traced process (each fork, each exec) creates
 * one ring file there; kiln unlinks each as soon as it has mapped it. A
 * sandboxed host's later fork children write into spare rings of a pool
 * file instead, which kiln maps once and gives back slot by slot. agent_channel_poll() finds new rings, hands every
 * record to the caller in order, answers the leak-scan handshake and frees
 * ring space, which lets a waiting target go on.
 */
#ifndef KILN_CAPTURE_AGENT_CHANNEL_H
#define KILN_CAPTURE_AGENT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/channel_format.h"
#include "capture/scan_regions.h"

struct agent_channel;

/* What the channel hands over; `ring` numbers rings from 0 in the order found. */
struct agent_channel_ops {
	void *ctx;
	/* A new ring (a new process image). */
	void (*ring_new)(void *ctx, uint32_t ring, const struct kh_ring_header *h);
	/* One record, in the order the process wrote them. */
	void (*record)(void *ctx, uint32_t ring, const struct kh_rec_header *rec);
	/* The process asks for its live blocks to scan: return them sorted by
	 * address in a malloc'ed array the channel frees, *n their count.
	 * Returns 0 or -errno. */
	int (*live_blocks)(void *ctx, uint32_t ring, struct kh_live_block **out, uint64_t *n);
	/* The scan's answer: cls[i] (enum kh_leak_class) for blocks[i]. */
	void (*leak_classes)(void *ctx, uint32_t ring, const struct kh_live_block *blocks, const uint8_t *cls,
	                     uint64_t n);
	/* The ring ends: the process exited, exec'd or died; `clean` when it
	 * said goodbye. pending (the stack of an allocation whose
	 * KH_REC_STACK_OF never came, if any) is valid during the call only. */
	void (*ring_end)(void *ctx, uint32_t ring, const struct kh_pending *pending, bool clean);
};

/* Makes the channel's directory (in /dev/shm, else TMPDIR or /tmp), named
 * kiln-heap-PID-START-XXXXXX after this process (START: its start time in
 * clock ticks, as /proc/PID/stat says), first sweeping each place for the
 * channels of kiln processes that died without removing theirs.
 * Returns 0 or -errno. */
int agent_channel_new(struct agent_channel **out);
/* Removes the channel directories in base whose kiln is gone: its pid
 * lives no more, or now names a process started at another time (a reused
 * pid). Only directories of this user, named as agent_channel_new() names
 * them. Returns how many were removed, or -errno. */
int agent_channel_sweep(const char *base);
/* Unmaps everything and removes the directory and its files. Accepts NULL. */
void agent_channel_free(struct agent_channel *ch);
/* The directory to pass to the agent in KILN_HEAP_DIR. */
const char *agent_channel_dir(const struct agent_channel *ch);
/* Reads what every ring holds now. Returns the number of records read. */
uint64_t agent_channel_poll(struct agent_channel *ch, const struct agent_channel_ops *ops);
/* True when every ring seen has ended (see ring_end) and no new one
 * appeared since: poll once more after the last ring ends. */
bool agent_channel_done(const struct agent_channel *ch);
/* How many rings have not ended; *running of them belong to processes
 * that still run (their pids in pids[], at most max of them), the others
 * end at the next polls. For a command that left processes behind
 * (daemons): kiln can stop waiting for them once pending == *running. */
size_t agent_channel_pending(const struct agent_channel *ch, size_t *running, uint32_t *pids, size_t max);
/* How many rings were seen, and how often agents found a ring full. */
uint32_t agent_channel_rings(const struct agent_channel *ch);
uint64_t agent_channel_waits(const struct agent_channel *ch);
/* How many processes had other threads at exit that kiln could not stop
 * (ptrace refused): their stacks were scanned whole, without registers. */
uint32_t agent_channel_no_regs(const struct agent_channel *ch);

/* The fork children of a sandboxed host that found no spare ring
 * (channel_format.h's pool): their calls were counted, not recorded. */
#define AGENT_COUNTED_PIDS 32
struct agent_counted {
	uint32_t processes;
	uint64_t allocs, frees, bytes;
	uint32_t pids[AGENT_COUNTED_PIDS]; /* the first of them */
	uint32_t npids;
};
/* Sums what the pools counted so far. */
void agent_channel_counted(const struct agent_channel *ch, struct agent_counted *out);

/* A finished leak scan: the mappings it read besides the modules and the
 * stacks, each with the bytes the agent scanned (kh_live_region). */
struct agent_scan {
	uint32_t pid;
	scan_region_vec regions;
};
/* The finished scans so far, valid until the next poll; returns how many. */
size_t agent_channel_scans(const struct agent_channel *ch, const struct agent_scan **out);

#endif
