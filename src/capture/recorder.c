/* recorder.c - perf_event sampling into a profile, unwinding as it goes. */
#include "capture/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "capture/maps.h"
#include "capture/offcpu.h"
#include "capture/proc_stat.h"
#include "capture/wake_filter.h"
#include "capture/perf_ring.h"
#include "capture/reader_sched.h"
#include "capture/thread_counts.h"
#include "unwind/unwind.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define MAX_FRAMES 1024
/* Rings are sized to hold this long of samples at the sampling rate, so
 * a reader woken late still finds room; within these bounds (pages). */
#define RING_HOLD_MS      250
#define RING_MIN_PAGES    256u   /* 1 MiB */
#define RING_MAX_PAGES    16384u /* 64 MiB */
#define RING_TOTAL_MAX    (512ull << 20)
#define RING_EVENT_RATE   4000u             /* events a second per cpu planned for when every event is a sample */
#define DRAIN_EVERY_NS    2000000ull        /* re-drain the rings while unwinding */
#define LOCAL_MAX_BYTES   (256ull << 20)    /* records copied out, not yet handled */
#define REC_BUF_FIRST     ((size_t)2 << 20) /* one huge page */
#define REC_BUF_READY     ((size_t)1 << 26) /* 64 MiB: the most touched before the target runs */
#define LOSS_MERGE_GAP_NS 100000000ull      /* losses this close on one ring are one interval */

/* Records copied out of the rings, 8-byte aligned, handled after the ring
 * space went back to the kernel. */
struct rec_buf {
	uint8_t *v;
	size_t len, cap, nrec;
};

/* What the drain knows of each ring: the time of its last record, where a
 * loss it reports next began. */
struct ring_state {
	uint64_t last_time;
	uint64_t reported_lost; /* what its PERF_RECORD_LOSTs said */
};

/* An event writing into a ring it does not own (a later thread's, a
 * companion): its lost count is that ring's. */
struct extra_event {
	int fd;
	uint32_t ring;
};

/* A counter kiln opened itself (not inherited), and the thread it counts. */
struct opened_event {
	int fd;
	uint32_t tid;
};

/* sample_id_all trailer for our sample_type: pid/tid, time, cpu/res */
struct sample_id {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu, res;
};

struct recorder {
	struct profile *p;
	struct recorder_options o;
	struct perf_event_attr attr;
	struct maps maps;
	struct unwinder *unwinder;
	VEC(struct perf_ring) rings;   /* one per cpu */
	VEC(struct extra_event) extra; /* events redirected into a ring */
	VEC(struct pollfd) pfds;
	struct recorder_stats st;
	int max_stack; /* kernel callchain depth limit */
	uint64_t regs_mask;
	int ncpus;
	uint64_t locs_scratch[MAX_FRAMES];
	uint32_t loc_ids[MAX_FRAMES];
	/* Samples whose ip had no mapping yet: the mapping's record may still
	 * sit unread in another cpu's ring. Retried once, next round. */
	VEC(struct perf_event_header *) deferred;
	bool deferring;        /* false while retrying and at the final drain */
	size_t round_deferred; /* samples retried in this round */
	/* The rings are copied out (drained) first and handled after, and
	 * drained again every DRAIN_EVERY_NS while handling, so unwinding
	 * never holds ring space: cur is being handled, next fills. */
	struct rec_buf cur, next;
	VEC(struct ring_state) ring_state; /* parallel to rings */
	VEC(struct recorder_loss) losses;
	uint64_t last_drain;
	size_t ring_pages; /* planned data pages per ring */
	/* The drainer: a thread that only copies the rings into next, at
	 * raised priority, while this one unwinds at normal priority. It
	 * owns next (under lock), ring_state, losses, first_time and the
	 * sched fields while it runs; the caller's thread reads them after
	 * it stopped. Without it, recorder_poll() drains by itself. */
	struct {
		pthread_t thread;
		pthread_mutex_t lock;
		pthread_cond_t ready; /* next has records */
		int stop_fd;          /* an eventfd that ends its poll */
		bool stop;            /* atomic: set before stop_fd is written */
		bool running;
	} drainer;
	uint64_t first_time;
	struct reader_sched sched;
	bool sched_raised;
	int reader_prio;
	uint64_t reader_lowered_ms;
	/* which threads lost samples: counted against sampled, per thread */
	struct thread_counts tc;
	/* tid -> time of its latest sample with a whole user stack copy: an
	 * uncopied stack just before an exec record is inside that execve
	 * only if nothing of the thread was copied in between */
	struct hashmap copied_at;
	VEC(struct opened_event) opened;
	VEC(struct thread_lost) lost_threads;
	size_t lost_unreported;       /* threads whose exit counts were lost too */
	struct offcpu_pairer offcpu;  /* o.offcpu: switches not yet paired */
	struct wake_filter wakef;     /* o.wake: the threads its events keep */
	VEC(int) wake_fds;            /* o.wake: its event per ring's cpu */
	VEC(uint64_t) wake_gone_lost; /* per ring: lost by wake-up events closed since */
	bool disabled;                /* recorder_disable() ran: no wake-up reopening, and the
	                               * poll that finds the rings empty counts held losses */
	bool refusing;                /* recorder_set_refusing() */
	bool lost_readable;           /* the kernel counts lost records per event */
	uint64_t opened_at;           /* when the events were opened (CLOCK_MONOTONIC ns) */
};

/* The records the event of fd lost (its ring was full); 0 where the
 * kernel does not count them. */
static uint64_t event_lost(int fd)
{
	uint64_t v[2]; /* the count, then the lost records */
	return read(fd, v, sizeof(v)) == (ssize_t)sizeof(v) ? v[1] : 0;
}

struct recorder *recorder_new(struct profile *p, const struct recorder_options *o)
{
	struct recorder *r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->o = *o;
	maps_init(&r->maps, p);
	thread_counts_init(&r->tc);
	hashmap_init(&r->copied_at);
	r->drainer.stop_fd = -1;
	offcpu_pairer_init(&r->offcpu);
	wake_filter_init(&r->wakef);
	if (!o->slots.set)
		r->o.slots = (struct recorder_slots){true, RECORDER_VALUE_SAMPLES, RECORDER_VALUE_EVENTS, -1, -1};
	if (o->call_graph == CALL_GRAPH_DWARF)
		r->unwinder = unwinder_new();
	r->max_stack = (int)event_read_sysctl("/proc/sys/kernel/perf_event_max_stack", 127);
	if (r->max_stack <= 0 || r->max_stack > MAX_FRAMES - 2)
		r->max_stack = r->max_stack <= 0 ? 127 : MAX_FRAMES - 2;
	r->regs_mask = o->regs_mask ? o->regs_mask : arch_perf_regs_mask();
	/* whether the kernel counts each event's lost records for read() */
	static const struct event_desc dummy = {"dummy", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, false, false};
	r->lost_readable = event_probe_format(&dummy, PERF_FORMAT_LOST) == 0;
	long n = sysconf(_SC_NPROCESSORS_CONF);
	r->ncpus = n > 0 ? (int)n : 1;
	return r;
}

static void stop_drainer(struct recorder *r);
static void close_wake_fds(struct recorder *r);

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	stop_drainer(r);
	for (size_t i = 0; i < r->rings.n; i++)
		perf_ring_release(&r->rings.v[i]);
	for (size_t i = 0; i < r->extra.n; i++)
		close(r->extra.v[i].fd);
	vec_free(&r->rings);
	vec_free(&r->extra);
	vec_free(&r->wake_gone_lost);
	vec_free(&r->pfds);
	for (size_t i = 0; i < r->deferred.n; i++)
		free(r->deferred.v[i]);
	vec_free(&r->deferred);
	free(r->cur.v);
	free(r->next.v);
	vec_free(&r->ring_state);
	thread_counts_release(&r->tc);
	hashmap_release(&r->copied_at);
	vec_free(&r->opened);
	vec_free(&r->lost_threads);
	vec_free(&r->losses);
	offcpu_pairer_release(&r->offcpu);
	close_wake_fds(r);
	vec_free(&r->wake_fds);
	wake_filter_release(&r->wakef);
	maps_release(&r->maps);
	unwinder_free(r->unwinder);
	free(r);
}

/* Bytes one sample takes in the ring: a DWARF sample reserves its whole
 * stack copy however little of it the kernel fills. */
static uint64_t sample_bytes(const struct recorder *r)
{
	uint64_t regs = 8ull * (uint64_t)__builtin_popcountll(r->regs_mask);
	uint64_t fixed = 64 + 8ull * (uint64_t)(r->o.kernel ? r->max_stack : 0);
	if (r->o.call_graph == CALL_GRAPH_DWARF)
		return fixed + 24 + regs + r->o.stack_size;
	return fixed + 8ull * (uint64_t)r->max_stack;
}

/* Sizes the rings for RING_HOLD_MS of samples at the rate (a cpu runs one
 * thread at a time, so one ring sees about freq samples a second), within
 * the mlock budget and RING_TOTAL_MAX for all cpus. */
static size_t plan_ring_pages(const struct recorder *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* every event of a tracepoint (kiln lock's futex calls, off-CPU
	 * switches) comes at the program's pace, often thousands a second
	 * per cpu: plan for that, not for a sampling rate */
	uint64_t rate = r->o.freq ? r->o.freq : r->o.period <= 1 ? RING_EVENT_RATE : 1000;
	uint64_t want = sample_bytes(r) * rate * RING_HOLD_MS / 1000;
	struct perf_ring_budget b;
	perf_ring_budget_probe(&b);
	size_t max = RING_MAX_PAGES;
	while (max > RING_MIN_PAGES && (uint64_t)max * page * (uint64_t)r->ncpus > RING_TOTAL_MAX)
		max /= 2;
	return perf_ring_plan_pages(&b, want, (size_t)r->ncpus, page, RING_MIN_PAGES, max);
}

/* KILN_TEST_RING_PAGES=[CPU:]PAGES[,...] gives the ring of CPU (or every
 * ring) PAGES data pages, so tests can force a ring to overflow. */
static size_t test_ring_pages(int cpu, size_t dflt)
{
	const char *s = getenv("KILN_TEST_RING_PAGES");
	while (s && *s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b;
		if (*end == ':') {
			b = strtoul(end + 1, &end, 10);
			if ((int)a == cpu && b && !(b & (b - 1)))
				return b;
		} else if (a && !(a & (a - 1))) {
			dflt = a;
		}
		s = *end == ',' ? end + 1 : NULL;
	}
	return dflt;
}

/* A switch (off-CPU) or a syscall tracepoint (kiln lock) happens in the
 * kernel: with the kernel excluded it counts nothing, so such a recording
 * never falls back to user only; it leaves out kernel stacks at most. */
static bool fires_in_kernel(const struct recorder *r)
{
	return r->o.offcpu || r->o.raw;
}

/* Whether samples carry raw tracepoint data: kiln lock's, or the
 * wake-ups beside an off-CPU recording's switches (one ring holds both,
 * so both have the same layout). */
static bool takes_raw(const struct recorder *r)
{
	return r->o.raw || (r->o.offcpu && r->o.wake.name);
}

static void build_attr(struct recorder *r, bool enable_on_exec)
{
	struct perf_event_attr *a = &r->attr;
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = r->o.event.type;
	a->config = r->o.event.config;
	if (r->o.freq) {
		a->freq = 1;
		a->sample_freq = r->o.freq;
	} else {
		a->sample_period = r->o.period ? r->o.period : 1;
	}
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
	                 PERF_SAMPLE_CALLCHAIN;
	if (r->o.call_graph == CALL_GRAPH_DWARF) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = r->regs_mask;
		a->sample_stack_user = r->o.stack_size;
		a->exclude_callchain_user = 1; /* we unwind user space ourselves */
	}
	if (takes_raw(r))
		a->sample_type |= PERF_SAMPLE_RAW;
	a->sample_max_stack = (uint16_t)r->max_stack;
	/* a ring still full when the last thread exits holds its lost count
	 * (the kernel reports it with the next record that fits, and none
	 * comes): read from the events at the end instead */
	if (r->lost_readable)
		a->read_format = PERF_FORMAT_LOST;
	a->disabled = 1;
	a->enable_on_exec = enable_on_exec;
	a->inherit = r->o.inherit;
	/* each inherited counter reports its thread's count when it exits */
	a->inherit_stat = r->o.inherit;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->context_switch = r->o.offcpu; /* when each thread comes back */
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->exclude_kernel = !r->o.kernel && !fires_in_kernel(r);
	a->exclude_hv = 1;
	/* kiln lock's futex tracepoints want the caller's stack, not the kernel's */
	a->exclude_callchain_kernel = !r->o.kernel || r->o.raw;
	/* wake the reader when a quarter of the ring is used, not per
	 * sample, and not so late that a slow wake-up overflows it */
	r->ring_pages = plan_ring_pages(r);
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(r->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 4);
}

/* Opens one event, falling back to user-only stacks when the kernel part is
 * refused. Returns an fd or -errno. */
static int open_one(struct recorder *r, pid_t pid, int cpu)
{
	for (;;) {
		int fd = event_open(&r->attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0)
			return fd;
		int err = errno;
		if ((err == EACCES || err == EPERM) && !r->attr.exclude_kernel && !fires_in_kernel(r)) {
			r->attr.exclude_kernel = 1;
			r->attr.exclude_callchain_kernel = 1;
			r->st.kernel_fallback = true;
			continue;
		}
		if (err == EOVERFLOW && r->attr.sample_max_stack > 127) {
			r->attr.sample_max_stack = 127;
			r->max_stack = 127;
			continue;
		}
		return -err;
	}
}

/* Data pages of each CPU's ring (4 KiB each): DWARF samples carry up to
 * 64 KiB of stack each, so 8 MiB holds ~128 of them between two reads;
 * frame-pointer samples are a few hundred bytes. A refused size is
 * halved down to RING_PAGES_MIN (perf_event_mlock_kb is small for users). */
#define RING_PAGES_DWARF 2048
#define RING_PAGES_FP    256
#define RING_PAGES_MIN   16

static int map_ring(struct recorder *r, int fd, int cpu)
{
	size_t pages = test_ring_pages(cpu, r->ring_pages);
	for (;;) {
		struct perf_ring ring;
		int rc = perf_ring_map(&ring, fd, cpu, pages);
		if (rc == 0) {
			vec_push(&r->rings, ring);
			struct ring_state rs = {0};
			vec_push(&r->ring_state, rs);
			struct pollfd pfd = {fd, POLLIN, 0};
			vec_push(&r->pfds, pfd);
			return 0;
		}
		if (rc != -EPERM && rc != -ENOMEM)
			return rc;
		if (pages <= 1)
			return rc;
		pages /= 2; /* other rings of this user may hold the mlock budget */
	}
}

/* Opens the companion event of ring (cpu's): the same sample layout,
 * with no stack copy. Returns 0 or -errno. */
static int open_companion(struct recorder *r, pid_t pid, int cpu, size_t ring)
{
	if (!r->o.companion.name)
		return 0;
	struct perf_event_attr a = r->attr;
	a.type = r->o.companion.type;
	a.config = r->o.companion.config;
	a.sample_stack_user = 0;
	/* side-band records come once, from the main event */
	a.mmap = a.mmap2 = a.comm = a.comm_exec = a.task = 0;
	int fd = event_open(&a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->rings.v[ring].fd) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	struct extra_event e = {fd, (uint32_t)ring};
	vec_push(&r->extra, e);
	return 0;
}

/* The wake-up event of every thread on cpu (see wake_filter.h), its
 * filter set, writing into ring_fd when given. Returns the fd or -errno:
 * cpu-wide raw tracepoint data needs root, CAP_PERFMON or
 * perf_event_paranoid -1. */
static int open_wake(struct recorder *r, int cpu, int ring_fd, const char *filter)
{
	struct perf_event_attr a = r->attr;
	a.type = r->o.wake.type;
	a.config = r->o.wake.config;
	/* The reader stops at the raw data of a wake-up (handle_sample):
	 * what follows it in the ring's layout, the user registers and the
	 * stack size, is never read, so the kernel need not write them (on
	 * x86-64 a wake-up in a user thread's time is 96 bytes, not 200). */
	a.sample_type |= PERF_SAMPLE_RAW;
	a.sample_type &= ~(uint64_t)(PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER);
	a.sample_regs_user = 0;
	a.sample_stack_user = 0;
	a.exclude_callchain_user = a.exclude_callchain_kernel = 1;
	a.mmap = a.mmap2 = a.comm = a.comm_exec = a.task = a.context_switch = 0;
	a.inherit = a.inherit_stat = 0;
	a.enable_on_exec = 0;
	a.disabled = 1;
	int fd = event_open(&a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) < 0) ||
	    (ring_fd >= 0 && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring_fd) < 0) ||
	    (ring_fd >= 0 && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Whether wake-ups can be read at all, tried before the switch events
 * take raw data for them (per thread, raw data needs the same right):
 * where refused, intervals stay whole. */
static void probe_wake(struct recorder *r)
{
	if (!r->o.offcpu || !r->o.wake.name)
		return;
	int fd = -ENODEV;
	for (int cpu = 0; cpu < r->ncpus && fd < 0; cpu++)
		fd = open_wake(r, cpu, -1, NULL);
	if (fd >= 0) {
		close(fd);
		return;
	}
	r->o.wake.name = NULL;
	r->st.offcpu_wake_refused = true;
}

static void close_wake_fds(struct recorder *r)
{
	for (size_t i = 0; i < r->wake_fds.n; i++)
		close(r->wake_fds.v[i]);
	vec_clear(&r->wake_fds);
}

/* (Re)opens the wake-up events of every ring's cpu with the filter of
 * the threads known now: a perf event takes one filter for its life
 * (a second gets EEXIST), so a thread the old filter does not pass
 * (wake_filter.h says when) means new events, opened
 * before the old close so no wake-up falls between (one read twice is
 * harmless: the pairer takes the first after a switch-out). */
static void wake_refresh(struct recorder *r)
{
	struct strbuf filter = STRBUF_INIT;
	int kind = wake_filter_build(&r->wakef, &filter);
	VEC(int) fds = {0};
	int rc = kind < 0 ? kind : 0;
	for (size_t i = 0; i < r->rings.n && rc == 0; i++) {
		int fd = open_wake(r, r->rings.v[i].cpu, r->rings.v[i].fd, strbuf_str(&filter));
		if (fd < 0)
			rc = fd;
		else
			vec_push(&fds, fd);
	}
	if (rc == 0) {
		/* what the old events lost is still the rings' */
		while (r->wake_gone_lost.n < r->wake_fds.n)
			vec_push(&r->wake_gone_lost, (uint64_t)0);
		for (size_t i = 0; i < r->wake_fds.n; i++)
			r->wake_gone_lost.v[i] += event_lost(r->wake_fds.v[i]);
		close_wake_fds(r);
		vec_free(&r->wake_fds);
		r->wake_fds.v = fds.v, r->wake_fds.n = fds.n, r->wake_fds.cap = fds.cap;
		r->st.offcpu_wake_filters++;
		r->st.offcpu_wake_range |= kind == 1; /* at any time */
	} else {
		for (size_t i = 0; i < fds.n; i++)
			close(fds.v[i]);
		vec_free(&fds);
		/* the first time: no wake-ups (intervals whole); later the
		 * old events stay, and the next thread started or ended
		 * tries again (what the old filter passes is not what the
		 * one just built would have: a thread id below its open end
		 * may not pass) */
		if (!r->wake_fds.n)
			r->st.offcpu_wake_refused = true;
		else
			wake_filter_refused(&r->wakef);
	}
	strbuf_release(&filter);
}

static int open_for(struct recorder *r, pid_t pid, bool first_thread)
{
	if (r->o.wake.name)
		wake_filter_add(&r->wakef, (uint32_t)pid);
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd = open_one(r, pid, cpu);
		if (fd == -ENODEV || fd == -EINVAL) {
			if (first_thread && cpu > 0)
				continue; /* an offline cpu */
		}
		if (fd < 0)
			return fd;
		struct opened_event oe = {fd, (uint32_t)pid};
		vec_push(&r->opened, oe);
		if (first_thread) {
			int rc = map_ring(r, fd, cpu);
			if (rc < 0) {
				close(fd);
				return rc;
			}
			rc = open_companion(r, pid, cpu, r->rings.n - 1);
			if (rc < 0)
				return rc;
			continue;
		}
		/* later threads write into the ring of the same cpu */
		size_t target = r->rings.n;
		for (size_t i = 0; i < r->rings.n; i++)
			if (r->rings.v[i].cpu == cpu)
				target = i;
		if (target == r->rings.n || ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->rings.v[target].fd) < 0) {
			int err = target == r->rings.n ? -ENODEV : -errno;
			close(fd);
			if (target == r->rings.n)
				continue;
			return err;
		}
		struct extra_event e = {fd, (uint32_t)target};
		vec_push(&r->extra, e);
		int rc = open_companion(r, pid, cpu, target);
		if (rc < 0)
			return rc;
	}
	r->st.kernel_stacks = !r->attr.exclude_callchain_kernel;
	return r->rings.n ? 0 : -ENODEV;
}

static void start_drainer(struct recorder *r);

/* The attribute of every event, once it is known whether wake-ups can be
 * read (their raw data is in every sample of a ring that holds them). */
static void prepare_attr(struct recorder *r, bool enable_on_exec)
{
	build_attr(r, enable_on_exec);
	if (!r->o.wake.name)
		return;
	probe_wake(r);
	if (!r->o.wake.name)
		build_attr(r, enable_on_exec);
}

int recorder_open_child(struct recorder *r, pid_t pid)
{
	prepare_attr(r, true);
	int rc = open_for(r, pid, true);
	if (rc == 0 && r->o.wake.name)
		wake_refresh(r);
	if (rc == 0)
		start_drainer(r);
	return rc;
}

static void read_comm(struct recorder *r, uint32_t pid, uint32_t tid)
{
	struct proc_stat st;
	const char *name = proc_stat_read((pid_t)pid, (pid_t)tid, &st) ? "" : st.comm;
	profile_thread(r->p, tid, pid)->name = profile_intern(r->p, name);
}

int recorder_open_process(struct recorder *r, pid_t pid)
{
	prepare_attr(r, false);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	/* Threads may start while we open: rescan until a pass finds none new. */
	struct hashmap seen;
	hashmap_init(&seen);
	int rc = 0, added;
	do {
		added = 0;
		DIR *d = opendir(path);
		if (!d) {
			rc = -errno;
			break;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			long tid = strtol(de->d_name, NULL, 10);
			if (tid <= 0 || hashmap_get(&seen, (uint64_t)tid, NULL))
				continue;
			hashmap_put(&seen, (uint64_t)tid, 1);
			rc = open_for(r, (pid_t)tid, r->rings.n == 0);
			if (rc == -ESRCH) { /* it exited meanwhile */
				rc = 0;
				continue;
			}
			if (rc < 0)
				break;
			read_comm(r, (uint32_t)pid, (uint32_t)tid);
			added++;
		}
		closedir(d);
	} while (rc == 0 && added);
	hashmap_release(&seen);
	if (rc == 0)
		rc = maps_load_proc(&r->maps, (uint32_t)pid);
	if (rc == 0 && r->o.wake.name)
		wake_refresh(r);
	if (rc == 0)
		start_drainer(r);
	return rc;
}

void recorder_enable(struct recorder *r)
{
	for (size_t i = 0; i < r->rings.n; i++)
		ioctl(r->rings.v[i].fd, PERF_EVENT_IOC_ENABLE, 0);
	for (size_t i = 0; i < r->extra.n; i++)
		ioctl(r->extra.v[i].fd, PERF_EVENT_IOC_ENABLE, 0);
}

void recorder_disable(struct recorder *r)
{
	for (size_t i = 0; i < r->rings.n; i++)
		ioctl(r->rings.v[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < r->extra.n; i++)
		ioctl(r->extra.v[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < r->wake_fds.n; i++)
		ioctl(r->wake_fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
	r->disabled = true; /* no new wake-up events from the records left */
	/* what is left is a short drain, done by the caller's thread */
	stop_drainer(r);
}

/* ---- record parsing ---- */

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t take_u64(struct cursor *c)
{
	uint64_t v = 0;
	if (c->end - c->p < 8) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

static const uint8_t *take_bytes(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *b = c->p;
	c->p += n;
	return b;
}

static uint16_t read_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* PERF_SAMPLE_RAW: a u32 size, then the tracepoint's fields (padded so
 * the two end on 8 bytes). */
static void take_raw(struct cursor *c, struct recorder_raw_sample *rs)
{
	uint32_t size = 0;
	const uint8_t *sz = take_bytes(c, 4);
	if (!sz)
		return;
	memcpy(&size, sz, 4);
	rs->raw = take_bytes(c, size);
	rs->raw_size = rs->raw ? size : 0;
}

/* The sample_id_all trailer sits at the end of every non-sample record. */
static bool read_trailer(const struct perf_event_header *h, struct sample_id *id)
{
	if (h->size < sizeof(*h) + sizeof(*id))
		return false;
	memcpy(id, (const uint8_t *)h + h->size - sizeof(*id), sizeof(*id));
	return true;
}

static void handle_mmap2(struct recorder *r, const struct perf_event_header *h)
{
	struct {
		uint32_t pid, tid;
		uint64_t addr, len, pgoff;
		union {
			struct {
				uint32_t maj, min;
				uint64_t ino, ino_generation;
			};
			struct {
				uint8_t build_id_size, res1;
				uint16_t res2;
				uint8_t build_id[20];
			};
		};
		uint32_t prot, flags;
	} m;
	if (h->size < sizeof(*h) + sizeof(m) + 1 + sizeof(struct sample_id))
		return;
	memcpy(&m, h + 1, sizeof(m));
	const char *name = (const char *)(h + 1) + sizeof(m);
	size_t maxlen = h->size - sizeof(*h) - sizeof(m) - sizeof(struct sample_id);
	if (!memchr(name, '\0', maxlen))
		return;
	struct sample_id id;
	read_trailer(h, &id);
	char bid[41] = "", *bidp = NULL;
	if ((h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) && m.build_id_size <= 20) {
		for (unsigned i = 0; i < m.build_id_size; i++)
			snprintf(bid + 2 * i, 3, "%02x", m.build_id[i]);
		bidp = bid;
	}
	maps_add(&r->maps, m.pid, id.time, m.addr, m.len, m.pgoff, name, bidp);
	/* a binary rebuilt at the same path must not keep its old rules */
	if (r->unwinder && name[0] == '/')
		unwinder_flush(r->unwinder, name);
}

static void handle_comm(struct recorder *r, const struct perf_event_header *h)
{
	struct {
		uint32_t pid, tid;
	} c;
	if (h->size < sizeof(*h) + sizeof(c) + 1)
		return;
	memcpy(&c, h + 1, sizeof(c));
	const char *name = (const char *)(h + 1) + sizeof(c);
	size_t maxlen = h->size - sizeof(*h) - sizeof(c);
	if (!memchr(name, '\0', maxlen))
		return;
	struct sample_id id = {0};
	read_trailer(h, &id);
	if (h->misc & PERF_RECORD_MISC_COMM_EXEC)
		maps_exec(&r->maps, c.pid, id.time);
	struct profile_thread *t = profile_thread(r->p, c.tid, c.pid);
	t->name = profile_intern(r->p, name);
	if (!t->start)
		t->start = id.time;
}

static void handle_task(struct recorder *r, const struct perf_event_header *h)
{
	struct {
		uint32_t pid, ppid, tid, ptid;
		uint64_t time;
	} f;
	if (h->size < sizeof(*h) + sizeof(f))
		return;
	memcpy(&f, h + 1, sizeof(f));
	if (h->type == PERF_RECORD_FORK) {
		const struct profile_thread *parent = profile_find_thread(r->p, f.ptid);
		uint32_t parent_name = parent ? parent->name : 0;
		struct profile_thread *t = profile_thread(r->p, f.tid, f.pid);
		t->start = f.time;
		if (!t->name)
			t->name = parent_name; /* until it names itself */
		if (f.pid != f.ppid && f.tid == f.pid)
			maps_fork(&r->maps, f.ppid, f.pid, f.time);
		if (r->o.wake.name)
			wake_filter_add(&r->wakef, f.tid);
	} else {
		if (r->o.wake.name)
			wake_filter_remove(&r->wakef, f.tid);
		profile_thread(r->p, f.tid, f.pid)->end = f.time;
		thread_counts_get(&r->tc, f.tid)->exited = true;
	}
}

struct find_ctx {
	struct recorder *r;
	uint32_t pid;
	uint64_t time;
};

static int find_module(void *vctx, uint64_t pc, struct unwind_module *out)
{
	struct find_ctx *c = vctx;
	const struct maps_entry *e = maps_find(&c->r->maps, c->pid, c->time, pc);
	if (!e)
		return -1;
	const struct profile_mapping *m = &c->r->p->mappings.v[e->mapping];
	out->path = profile_str(c->r->p, m->path);
	out->start = m->start;
	out->end = m->end;
	out->pgoff = m->pgoff;
	return 0;
}

static uint32_t user_location(struct recorder *r, uint32_t pid, uint64_t time, uint64_t pc)
{
	const struct maps_entry *e = maps_find(&r->maps, pid, time, pc);
	return profile_location(r->p, e ? e->mapping : PROFILE_NO_MAPPING, pc, PROFILE_LOC_USER);
}

static bool in_kernel_mode(uint16_t misc)
{
	return (misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
}

/* The user part of a DWARF-mode sample, as the kernel wrote it. */
struct user_state {
	bool present;    /* the sample has user registers */
	bool short_copy; /* the kernel copied fewer stack bytes than it dumped */
	struct unwind_input in;
};

/* The user state of a sample's registers (abi, regs) and stack copy
 * (size bytes at stack, dyn of them filled). */
static void user_state_of(struct recorder *r, uint64_t abi, const uint8_t *regs, const uint8_t *stack, uint64_t size,
                          uint64_t dyn, struct user_state *u)
{
	memset(u, 0, sizeof(*u));
	if (abi && regs) {
		uint64_t tmp[64];
		memcpy(tmp, regs, 8ull * (uint64_t)__builtin_popcountll(r->regs_mask));
		u->in.regs_valid = arch_perf_regs_to_dwarf(tmp, r->regs_mask, u->in.regs);
	}
	u->in.stack = stack;
	u->in.stack_size = dyn < size ? dyn : size;
	u->present = abi && u->in.regs_valid;
	/* size 0 with registers: the kernel had no room to copy anything */
	u->short_copy = u->present && (!size || dyn < size);
}

/* Reads the user registers and stack copy at c; false when malformed. */
static bool take_user_state(struct recorder *r, struct cursor *c, struct user_state *u)
{
	memset(u, 0, sizeof(*u));
	uint64_t abi = take_u64(c);
	const uint8_t *regs = NULL;
	if (abi && !c->bad)
		regs = take_bytes(c, 8ull * (uint64_t)__builtin_popcountll(r->regs_mask));
	uint64_t size = take_u64(c);
	const uint8_t *stack = size ? take_bytes(c, size) : NULL;
	uint64_t dyn = size ? take_u64(c) : 0;
	if (c->bad)
		return false;
	user_state_of(r, abi, regs, stack, size, dyn, u);
	return true;
}

/* Whether a sample with no (or a short) user stack copy was taken inside
 * an execve of pid, after the switch to the new program's memory; sets
 * *map_time to a time at which the old program's mappings name its user
 * addresses. */
static bool exec_cut(struct recorder *r, uint16_t misc, uint32_t pid, uint32_t tid, uint64_t time, uint64_t user_ip,
                     uint64_t *map_time)
{
	*map_time = time;
	if (!in_kernel_mode(misc))
		return false;
	/* After the exec's COMM record the kernel's work goes on (mapping the
	 * new image) with the old program's registers, in an address space
	 * where their pc maps nothing. */
	uint64_t before = maps_exec_before(&r->maps, pid, time);
	if (before && !maps_find(&r->maps, pid, time, user_ip) && maps_find(&r->maps, pid, before - 1, user_ip)) {
		*map_time = before - 1; /* name the old program's frames */
		return true;
	}
	/* Before its COMM record, the kernel has already switched to the new
	 * memory and tears the old down (exit_mmap: most of an exec's time):
	 * the old stack is gone, the old mappings still name the pc. Such a
	 * sample is followed by the exec with nothing of the thread copied
	 * in between; a stack page merely not present (a fault) is followed
	 * by copied samples when the thread runs on. */
	uint64_t after = maps_exec_after(&r->maps, pid, time), copied = 0;
	if (!after || (hashmap_get(&r->copied_at, tid, &copied) && copied > time && copied < after))
		return false;
	return maps_find(&r->maps, pid, time, user_ip) != NULL;
}

/* Puts the marker of why a stack stops at its root. */
static void mark_cut(struct recorder *r, uint32_t *n, enum profile_cut why)
{
	if (*n < MAX_FRAMES)
		r->loc_ids[(*n)++] = profile_location(r->p, PROFILE_NO_MAPPING, why, PROFILE_LOC_TRUNCATED);
}

/* Unwinds the user part of a DWARF-mode sample into loc_ids[*n...] and
 * counts how it ended. */
static void unwind_user(struct recorder *r, uint16_t misc, const struct user_state *u, uint32_t pid, uint32_t tid,
                        uint64_t time, uint32_t *n)
{
	uint64_t map_time = time;
	bool by_exec = u->short_copy && exec_cut(r, misc, pid, tid, time, u->in.regs[ARCH_DWARF_IP], &map_time);
	struct find_ctx fc = {r, pid, map_time};
	enum unwind_status status;
	int max = MAX_FRAMES - (int)*n;
	int got = unwinder_unwind(r->unwinder, &u->in, find_module, &fc, r->locs_scratch, max, &status);
	for (int i = 0; i < got; i++) {
		uint64_t pc = i ? r->locs_scratch[i] - 1 : r->locs_scratch[i];
		r->loc_ids[(*n)++] = user_location(r, pid, map_time, pc);
	}
	if (status == UNWIND_COMPLETE) {
		uint64_t reach = unwinder_last_reach(r->unwinder);
		if (reach > r->st.stack_reach)
			r->st.stack_reach = reach;
		return;
	}
	/* mark the cut at the root, so views show it, and say why */
	if (by_exec) {
		r->st.exec_cut++;
		mark_cut(r, n, PROFILE_CUT_EXEC);
	} else if (status == UNWIND_TRUNCATED && u->short_copy) {
		r->st.not_copied++;
		mark_cut(r, n, PROFILE_CUT_NOT_COPIED);
	} else if (status == UNWIND_TRUNCATED || status == UNWIND_MAX_DEPTH) {
		r->st.truncated++;
		mark_cut(r, n, PROFILE_CUT_DEPTH);
	} else {
		r->st.unwind_errors++;
	}
}

static void defer_sample(struct recorder *r, const struct perf_event_header *h)
{
	struct perf_event_header *copy = xmalloc(h->size);
	memcpy(copy, h, h->size);
	vec_push(&r->deferred, copy);
}

/* A wake-up: its sample's tid is the waker's (or whoever ran when the
 * timer fired); the woken thread is in the tracepoint's fields. */
static void handle_wake(struct recorder *r, const struct recorder_raw_sample *rs, uint64_t time)
{
	uint32_t off = r->o.wake_tid_offset, woken;
	if (rs->raw_size < off + 4)
		return;
	memcpy(&woken, rs->raw + off, 4);
	struct offcpu_event ev = {.time = time, .tid = woken, .kind = OFFCPU_EV_WAKE};
	offcpu_pairer_add(&r->offcpu, &ev);
	r->st.offcpu_wakes++;
}

/* The sample path from its decoded fields (s; u its user state in DWARF
 * mode); h is the record itself, for deferring it, NULL when not
 * deferred (replay). */
static void process_sample(struct recorder *r, const struct perf_event_header *h, const struct recorder_sample *rs,
                           const struct user_state *up)
{
	uint64_t ip = rs->ip, time = rs->time, cpu = rs->cpu, period = rs->period, nr = rs->nr;
	const uint8_t *chain = rs->chain;
	uint32_t pid = rs->pid, tid = rs->tid;
	uint16_t misc = rs->misc;
	uint32_t n = 0;
	struct user_state u = *up;
	if (u.present && !u.short_copy) {
		uint64_t last = 0;
		if (!hashmap_get(&r->copied_at, tid, &last) || last < time)
			hashmap_put(&r->copied_at, tid, time);
	}
	if (h && r->deferring && !(misc & PERF_RECORD_MISC_KERNEL) && maps_known(&r->maps, pid) &&
	    !maps_find(&r->maps, pid, time, ip)) {
		defer_sample(r, h);
		return;
	}
	/* An uncopied stack taken in the kernel may be inside an execve whose
	 * COMM record sits unread in another cpu's ring: wait a round for it. */
	if (h && r->deferring && u.short_copy && in_kernel_mode(misc)) {
		defer_sample(r, h);
		return;
	}
	bool in_kernel = false, in_user = false;
	uint32_t user_entries = 0;

	if (!maps_known(&r->maps, pid) && !r->o.replay)
		maps_load_proc(&r->maps, pid); /* a process we saw no mmaps of */

	/* The kernel callchain: leaf first, context markers between parts. */
	for (uint64_t i = 0; i < nr && n < MAX_FRAMES; i++) {
		uint64_t a;
		memcpy(&a, chain + i * 8, 8);
		if (a >= PERF_CONTEXT_MAX) {
			in_kernel = a == PERF_CONTEXT_KERNEL;
			in_user = a == PERF_CONTEXT_USER;
			continue;
		}
		if (in_kernel) {
			r->loc_ids[n++] = profile_location(r->p, PROFILE_NO_MAPPING, a, PROFILE_LOC_KERNEL);
		} else if (in_user && r->o.call_graph == CALL_GRAPH_FP) {
			/* return addresses point after the call: step back into it */
			uint64_t pc = user_entries++ ? a - 1 : a;
			r->loc_ids[n++] = user_location(r, pid, time, pc);
		}
	}

	if (r->o.call_graph == CALL_GRAPH_DWARF) {
		if (u.present)
			unwind_user(r, misc, &u, pid, tid, time, &n);
	} else if (user_entries >= (uint32_t)r->max_stack) {
		r->st.truncated++;
		mark_cut(r, &n, PROFILE_CUT_DEPTH);
	}

	if (n == 0) /* no callchain at all: keep the ip so the sample counts */
		r->loc_ids[n++] = user_location(r, pid, time, ip);

	uint32_t stack = profile_stack_from_leaf(r->p, r->loc_ids, n);
	r->st.samples++;
	struct profile_thread *t = profile_thread(r->p, tid, pid);
	if (!t->start)
		t->start = time;
	if (r->o.raw) {
		struct recorder_raw_sample raw = {pid, tid, (uint32_t)cpu, time, stack, false, rs->raw, rs->raw_size};
		if (r->o.on_raw)
			r->o.on_raw(r->o.raw_ctx, &raw);
		return;
	}
	if (r->o.offcpu) {
		/* weighed when the thread comes back */
		struct offcpu_event ev = {time, tid, pid, (uint32_t)cpu, stack, OFFCPU_EV_STACK, false};
		offcpu_pairer_add(&r->offcpu, &ev);
	} else {
		const struct recorder_slots *sl = &r->o.slots;
		struct profile_sample s = {0};
		s.stack = stack;
		s.tid = tid;
		s.pid = pid;
		s.cpu = (uint32_t)cpu;
		s.time = time;
		if (sl->samples >= 0)
			s.values[sl->samples] = 1;
		if (sl->events >= 0)
			s.values[sl->events] = (int64_t)period;
		if (sl->also >= 0)
			s.values[sl->also] = (int64_t)period;
		profile_add_sample(r->p, &s);
	}
	thread_counts_sample(&r->tc, tid, period);
}

/* A context-switch record: the thread's switch-out or switch-in. */
static void handle_switch(struct recorder *r, const struct perf_event_header *h)
{
	struct sample_id id;
	if (!r->o.offcpu || !read_trailer(h, &id))
		return;
	bool out = h->misc & PERF_RECORD_MISC_SWITCH_OUT;
	struct offcpu_event ev = {
	    .time = id.time,
	    .tid = id.tid,
	    .pid = id.pid,
	    .cpu = id.cpu,
	    .kind = out ? OFFCPU_EV_OUT : OFFCPU_EV_IN,
	    .preempt = out && (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT),
	};
	offcpu_pairer_add(&r->offcpu, &ev);
}

/* A paired off-CPU interval becomes a sample at its start. */
static void emit_offcpu(void *ctx, const struct offcpu_interval *iv)
{
	struct recorder *r = ctx;
	uint64_t ns = iv->end - iv->start;
	if (ns < r->o.min_block) {
		r->st.offcpu_short++;
		return;
	}
	const struct recorder_slots *sl = &r->o.slots;
	struct profile_sample s = {0};
	s.stack = iv->stack;
	s.tid = iv->tid;
	s.pid = iv->pid;
	s.cpu = iv->cpu;
	s.time = iv->start;
	if (sl->samples >= 0) /* the rest of a block after its wake-up is not another block */
		s.values[sl->samples] = iv->woken ? 0 : 1;
	int slot = iv->preempted && sl->runnable >= 0 ? sl->runnable : sl->events;
	if (slot >= 0)
		s.values[slot] = (int64_t)ns;
	if (sl->also >= 0)
		s.values[sl->also] = (int64_t)ns;
	profile_add_sample(r->p, &s);
	r->st.offcpu_intervals++;
	if (!iv->stack)
		r->st.offcpu_nostack++;
}

void recorder_close_offcpu(struct recorder *r, uint64_t end)
{
	if (r->o.offcpu)
		offcpu_pairer_flush(&r->offcpu, true, end, emit_offcpu, r);
}

static void handle_sample(struct recorder *r, const struct perf_event_header *h)
{
	if (r->refusing) { /* back-pressure: not even unwound */
		r->st.refused++;
		return;
	}
	struct cursor c = {(const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false};
	struct recorder_sample s = {.misc = h->misc};
	s.ip = take_u64(&c);
	uint64_t pidtid = take_u64(&c);
	s.time = take_u64(&c);
	s.cpu = take_u64(&c);
	s.period = take_u64(&c);
	s.nr = take_u64(&c);
	if (c.bad || s.nr > 4096)
		return;
	s.chain = take_bytes(&c, s.nr * 8);
	struct recorder_raw_sample raw = {0};
	if (takes_raw(r))
		take_raw(&c, &raw);
	if (c.bad)
		return;
	s.pid = (uint32_t)pidtid;
	s.tid = (uint32_t)(pidtid >> 32);
	s.raw = raw.raw;
	s.raw_size = raw.raw_size;
	if (r->o.offcpu && r->o.wake.name && raw.raw_size >= 2 && read_u16(raw.raw) == r->o.wake.config) {
		handle_wake(r, &raw, s.time);
		return;
	}
	if (raw.raw_size >= 2 && r->o.companion.name && read_u16(raw.raw) == r->o.companion.config) {
		/* the companion copies no stack: nothing to unwind */
		raw.pid = s.pid, raw.tid = s.tid, raw.cpu = (uint32_t)s.cpu, raw.time = s.time;
		raw.companion = true;
		if (r->o.on_raw)
			r->o.on_raw(r->o.raw_ctx, &raw);
		return;
	}
	struct user_state u = {0};
	if (r->o.call_graph == CALL_GRAPH_DWARF && !take_user_state(r, &c, &u))
		return;
	process_sample(r, h, &s, &u);
}

void recorder_feed_sample(struct recorder *r, const struct recorder_sample *s)
{
	r->deferring = false;
	if (s->nr > 4096)
		return;
	struct user_state u = {0};
	if (r->o.call_graph == CALL_GRAPH_DWARF)
		user_state_of(r, s->abi, s->regs, s->stack, s->stack_size, s->dyn_size, &u);
	process_sample(r, NULL, s, &u);
}

static void on_sideband(void *ctx, const struct perf_event_header *h, int cpu)
{
	struct recorder *r = ctx;
	(void)cpu;
	switch (h->type) {
	case PERF_RECORD_SWITCH:
		handle_switch(r, h);
		break;
	case PERF_RECORD_MMAP2:
		handle_mmap2(r, h);
		break;
	case PERF_RECORD_COMM:
		handle_comm(r, h);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		handle_task(r, h);
		break;
	case PERF_RECORD_LOST: {
		uint64_t v[2];
		if (h->size >= sizeof(*h) + sizeof(v)) {
			memcpy(v, h + 1, sizeof(v));
			r->st.lost += v[1];
		}
		break;
	}
	case PERF_RECORD_READ: {
		struct {
			uint32_t pid, tid;
			uint64_t value;
		} rd;
		if (h->size >= sizeof(*h) + sizeof(rd)) {
			memcpy(&rd, h + 1, sizeof(rd));
			thread_counts_read(&r->tc, rd.tid, rd.value);
		}
		break;
	}
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t lost;
		if (h->size >= sizeof(*h) + sizeof(lost)) {
			memcpy(&lost, h + 1, sizeof(lost));
			r->st.lost += lost;
		}
		break;
	}
	default:
		break;
	}
	r->st.records++;
}

static void on_sample(void *ctx, const struct perf_event_header *h, int cpu)
{
	(void)cpu;
	if (h->type == PERF_RECORD_SAMPLE)
		handle_sample(ctx, h);
}

/* Between the two passes of a round: last round's deferred samples are
 * older than anything new, so they go first. */
static void retry_deferred(void *ctx, size_t sideband_records)
{
	struct recorder *r = ctx;

	r->round_deferred = r->deferred.n;
	r->deferring = false;
	for (size_t i = 0; i < r->round_deferred; i++) {
		handle_sample(r, r->deferred.v[i]);
		free(r->deferred.v[i]);
	}
	r->deferred.n = 0;
	/* a round with no new records is the end of the data: defer nothing */
	r->deferring = sideband_records > 0;
}

/* ---- draining the rings ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The time a record carries: a sample's own, else its sample_id trailer's. */
static uint64_t record_time(const struct perf_event_header *h)
{
	uint64_t t = 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= sizeof(*h) + 24)
			memcpy(&t, (const uint8_t *)(h + 1) + 16, 8);
	} else if (h->size >= sizeof(*h) + sizeof(struct sample_id)) {
		struct sample_id id;
		read_trailer(h, &id);
		t = id.time;
	}
	return t;
}

/* A ring said it dropped samples: they were lost between its previous
 * record and this one. Close intervals of one ring become one. */
static void note_loss(struct recorder *r, int cpu, uint64_t from, uint64_t to, uint64_t count)
{
	if (!from || from > to)
		from = to;
	for (size_t i = r->losses.n; i-- > 0;) {
		struct recorder_loss *l = &r->losses.v[i];
		if (l->cpu != cpu)
			continue;
		if (from <= l->to + LOSS_MERGE_GAP_NS) {
			l->to = to > l->to ? to : l->to;
			l->count += count;
			return;
		}
		break;
	}
	struct recorder_loss *l = vec_grow(&r->losses);
	l->cpu = cpu;
	l->from = from;
	l->to = to;
	l->count = count;
}

static void *rec_buf_append(struct rec_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		/* on huge pages: the drainer fills this at the rings' pace,
		 * and new small pages cost it most of its time under some
		 * hypervisors (see xgrowarray()) */
		size_t cap = b->cap ? b->cap : REC_BUF_FIRST;
		while (cap < b->len + n)
			cap *= 2;
		b->v = xgrowarray(b->v, b->len, cap, 1);
		b->cap = cap;
	}
	void *p = b->v + b->len;
	b->len += n;
	b->nrec++;
	return p;
}

/* Copies a DWARF-mode sample without the part of its stack copy the kernel
 * left empty (most of it, for a thread's stack near its top). A short copy
 * keeps 8 spare bytes, so dyn_size < size still says it was short. */
static void copy_sample_trimmed(struct recorder *r, const struct perf_event_header *h, struct rec_buf *out)
{
	struct cursor c = {(const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false};
	take_bytes(&c, 40); /* ip, pid/tid, time, cpu, period */
	uint64_t nr = take_u64(&c);
	take_bytes(&c, nr * 8);
	if (takes_raw(r)) {
		struct recorder_raw_sample rs;
		take_raw(&c, &rs);
	}
	uint64_t abi = take_u64(&c);
	if (abi)
		take_bytes(&c, 8ull * (uint64_t)__builtin_popcountll(r->regs_mask));
	const uint8_t *size_at = c.p;
	uint64_t size = take_u64(&c);
	take_bytes(&c, size);
	uint64_t dyn = size ? take_u64(&c) : 0;
	if (c.bad || !size || dyn > size || c.p != (const uint8_t *)h + h->size) {
		memcpy(rec_buf_append(out, h->size), h, h->size); /* not ours to reshape */
		return;
	}
	uint64_t keep = (dyn + 7) & ~7ull;
	if (dyn < size)
		keep += 8;
	size_t head = (size_t)(size_at - (const uint8_t *)h);
	size_t n = head + 8 + keep + 8;
	uint8_t *d = rec_buf_append(out, n);
	memcpy(d, h, head);
	memcpy(d + head, &keep, 8);
	memcpy(d + head + 8, size_at + 8, dyn);
	memset(d + head + 8 + dyn, 0, keep - dyn);
	memcpy(d + head + 8 + keep, &dyn, 8);
	((struct perf_event_header *)d)->size = (uint16_t)n;
}

struct drain_ctx {
	struct recorder *r;
	struct ring_state *rs;
	struct rec_buf *out;
};

static void drain_record(void *vctx, const struct perf_event_header *h, int cpu)
{
	struct drain_ctx *d = vctx;
	struct recorder *r = d->r;
	uint64_t t = record_time(h);
	if (!r->first_time || (t && t < r->first_time))
		r->first_time = t;
	if (h->type == PERF_RECORD_LOST && h->size >= sizeof(*h) + 16) {
		uint64_t v[2];
		memcpy(v, h + 1, sizeof(v));
		note_loss(r, cpu, d->rs->last_time, t, v[1]);
		d->rs->reported_lost += v[1];
	}
	if (t)
		d->rs->last_time = t;
	if (h->type == PERF_RECORD_SAMPLE && r->o.call_graph == CALL_GRAPH_DWARF)
		copy_sample_trimmed(r, h, d->out);
	else
		memcpy(rec_buf_append(d->out, h->size), h, h->size);
}

/* Copies every ring's records into next and hands the space back. */
static void drain_rings(struct recorder *r)
{
	r->last_drain = now_ns();
	for (size_t i = 0; i < r->rings.n; i++) {
		if (r->next.len > LOCAL_MAX_BYTES)
			break; /* the unwinder is far behind: let the kernel count losses */
		struct drain_ctx d = {r, &r->ring_state.v[i], &r->next};
		uint64_t head = perf_ring_head(&r->rings.v[i]);
		perf_ring_walk(&r->rings.v[i], head, drain_record, &d);
		perf_ring_consume(&r->rings.v[i], head);
	}
}

static const struct perf_event_header *rec_at(const struct rec_buf *b, size_t off)
{
	return (const struct perf_event_header *)(b->v + off);
}

/* Raises the calling thread's priority (the drainer's, or without one
 * the caller's, after any fork of the target). */
static void raise_reader(struct recorder *r)
{
	const char *want = getenv("KILN_TEST_READER_PRIO"); /* normal, nice: for measuring */
	if (r->sched_raised || (want && !strcmp(want, "normal")))
		return;
	r->reader_prio = reader_sched_raise(&r->sched, !(want && !strcmp(want, "nice")));
	r->sched_raised = true;
}

static void lower_reader(struct recorder *r)
{
	if (!r->sched_raised)
		return;
	r->reader_lowered_ms = r->sched.lowered_windows * 250;
	reader_sched_restore(&r->sched);
	r->sched_raised = false;
}

static void *drainer_main(void *arg)
{
	struct recorder *r = arg;
	size_t n = r->pfds.n;
	struct pollfd *pfds = xcalloc(n + 1, sizeof(*pfds));

	memcpy(pfds, r->pfds.v, n * sizeof(*pfds));
	pfds[n] = (struct pollfd){r->drainer.stop_fd, POLLIN, 0};
	raise_reader(r);
	for (;;) {
		/* woken when a ring is a quarter full; every 100 ms anyway */
		poll(pfds, n + 1, 100);
		if (__atomic_load_n(&r->drainer.stop, __ATOMIC_ACQUIRE))
			break;
		for (size_t i = 0; i < n; i++)
			if (pfds[i].revents & (POLLHUP | POLLERR | POLLNVAL))
				pfds[i].fd = -1; /* its task is gone: it would wake us forever */
		pthread_mutex_lock(&r->drainer.lock);
		drain_rings(r);
		bool any = r->next.nrec != 0;
		pthread_mutex_unlock(&r->drainer.lock);
		if (any)
			pthread_cond_signal(&r->drainer.ready);
		if (r->sched_raised)
			reader_sched_govern(&r->sched);
	}
	lower_reader(r);
	free(pfds);
	return NULL;
}

/* Gives b room for n bytes and touches it. The drainer fills the copy
 * buffers at the rings' pace; growing them while the target runs faults
 * in new pages, and on a VM whose host took back the guest's free memory
 * each 2 MiB page costs the drainer about 2 ms (bench/README), long
 * enough for a ring to fill behind it. */
static void rec_buf_prefault(struct rec_buf *b, size_t n)
{
	if (b->cap >= n)
		return;
	b->v = xgrowarray(b->v, b->len, n, 1);
	b->cap = n;
	memset(b->v + b->len, 0, n - b->len);
}

/* Starts the drainer; without a thread, the caller's thread reads the
 * rings itself, at raised priority. */
static void start_drainer(struct recorder *r)
{
	pthread_condattr_t ca;
	if (!r->opened_at)
		r->opened_at = now_ns();
	if (r->drainer.running)
		return;
	/* a round copies what the rings held when one passed a quarter
	 * (less: samples lose the unfilled part of their stack copy), in
	 * either buffer (they swap) */
	uint64_t ring_bytes = 0;
	for (size_t i = 0; i < r->rings.n; i++)
		ring_bytes += r->rings.v[i].size;
	size_t round = ring_bytes / 4 < REC_BUF_READY ? (size_t)(ring_bytes / 4) : REC_BUF_READY;
	if (round > REC_BUF_FIRST) {
		rec_buf_prefault(&r->cur, round);
		rec_buf_prefault(&r->next, round);
	}
	r->drainer.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (r->drainer.stop_fd < 0) {
		raise_reader(r);
		return;
	}
	pthread_mutex_init(&r->drainer.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->drainer.ready, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->drainer.thread, NULL, drainer_main, r) != 0) {
		pthread_cond_destroy(&r->drainer.ready);
		pthread_mutex_destroy(&r->drainer.lock);
		close(r->drainer.stop_fd);
		r->drainer.stop_fd = -1;
		raise_reader(r);
		return;
	}
	r->drainer.running = true;
}

static void stop_drainer(struct recorder *r)
{
	if (r->drainer.running) {
		uint64_t one = 1;
		__atomic_store_n(&r->drainer.stop, true, __ATOMIC_RELEASE);
		if (write(r->drainer.stop_fd, &one, sizeof(one)) < 0) {
			/* it still sees the flag within its 100 ms poll */
		}
		pthread_join(r->drainer.thread, NULL);
		pthread_cond_destroy(&r->drainer.ready);
		pthread_mutex_destroy(&r->drainer.lock);
		r->drainer.running = false;
	}
	if (r->drainer.stop_fd >= 0)
		close(r->drainer.stop_fd);
	r->drainer.stop_fd = -1;
	lower_reader(r); /* the caller's own, when there was no drainer */
}

/* Takes what the drainer copied, waiting up to timeout_ms for some. */
static void take_drained(struct recorder *r, int timeout_ms)
{
	pthread_mutex_lock(&r->drainer.lock);
	if (!r->next.nrec && timeout_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!r->next.nrec && pthread_cond_timedwait(&r->drainer.ready, &r->drainer.lock, &ts) == 0)
			;
	}
	struct rec_buf tmp = r->cur;
	r->cur = r->next;
	r->next = tmp;
	r->next.len = r->next.nrec = 0;
	pthread_mutex_unlock(&r->drainer.lock);
}

/* After the last record of a disabled recorder: the records the kernel
 * lost and never reported (a ring still full when the last record was
 * refused holds its count until one fits, and none comes) are added to
 * the stats and, as lost from the ring's last record (or the opening) to
 * end, to the loss intervals. Again later, it adds nothing. */
static void count_held_losses(struct recorder *r, uint64_t end)
{
	if (!(r->attr.read_format & PERF_FORMAT_LOST))
		return;
	for (size_t i = 0; i < r->rings.n; i++) {
		uint64_t lost = event_lost(r->rings.v[i].fd);
		for (size_t j = 0; j < r->extra.n; j++)
			if (r->extra.v[j].ring == i)
				lost += event_lost(r->extra.v[j].fd);
		if (r->wake_fds.n == r->rings.n)
			lost += event_lost(r->wake_fds.v[i]);
		if (i < r->wake_gone_lost.n)
			lost += r->wake_gone_lost.v[i];
		struct ring_state *rs = &r->ring_state.v[i];
		if (lost <= rs->reported_lost)
			continue;
		uint64_t held = lost - rs->reported_lost;
		rs->reported_lost = lost;
		r->st.lost += held;
		/* from the ring's last record; a ring that gave none lost all */
		note_loss(r, r->rings.v[i].cpu, rs->last_time ? rs->last_time : r->opened_at, end, held);
	}
}

size_t recorder_poll(struct recorder *r, int timeout_ms)
{
	bool threaded = r->drainer.running;
	if (threaded) {
		take_drained(r, timeout_ms);
	} else {
		if (timeout_ms > 0 && r->pfds.n && !r->next.nrec)
			poll(r->pfds.v, r->pfds.n, timeout_ms);
		drain_rings(r);
		struct rec_buf tmp = r->cur;
		r->cur = r->next;
		r->next = tmp;
		r->next.len = r->next.nrec = 0;
	}

	/* side-band records first: a sample on one cpu may need a mapping
	 * whose record came through another cpu's ring */
	const struct rec_buf *b = &r->cur;
	for (size_t off = 0; off < b->len; off += rec_at(b, off)->size)
		on_sideband(r, rec_at(b, off), -1);
	if (r->wakef.changed && r->wake_fds.n && !r->disabled)
		wake_refresh(r); /* a thread started that the filter does not pass */
	retry_deferred(r, b->nrec);
	size_t since_check = 0;
	for (size_t off = 0; off < b->len; off += rec_at(b, off)->size) {
		on_sample(r, rec_at(b, off), -1);
		if (!threaded && ++since_check >= 32) {
			since_check = 0;
			if (now_ns() - r->last_drain >= DRAIN_EVERY_NS)
				drain_rings(r);
		}
	}
	if (!threaded && r->sched_raised)
		reader_sched_govern(&r->sched);
	if (r->o.offcpu)
		offcpu_pairer_flush(&r->offcpu, false, 0, emit_offcpu, r);
	size_t n = b->nrec + r->round_deferred;
	if (!n && r->disabled)
		count_held_losses(r, now_ns());
	return n;
}

size_t recorder_losses(const struct recorder *r, const struct recorder_loss **out)
{
	*out = r->losses.v;
	return r->losses.n;
}

/* The thread kiln opened counters on may not report at exit as inherited
 * children do: its count is what its counters read now (theirs and every
 * child's), less what the other threads reported, when exactly one thread
 * was opened and no other thread's report was lost. */
static void count_opened_threads(struct recorder *r)
{
	uint32_t tid = 0;
	bool one = true;
	uint64_t total = 0;
	for (size_t i = 0; i < r->opened.n; i++) {
		uint64_t v[2]; /* the count, and the lost records where read_format has them */
		if (tid && r->opened.v[i].tid != tid)
			one = false;
		tid = r->opened.v[i].tid;
		if (read(r->opened.v[i].fd, v, sizeof(v)) >= (ssize_t)sizeof(v[0]))
			total += v[0];
	}
	if (!tid || !one || r->lost_unreported)
		return; /* a child's lost report would be taken for its own */
	uint64_t children = thread_counts_read_total(&r->tc);
	if (total > children)
		thread_counts_read(&r->tc, tid, total - children);
}

size_t recorder_lost_threads(struct recorder *r, const struct thread_lost **out, size_t *unreported)
{
	if (!r->lost_threads.n && r->st.lost) {
		/* no report is awaited from the threads kiln opened counters on */
		for (size_t i = 0; i < r->opened.n; i++)
			thread_counts_get(&r->tc, r->opened.v[i].tid)->opened = true;
		r->lost_unreported = thread_counts_unreported(&r->tc, (unsigned)r->rings.n);
		count_opened_threads(r);
		vec_reserve(&r->lost_threads, r->tc.v.n + 1);
		/* a clock sampled at a frequency has a fixed period; other
		 * events' periods are known only from kept samples */
		uint64_t period = r->o.freq ? (r->o.event.is_clock ? 1000000000ull / r->o.freq : 0) : r->o.period;
		r->lost_threads.n = thread_counts_lost(&r->tc, r->st.lost, period, r->lost_threads.v);
	}
	*unreported = r->lost_unreported;
	*out = r->lost_threads.v;
	return r->lost_threads.n;
}

void recorder_feed(struct recorder *r, const struct perf_event_header *h)
{
	r->deferring = false;
	if (h->type == PERF_RECORD_SAMPLE)
		handle_sample(r, h);
	else
		on_sideband(r, h, -1);
}

void recorder_mark_mappings(const struct recorder *r, uint8_t *live)
{
	maps_mark(&r->maps, live);
}

void recorder_remap_mappings(struct recorder *r, const uint32_t *map)
{
	maps_remap(&r->maps, map);
}

size_t recorder_forget_processes(struct recorder *r, bool (*gone)(void *ctx, uint32_t pid), void *ctx)
{
	return maps_forget(&r->maps, gone, ctx);
}

size_t recorder_forget_threads(struct recorder *r, bool (*gone)(void *ctx, uint32_t tid), void *ctx)
{
	size_t n = thread_counts_forget(&r->tc, gone, ctx);
	/* a thread with a stack-copy time had a sample, so it has a count */
	struct hashmap kept;
	hashmap_init(&kept);
	for (size_t i = 0; i < r->copied_at.cap; i++) {
		const struct hashmap_slot *sl = &r->copied_at.slots[i];
		if (sl->key != UINT64_MAX && thread_counts_has(&r->tc, (uint32_t)sl->key))
			hashmap_put(&kept, sl->key, sl->val);
	}
	hashmap_release(&r->copied_at);
	r->copied_at = kept;
	return n;
}

size_t recorder_threads(const struct recorder *r)
{
	return r->tc.v.n > r->copied_at.n ? r->tc.v.n : r->copied_at.n;
}

void recorder_set_refusing(struct recorder *r, bool on)
{
	r->refusing = on;
}

size_t recorder_bytes(struct recorder *r)
{
	/* the drainer fills next and losses under its lock */
	if (r->drainer.running)
		pthread_mutex_lock(&r->drainer.lock);
	size_t drained = r->next.cap + r->losses.cap * sizeof(*r->losses.v);
	if (r->drainer.running)
		pthread_mutex_unlock(&r->drainer.lock);
	size_t n = sizeof(*r) + maps_bytes(&r->maps) + thread_counts_bytes(&r->tc) + hashmap_bytes(&r->copied_at) +
	           r->cur.cap + drained + r->deferred.cap * sizeof(*r->deferred.v) +
	           r->rings.cap * sizeof(*r->rings.v) + r->rings.n * sizeof(*r->ring_state.v) +
	           r->opened.cap * sizeof(*r->opened.v) + r->lost_threads.cap * sizeof(*r->lost_threads.v) +
	           r->extra.cap * sizeof(*r->extra.v) + r->pfds.cap * sizeof(*r->pfds.v);
	for (size_t i = 0; i < r->deferred.n; i++)
		n += r->deferred.v[i]->size;
	for (size_t i = 0; i < r->rings.n; i++)
		n += r->rings.v[i].map_len + (r->rings.v[i].bounce ? 65536 : 0);
	return n;
}

void recorder_get_stats(const struct recorder *r, struct recorder_stats *st)
{
	*st = r->st;
	if (!r->drainer.running) { /* else the drainer's, not ours to read yet */
		st->first_time = r->first_time;
		st->reader_prio = r->reader_prio;
		st->reader_lowered_ms = r->reader_lowered_ms;
	}
}

void recorder_refused_cfi(const struct recorder *r, struct strbuf *out)
{
	if (r->unwinder)
		unwinder_refused(r->unwinder, out);
}
