/* recorder.c - perf_event sampling into a profile, unwinding as it goes. */
#include "capture/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "capture/maps.h"
#include "capture/perf_ring.h"
#include "unwind/unwind.h"
#include "util/xalloc.h"

#define MAX_FRAMES 1024

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
	VEC(struct perf_ring) rings; /* one per cpu */
	VEC(uint64_t) heads;         /* perf_rings_read's scratch, one per ring */
	VEC(int) extra_fds;          /* per-thread events redirected into a ring */
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
};

struct recorder *recorder_new(struct profile *p, const struct recorder_options *o)
{
	struct recorder *r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->o = *o;
	maps_init(&r->maps, p);
	if (o->call_graph == CALL_GRAPH_DWARF)
		r->unwinder = unwinder_new();
	r->max_stack = (int)event_read_sysctl("/proc/sys/kernel/perf_event_max_stack", 127);
	if (r->max_stack <= 0 || r->max_stack > MAX_FRAMES - 2)
		r->max_stack = r->max_stack <= 0 ? 127 : MAX_FRAMES - 2;
	r->regs_mask = arch_perf_regs_mask();
	long n = sysconf(_SC_NPROCESSORS_CONF);
	r->ncpus = n > 0 ? (int)n : 1;
	return r;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->rings.n; i++)
		perf_ring_release(&r->rings.v[i]);
	for (size_t i = 0; i < r->extra_fds.n; i++)
		close(r->extra_fds.v[i]);
	vec_free(&r->rings);
	vec_free(&r->heads);
	vec_free(&r->extra_fds);
	vec_free(&r->pfds);
	for (size_t i = 0; i < r->deferred.n; i++)
		free(r->deferred.v[i]);
	vec_free(&r->deferred);
	maps_release(&r->maps);
	unwinder_free(r->unwinder);
	free(r);
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
	a->sample_max_stack = (uint16_t)r->max_stack;
	a->disabled = 1;
	a->enable_on_exec = enable_on_exec;
	a->inherit = r->o.inherit;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->exclude_kernel = !r->o.kernel;
	a->exclude_hv = 1;
	a->exclude_callchain_kernel = !r->o.kernel;
	a->watermark = 1;
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
		if ((err == EACCES || err == EPERM) && !r->attr.exclude_kernel) {
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
	size_t pages = r->o.call_graph == CALL_GRAPH_DWARF ? RING_PAGES_DWARF : RING_PAGES_FP;
	for (;;) {
		struct perf_ring ring;
		int rc = perf_ring_map(&ring, fd, cpu, pages);
		if (rc == 0) {
			vec_push(&r->rings, ring);
			struct pollfd pfd = {fd, POLLIN, 0};
			vec_push(&r->pfds, pfd);
			return 0;
		}
		if (rc != -EPERM && rc != -ENOMEM)
			return rc;
		if (pages <= RING_PAGES_MIN)
			return rc;
		pages /= 2;
	}
}

static int open_for(struct recorder *r, pid_t pid, bool first_thread)
{
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd = open_one(r, pid, cpu);
		if (fd == -ENODEV || fd == -EINVAL) {
			if (first_thread && cpu > 0)
				continue; /* an offline cpu */
		}
		if (fd < 0)
			return fd;
		if (first_thread) {
			int rc = map_ring(r, fd, cpu);
			if (rc < 0) {
				close(fd);
				return rc;
			}
			continue;
		}
		/* later threads write into the ring of the same cpu */
		int target = -1;
		for (size_t i = 0; i < r->rings.n; i++)
			if (r->rings.v[i].cpu == cpu)
				target = r->rings.v[i].fd;
		if (target < 0 || ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, target) < 0) {
			int err = target < 0 ? -ENODEV : -errno;
			close(fd);
			if (target < 0)
				continue;
			return err;
		}
		vec_push(&r->extra_fds, fd);
	}
	r->st.kernel_stacks = !r->attr.exclude_kernel;
	return r->rings.n ? 0 : -ENODEV;
}

int recorder_open_child(struct recorder *r, pid_t pid)
{
	build_attr(r, true);
	return open_for(r, pid, true);
}

static void read_comm(struct recorder *r, uint32_t pid, uint32_t tid)
{
	char path[96], name[64] = "";
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/task/%" PRIu32 "/comm", pid, tid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	profile_thread(r->p, tid, pid)->name = profile_intern(r->p, name);
}

int recorder_open_process(struct recorder *r, pid_t pid)
{
	build_attr(r, false);
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
	return rc;
}

void recorder_enable(struct recorder *r)
{
	for (size_t i = 0; i < r->rings.n; i++)
		ioctl(r->rings.v[i].fd, PERF_EVENT_IOC_ENABLE, 0);
	for (size_t i = 0; i < r->extra_fds.n; i++)
		ioctl(r->extra_fds.v[i], PERF_EVENT_IOC_ENABLE, 0);
}

void recorder_disable(struct recorder *r)
{
	for (size_t i = 0; i < r->rings.n; i++)
		ioctl(r->rings.v[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < r->extra_fds.n; i++)
		ioctl(r->extra_fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
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
	} else {
		profile_thread(r->p, f.tid, f.pid)->end = f.time;
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

static bool in_kernel_mode(const struct perf_event_header *h)
{
	return (h->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
}

/* The user part of a DWARF-mode sample, as the kernel wrote it. */
struct user_state {
	bool present;    /* the sample has user registers */
	bool short_copy; /* the kernel copied fewer stack bytes than it dumped */
	struct unwind_input in;
};

/* Reads the user registers and stack copy at c; false when malformed. */
static bool take_user_state(struct recorder *r, struct cursor *c, struct user_state *u)
{
	memset(u, 0, sizeof(*u));
	uint64_t abi = take_u64(c);
	if (abi && !c->bad) {
		uint64_t nregs = (uint64_t)__builtin_popcountll(r->regs_mask);
		const uint8_t *regs = take_bytes(c, nregs * 8);
		if (regs) {
			uint64_t tmp[64];
			memcpy(tmp, regs, nregs * 8);
			u->in.regs_valid = arch_perf_regs_to_dwarf(tmp, r->regs_mask, u->in.regs);
		}
	}
	uint64_t size = take_u64(c);
	const uint8_t *stack = size ? take_bytes(c, size) : NULL;
	uint64_t dyn = size ? take_u64(c) : 0;
	if (c->bad)
		return false;
	u->in.stack = stack;
	u->in.stack_size = dyn < size ? dyn : size;
	u->present = abi && u->in.regs_valid;
	/* size 0 with registers: the kernel had no room to copy anything */
	u->short_copy = u->present && (!size || dyn < size);
	return true;
}

/* Whether a sample with no (or a short) user stack copy was taken inside
 * an execve of pid, after its exec record; *map_time becomes the time at
 * which to look its user addresses up (just before the exec). */
static bool exec_cut(struct recorder *r, const struct perf_event_header *h, uint32_t pid, uint64_t time,
                     uint64_t user_ip, uint64_t *map_time)
{
	*map_time = time;
	if (!in_kernel_mode(h))
		return false;
	/* The exec's COMM record comes right after the switch to the new
	 * program's memory; the kernel's work goes on after it, with the old
	 * program's registers, in an address space where their pc maps
	 * nothing. (The few samples between the switch and the record count
	 * as not copied.) */
	uint64_t before = maps_exec_before(&r->maps, pid, time);
	if (!before || maps_find(&r->maps, pid, time, user_ip) || !maps_find(&r->maps, pid, before - 1, user_ip))
		return false;
	*map_time = before - 1; /* name the old program's frames */
	return true;
}

/* Puts the marker of why a stack stops at its root. */
static void mark_cut(struct recorder *r, uint32_t *n, enum profile_cut why)
{
	if (*n < MAX_FRAMES)
		r->loc_ids[(*n)++] = profile_location(r->p, PROFILE_NO_MAPPING, why, PROFILE_LOC_TRUNCATED);
}

/* Unwinds the user part of a DWARF-mode sample into loc_ids[*n...] and
 * counts how it ended. */
static void unwind_user(struct recorder *r, const struct perf_event_header *h, const struct user_state *u, uint32_t pid,
                        uint64_t time, uint32_t *n)
{
	uint64_t map_time = time;
	bool by_exec = u->short_copy && exec_cut(r, h, pid, time, u->in.regs[ARCH_DWARF_IP], &map_time);
	struct find_ctx fc = {r, pid, map_time};
	enum unwind_status status;
	int max = MAX_FRAMES - (int)*n;
	int got = unwinder_unwind(r->unwinder, &u->in, find_module, &fc, r->locs_scratch, max, &status);
	for (int i = 0; i < got; i++) {
		uint64_t pc = i ? r->locs_scratch[i] - 1 : r->locs_scratch[i];
		r->loc_ids[(*n)++] = user_location(r, pid, map_time, pc);
	}
	if (status == UNWIND_COMPLETE)
		return;
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

static void handle_sample(struct recorder *r, const struct perf_event_header *h)
{
	struct cursor c = {(const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false};
	uint64_t ip = take_u64(&c);
	uint64_t pidtid = take_u64(&c);
	uint64_t time = take_u64(&c);
	uint64_t cpu = take_u64(&c);
	uint64_t period = take_u64(&c);
	uint64_t nr = take_u64(&c);
	if (c.bad || nr > 4096)
		return;
	const uint8_t *chain = take_bytes(&c, nr * 8);
	if (c.bad)
		return;
	struct user_state u = {0};
	if (r->o.call_graph == CALL_GRAPH_DWARF && !take_user_state(r, &c, &u))
		return;
	uint32_t pid = (uint32_t)pidtid, tid = (uint32_t)(pidtid >> 32);
	uint32_t n = 0;
	if (r->deferring && !(h->misc & PERF_RECORD_MISC_KERNEL) && maps_known(&r->maps, pid) &&
	    !maps_find(&r->maps, pid, time, ip)) {
		defer_sample(r, h);
		return;
	}
	/* An uncopied stack taken in the kernel may be inside an execve whose
	 * COMM record sits unread in another cpu's ring: wait a round for it. */
	if (r->deferring && u.short_copy && in_kernel_mode(h)) {
		defer_sample(r, h);
		return;
	}
	bool in_kernel = false, in_user = false;
	uint32_t user_entries = 0;

	if (!maps_known(&r->maps, pid))
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
			unwind_user(r, h, &u, pid, time, &n);
	} else if (user_entries >= (uint32_t)r->max_stack) {
		r->st.truncated++;
		mark_cut(r, &n, PROFILE_CUT_DEPTH);
	}

	if (n == 0) /* no callchain at all: keep the ip so the sample counts */
		r->loc_ids[n++] = user_location(r, pid, time, ip);

	struct profile_sample s = {0};
	s.stack = profile_stack_from_leaf(r->p, r->loc_ids, n);
	s.tid = tid;
	s.pid = pid;
	s.cpu = (uint32_t)cpu;
	s.time = time;
	s.values[RECORDER_VALUE_SAMPLES] = 1;
	s.values[RECORDER_VALUE_EVENTS] = (int64_t)period;
	profile_add_sample(r->p, &s);
	struct profile_thread *t = profile_thread(r->p, tid, pid);
	if (!t->start)
		t->start = time;
	r->st.samples++;
}

static void on_sideband(void *ctx, const struct perf_event_header *h, int cpu)
{
	struct recorder *r = ctx;
	(void)cpu;
	switch (h->type) {
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

size_t recorder_poll(struct recorder *r, int timeout_ms)
{
	static const struct perf_rings_reader reader = {on_sideband, retry_deferred, on_sample};
	size_t total;

	if (timeout_ms > 0 && r->pfds.n)
		poll(r->pfds.v, r->pfds.n, timeout_ms);
	vec_reserve(&r->heads, r->rings.n);
	total = perf_rings_read(r->rings.v, r->rings.n, r->heads.v, &reader, r);
	return total + r->round_deferred;
}

void recorder_feed(struct recorder *r, const struct perf_event_header *h)
{
	r->deferring = false;
	if (h->type == PERF_RECORD_SAMPLE)
		handle_sample(r, h);
	else
		on_sideband(r, h, -1);
}

void recorder_get_stats(const struct recorder *r, struct recorder_stats *st)
{
	*st = r->st;
}

void recorder_refused_cfi(const struct recorder *r, struct strbuf *out)
{
	if (r->unwinder)
		unwinder_refused(r->unwinder, out);
}
