/* futex_op.h - the futex(2) ops sorted into waits and wakes, for both
 * engines of kiln lock: the kernel engine's tracepoint decoder
 * (capture/lock_futex.c) and the agent's futex hook (agent/agent_lock.c).
 * Inline and pure: the agent includes it without linking capture/. */
#ifndef KILN_CAPTURE_FUTEX_OP_H
#define KILN_CAPTURE_FUTEX_OP_H

#include <stdbool.h>
#include <stdint.h>

/* futex(2) ops, as <linux/futex.h> numbers them (not every libc has all) */
enum {
	KILN_FUTEX_WAIT = 0,
	KILN_FUTEX_WAKE = 1,
	KILN_FUTEX_FD = 2,
	KILN_FUTEX_REQUEUE = 3,
	KILN_FUTEX_CMP_REQUEUE = 4,
	KILN_FUTEX_WAKE_OP = 5,
	KILN_FUTEX_LOCK_PI = 6,
	KILN_FUTEX_UNLOCK_PI = 7,
	KILN_FUTEX_TRYLOCK_PI = 8,
	KILN_FUTEX_WAIT_BITSET = 9,
	KILN_FUTEX_WAKE_BITSET = 10,
	KILN_FUTEX_WAIT_REQUEUE_PI = 11,
	KILN_FUTEX_CMP_REQUEUE_PI = 12,
	KILN_FUTEX_LOCK_PI2 = 13,
	KILN_FUTEX_PRIVATE = 128,
	KILN_FUTEX_CLOCK_REALTIME = 256,
};

/* The op without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME. */
static inline uint32_t futex_op_cmd(uint32_t op)
{
	return op & ~(uint32_t)(KILN_FUTEX_PRIVATE | KILN_FUTEX_CLOCK_REALTIME);
}

/* Whether op makes the caller sleep until woken (WAIT, WAIT_BITSET,
 * LOCK_PI, LOCK_PI2, WAIT_REQUEUE_PI). */
static inline bool futex_op_waits(uint32_t op)
{
	switch (futex_op_cmd(op)) {
	case KILN_FUTEX_WAIT:
	case KILN_FUTEX_WAIT_BITSET:
	case KILN_FUTEX_LOCK_PI:
	case KILN_FUTEX_LOCK_PI2:
	case KILN_FUTEX_WAIT_REQUEUE_PI:
		return true;
	default:
		return false;
	}
}

/* Whether op wakes others (WAKE, WAKE_BITSET, WAKE_OP, UNLOCK_PI,
 * REQUEUE, CMP_REQUEUE, CMP_REQUEUE_PI). */
static inline bool futex_op_wakes(uint32_t op)
{
	switch (futex_op_cmd(op)) {
	case KILN_FUTEX_WAKE:
	case KILN_FUTEX_WAKE_BITSET:
	case KILN_FUTEX_WAKE_OP:
	case KILN_FUTEX_UNLOCK_PI:
	case KILN_FUTEX_REQUEUE:
	case KILN_FUTEX_CMP_REQUEUE:
	case KILN_FUTEX_CMP_REQUEUE_PI:
		return true;
	default:
		return false;
	}
}

#endif
