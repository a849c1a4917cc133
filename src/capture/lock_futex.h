/* lock_futex.h - the futex syscall tracepoints (syscalls:sys_enter_futex,
 * sys_exit_futex) as kiln lock reads them: their fields' offsets from
 * tracefs, a raw sample decoded into one event, the ops' names (the ops
 * sorted into waits and wakes are futex_op.h's, shared with the agent). */
#ifndef KILN_CAPTURE_LOCK_FUTEX_H
#define KILN_CAPTURE_LOCK_FUTEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/futex_op.h"

/* Where the fields are in the raw data (each tracepoint's "format"). */
struct futex_format {
	uint16_t enter_id, exit_id; /* common_type of each tracepoint */
	uint32_t uaddr, op, val;    /* offsets in sys_enter_futex */
	uint32_t ret;               /* offset in sys_exit_futex */
};

/* Reads both formats from dir (NULL: /sys/kernel/tracing, else the
 * debugfs copy). Returns 0, -ENOENT when tracefs has no futex syscall
 * events, -EACCES when it cannot be read, -EPROTO for a format without
 * the fields. */
int futex_format_load(struct futex_format *f, const char *dir);
/* Parses one "format" file's text: sets *id and the offsets of the named
 * fields (names[i] -> offs[i], left alone when absent). Returns how many
 * fields were found, or -EPROTO without an ID line. */
int futex_format_parse(const char *text, uint16_t *id, const char *const *names, uint32_t *offs, size_t n);

enum futex_event_kind {
	FUTEX_EV_NONE, /* not one of the two tracepoints, or too short */
	FUTEX_EV_ENTER,
	FUTEX_EV_EXIT,
};

struct futex_event {
	enum futex_event_kind kind;
	uint64_t uaddr; /* enter */
	uint32_t op;    /* enter: the whole op, flags included */
	int64_t ret;    /* exit */
};

/* Decodes a raw tracepoint sample (bytes from the kernel: any size). */
void futex_decode(const struct futex_format *f, const uint8_t *raw, size_t n, struct futex_event *out);

/* "FUTEX_WAIT_BITSET_PRIVATE" and so on; "FUTEX_OP_<n>" for others
 * (written into buf, size bytes, when not a constant). */
const char *futex_op_name(uint32_t op, char *buf, size_t size);

#endif
