/* recorder.h - samples a target with perf_event_open and turns each record
 * into profile entries as it arrives: side-band records (mmap, comm, fork,
 * exit) into mappings and threads, samples into unwound, deduplicated
 * stacks. Stacks are unwound here, while recording, so the profile holds
 * program counters and never stack copies.
 */
#ifndef KILN_CAPTURE_RECORDER_H
#define KILN_CAPTURE_RECORDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/events.h"
#include "capture/thread_counts.h"
#include "profile/profile.h"
#include "util/strbuf.h"

enum call_graph_mode {
	CALL_GRAPH_FP,
	CALL_GRAPH_DWARF,
};

#define RECORDER_MAX_STACK_SIZE 65528u /* the kernel keeps a sample under 64 KiB */

/* The value types of the profile the recorder fills, in this order (the
 * caller adds them): each sample counts 1 in "samples" and its period in
 * the event's own ("cpu" nanoseconds for a clock, else events). */
enum recorder_value {
	RECORDER_VALUE_SAMPLES,
	RECORDER_VALUE_EVENTS,
	RECORDER_NVALUES,
};

/* Where a sample's numbers go, when not in enum recorder_value's order:
 * value indexes, -1 for none. An off-CPU interval puts its nanoseconds in
 * events, or in runnable when it was preempted; also gets the same
 * nanoseconds (a --wall profile's "wall"). */
struct recorder_slots {
	bool set; /* else samples 0, events 1, no runnable, no also */
	int8_t samples, events, runnable, also;
};

/* A sample of a tracepoint opened with raw data (recorder_options.raw),
 * handed to on_raw instead of being added to the profile. */
struct recorder_raw_sample {
	uint32_t pid, tid, cpu;
	uint64_t time;
	uint32_t stack;     /* its unwound stack in the profile; 0 for the companion event's */
	bool companion;     /* from recorder_options.companion */
	const uint8_t *raw; /* the tracepoint's fields; valid during the call only */
	uint32_t raw_size;
};

struct recorder_options {
	struct event_desc event;
	/* Tracepoints whose fields the caller decodes (kiln lock): each
	 * sample carries its raw data, the event counts in the kernel (a
	 * syscall tracepoint fires there) with no kernel call chain, and
	 * goes to on_raw(raw_ctx, ...), which may add profile samples. A
	 * companion (companion.name not NULL) is opened beside event on
	 * every thread with no stack copy, as an exit beside an entry. */
	bool raw;
	struct event_desc companion;
	void (*on_raw)(void *ctx, const struct recorder_raw_sample *s);
	void *raw_ctx;
	uint64_t freq;   /* samples per second (frequency mode) ... */
	uint64_t period; /* ... or every `period` events when freq is 0 */
	enum call_graph_mode call_graph;
	uint32_t stack_size; /* DWARF mode: bytes of user stack copied per sample */
	bool inherit;        /* follow threads and children created later */
	bool kernel;         /* try to include kernel stacks */
	uint64_t regs_mask;  /* DWARF mode: the user registers in each sample (perf's
	                      * PERF_REG_* bits); 0: arch_perf_regs_mask() */
	bool replay;         /* records come from a file (perf.data), not from a live
	                      * target: never read /proc for a process without maps */
	/* The event fires as a thread goes off the cpu (sched:sched_switch,
	 * or the context-switches software event): each sample is that
	 * thread's stack, and it weighs the nanoseconds until the thread is
	 * back (from context-switch records, see offcpu.h); intervals shorter
	 * than min_block are dropped. */
	bool offcpu;
	uint64_t min_block;
	/* With offcpu, the wake-up tracepoint (sched:sched_wakeup; name NULL:
	 * none), opened on every cpu with its raw data and filtered in the
	 * kernel to the target's threads (see wake_filter.h); its 4-byte field
	 * at wake_tid_offset is the woken thread: the part of an interval after
	 * it is runnable, not blocked (see offcpu.h). Where cpu-wide raw data
	 * is refused the recorder clears name and intervals stay whole. */
	struct event_desc wake;
	uint32_t wake_tid_offset;
	struct recorder_slots slots;
};

struct recorder_stats {
	uint64_t samples;
	uint64_t lost;          /* samples the kernel dropped (ring full) */
	uint64_t truncated;     /* stacks deeper than the whole stack copy, or the depth limit */
	uint64_t stack_reach;   /* DWARF mode: the most stack bytes above sp a whole unwind used
	                         * (the copy size that would have done for all of them) */
	uint64_t not_copied;    /* the kernel copied less user stack than was there (a page
	                         * not present, as while it faults in): cut short, not deep */
	uint64_t exec_cut;      /* taken inside execve after the old program's memory was gone */
	uint64_t unwind_errors; /* unwinds that stopped at a pc without a module or CFI, or at
	                         * a frame that made no progress */
	uint64_t records;
	uint64_t refused;             /* samples dropped unread while recorder_set_refusing() was on */
	uint64_t offcpu_intervals;    /* off-CPU: intervals kept ... */
	uint64_t offcpu_short;        /* ... and dropped as shorter than min_block */
	uint64_t offcpu_nostack;      /* kept without a stack: the switch-out sample was lost */
	uint64_t offcpu_wakes;        /* wake-ups seen (each splits the interval it ends) */
	bool offcpu_wake_refused;     /* wake-ups could not be read (cpu-wide raw data refused): intervals whole */
	bool offcpu_wake_range;       /* at some time too many threads for a list: ids from the lowest up passed */
	uint64_t offcpu_wake_filters; /* the wake-up events' filters set (once, then when a thread would not pass) */
	bool kernel_stacks;           /* kernel stacks were permitted */
	bool kernel_fallback;         /* kernel stacks were refused, fell back to user only */
	uint64_t first_time;          /* of the first record read (CLOCK_MONOTONIC ns) */
	int reader_prio;              /* enum reader_prio the ring reader ran at */
	uint64_t reader_lowered_ms;   /* time the governor held it at normal priority */
};

/* Samples a ring dropped (it was full) over one interval: between the last
 * record the ring kept before the loss and the record that reported it
 * (CLOCK_MONOTONIC ns, as sample times). */
struct recorder_loss {
	int cpu; /* the ring's cpu: what ran there then is under-counted */
	uint64_t from, to;
	uint64_t count;
};

struct recorder;

/* Creates a recorder that fills p (which the caller owns). */
struct recorder *recorder_new(struct profile *p, const struct recorder_options *o);
void recorder_free(struct recorder *r);

/* Opens events on a launched, not yet exec'd child, enabled at its exec.
 * Both opens also start the thread that copies the rings out (see
 * recorder_poll()).
 * Returns 0 or -errno (-EACCES/-EPERM: not permitted; -ENOENT/-EOPNOTSUPP:
 * the event is not supported here). */
int recorder_open_child(struct recorder *r, pid_t pid);
/* Opens events on every thread of a running process and reads its maps. */
int recorder_open_process(struct recorder *r, pid_t pid);
/* Enables attached events (launch mode enables itself at exec). */
void recorder_enable(struct recorder *r);
void recorder_disable(struct recorder *r);
/* Off-CPU: after the last poll, turns every thread still off the cpu
 * into an interval that ends at end (CLOCK_MONOTONIC ns). */
void recorder_close_offcpu(struct recorder *r, uint64_t end);

/* Waits up to timeout_ms for records, then processes what was copied out
 * of the rings since the last call. The copying is done by a thread of
 * the recorder's own (started by the opens, at raised priority, see
 * reader_sched.h; stopped by recorder_disable()); without it, and after
 * recorder_disable(), this call copies the rings itself (and again every
 * few ms while it processes; those records go to the next call, which
 * then does not wait). Returns the number of records processed. After
 * recorder_disable(), the call that finds nothing left also counts the
 * losses a full ring never reported (the kernel tells them with the next
 * record that fits, and none comes): from each event's own count, where
 * the kernel keeps one (Linux 6.0). */
size_t recorder_poll(struct recorder *r, int timeout_ms);

/* Handles one perf record (sample or side-band) as recorder_poll() does a
 * record read from a ring, without deferring; for replaying records and
 * for tests of the sample path. */
void recorder_feed(struct recorder *r, const struct perf_event_header *h);

/* A sample already decoded from another layout (a perf.data file's): the
 * fields of the recorder's own sample record. Pointers are into the
 * caller's memory and read during the call only. */
struct recorder_sample {
	uint16_t misc; /* the record header's */
	uint32_t pid, tid;
	uint64_t ip, time, cpu, period;
	uint64_t nr;                   /* call chain entries at chain (8 bytes each) */
	const uint8_t *chain;          /* may be NULL when nr is 0 */
	uint64_t abi;                  /* DWARF mode: user registers' ABI, 0 for none */
	const uint8_t *regs;           /* then one 8-byte register per bit of the regs mask */
	uint64_t stack_size, dyn_size; /* the user stack copy's size and the bytes filled */
	const uint8_t *stack;          /* stack_size bytes, or NULL when stack_size is 0 */
	const uint8_t *raw;            /* recorder_options.raw: the tracepoint's fields */
	uint32_t raw_size;
};

/* Handles one decoded sample as recorder_feed() does a sample record,
 * without the copy into the recorder's record layout. */
void recorder_feed_sample(struct recorder *r, const struct recorder_sample *s);

void recorder_get_stats(const struct recorder *r, struct recorder_stats *st);

/* For a caller that compacts the profile (profile_compact.h): marks in
 * live (one flag per profile mapping) the mappings the recorder's address
 * maps name, then renames them with map once the profile was rebuilt. */
void recorder_mark_mappings(const struct recorder *r, uint8_t *live);
void recorder_remap_mappings(struct recorder *r, const uint32_t *map);
/* Forgets the address maps of processes gone(ctx, pid) says are gone (its
 * followed children that exited); returns how many went. */
size_t recorder_forget_processes(struct recorder *r, bool (*gone)(void *ctx, uint32_t pid), void *ctx);
/* Forgets the per-thread state (counts, stack-copy times) of threads whose
 * exit record was read and of those gone(ctx, tid) says are gone (gone may
 * be NULL): with it, a recorder over days of thread churn keeps only
 * about the threads that still run. The lost-sample estimates
 * (recorder_lost_threads()) then leave the forgotten threads out. Returns
 * how many went. */
size_t recorder_forget_threads(struct recorder *r, bool (*gone)(void *ctx, uint32_t tid), void *ctx);
/* Threads the recorder holds state for. */
size_t recorder_threads(const struct recorder *r);
/* While on, samples are counted in stats.refused and dropped without being
 * unwound or added to the profile (side-band records are still handled,
 * so the address maps and threads stay right): a caller's back-pressure
 * when its memory budget is spent. */
void recorder_set_refusing(struct recorder *r, bool on);
/* The bytes the recorder holds: its own tables (address maps, per-thread
 * state, records copied and not yet handled) and its rings' mappings. Its
 * unwinder's call frame cache is not counted (it has its own cap). */
size_t recorder_bytes(struct recorder *r);
/* The loss intervals, oldest first per ring; valid until the next poll. */
size_t recorder_losses(const struct recorder *r, const struct recorder_loss **out);
/* After the last poll: the threads estimated to have lost samples, most
 * first (see thread_counts.h); valid until recorder_free(). *unreported
 * is how many threads' exit counts were lost with the samples: their
 * estimates are too low, or missing. */
size_t recorder_lost_threads(struct recorder *r, const struct thread_lost **out, size_t *unreported);
/* Appends the modules whose call frame information the unwinder refused. */
void recorder_refused_cfi(const struct recorder *r, struct strbuf *out);

#endif
