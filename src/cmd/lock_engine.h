/* lock_engine.h - kiln lock's engines (lock_kernel.c, lock_agent.c) and
 * the session they fill: the waits in `in`, the stacks in `p`. */
#ifndef KILN_CMD_LOCK_ENGINE_H
#define KILN_CMD_LOCK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "analysis/lock.h"
#include "capture/target.h"
#include "profile/profile.h"
#include "util/strbuf.h"

enum lock_engine {
	LOCK_ENGINE_AUTO,
	LOCK_ENGINE_KERNEL,
	LOCK_ENGINE_AGENT,
};

struct lock_args {
	const char *output;
	bool force;
	enum lock_engine engine;
	const char *json;
	size_t limit;
	pid_t pid;
	double duration;
	bool quiet;
	char **argv;
};

struct lock_session {
	const struct lock_args *a;
	struct target t;
	struct profile *p; /* value types: waits, wait_ns, signal_wait_ns */
	struct lock_input in;
	uint64_t start, end, wall_start;
	uint64_t lost;
	const char *engine_name; /* "kernel" or "agent" */
	const char *sees, *blind;
	void *engine_ctx; /* the running engine's own state */
};

/* Whether the kernel engine may run here: 0, or the -errno that
 * perf_event_open gave for the futex tracepoint (or tracefs). */
int lock_kernel_probe(void);
/* Each engine launches (or attaches to) the target, collects until it
 * ends, and fills s; -1 to go on to the report, else the exit status
 * after saying what went wrong. */
int lock_kernel_run(struct lock_session *s);
int lock_agent_run(struct lock_session *s);

/* Polls poll_fn until the target exits, Ctrl-C or --duration; sets
 * s->start and s->end. */
void lock_session_wait(struct lock_session *s, size_t (*poll_fn)(struct lock_session *s, int timeout_ms));
/* The command line, or "pid N". */
void lock_session_command(const struct lock_args *a, struct strbuf *out);

#endif
