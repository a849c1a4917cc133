/* events.h - perf event names (as perf spells them) to perf_event_attr,
 * shared by record and stat. */
#ifndef KILN_CAPTURE_EVENTS_H
#define KILN_CAPTURE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/perf_event.h>

struct event_desc {
	const char *name; /* canonical name, e.g. "cpu-clock" */
	uint32_t type;    /* PERF_TYPE_* */
	uint64_t config;
	bool is_clock; /* counts nanoseconds (cpu-clock, task-clock) */
	bool is_tracepoint;
};

/* Parses an event name: perf's software and hardware names and aliases
 * ("cpu-clock", "cycles", "cs", ...), "sw:NAME"/"hw:NAME", and tracepoints
 * "subsystem:event". Returns 0, -ENOENT for an unknown name, or -EACCES
 * when tracefs cannot be read for a tracepoint id. name is copied into
 * storage owned by a static table or by out (for tracepoints). */
int event_parse(const char *name, struct event_desc *out);

/* The byte offsets (and, when sizes is not NULL, the widths) of the n
 * named fields in the text of a tracefs format file ("\tfield:pid_t
 * pid;\toffset:24;\tsize:4;..."): a field's name is the last word of its
 * declaration. Returns how many were found; the others are left as they
 * were. */
int event_format_fields(const char *text, const char *const *names, uint32_t *offs, uint32_t *sizes, size_t n);

/* The byte offset of a tracepoint's field (as "sched:sched_wakeup",
 * "pid") in its raw sample data, from tracefs's format file; the field
 * must be 4 bytes wide. Returns 0, -ENOENT (no such tracepoint or field,
 * or another width) or -EACCES (tracefs not readable). */
int event_tracepoint_field(const char *name, const char *field, uint32_t *offset);

/* Makes tracefs readable: 0 when /sys/kernel/tracing (or the debugfs copy)
 * has events, else mounts tracefs at /sys/kernel/tracing; -EPERM when not
 * root (the fix: `mount -t tracefs nodev /sys/kernel/tracing` as root). */
int event_tracefs_mount(void);

/* Calls fn for every software, hardware and cache event name kiln knows. */
void event_list(void (*fn)(void *ctx, const struct event_desc *e), void *ctx);

/* Whether this machine can count e for the calling process: 0, or the
 * -errno of perf_event_open (-ENOENT/-EOPNOTSUPP: no such PMU event). */
int event_probe(const struct event_desc *e);
/* event_probe() with the read_format bits given (PERF_FORMAT_LOST needs
 * Linux 6.0): -EINVAL where this kernel does not know them. */
int event_probe_format(const struct event_desc *e, uint64_t read_format);

/* "software", "hardware", "cache", "tracepoint" or "raw": e's PMU kind. */
const char *event_kind(const struct event_desc *e);

/* perf_event_open(2), which glibc does not wrap. */
int event_open(struct perf_event_attr *attr, int pid, int cpu, int group_fd, unsigned long flags);

/* Reads an integer from a /proc/sys file; returns dflt when unreadable. */
long event_read_sysctl(const char *path, long dflt);

#endif
