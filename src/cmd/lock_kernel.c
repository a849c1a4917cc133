/* lock_kernel.c - kiln lock's kernel engine: perf_event_open on the futex
 * syscall entry and exit tracepoints of every thread, the entries with
 * their user stack copied and DWARF-unwound as kiln record does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/events.h"
#include "capture/lock_futex.h"
#include "capture/recorder.h"
#include "cmd/cmd.h"
#include "cmd/lock_engine.h"

/* Bytes of user stack copied per futex entry: lock call paths are short,
 * and a futex-heavy program makes tens of thousands of calls a second. */
#define LOCK_STACK_SIZE 16384u

struct kernel_ctx {
	struct lock_session *s;
	struct futex_format fmt;
	struct recorder *r;
};

static void on_raw(void *vctx, const struct recorder_raw_sample *rs)
{
	struct kernel_ctx *k = vctx;
	struct futex_event ev;
	futex_decode(&k->fmt, rs->raw, rs->raw_size, &ev);
	if (ev.kind == FUTEX_EV_NONE)
		return;
	struct lock_syscall c = {
	    .time = rs->time,
	    .tid = rs->tid,
	    .pid = rs->pid,
	    .exit = ev.kind == FUTEX_EV_EXIT,
	};
	if (!c.exit) {
		c.uaddr = ev.uaddr;
		c.stack = rs->stack;
		c.waits = futex_op_waits(ev.op);
		c.wakes = futex_op_wakes(ev.op);
	}
	lock_input_syscall(&k->s->in, &c);
}

/* Finds the two tracepoints, mounting tracefs when root and it is not. */
static int find_events(struct event_desc *enter, struct event_desc *exit_ev, struct futex_format *fmt)
{
	int rc = event_tracefs_mount();
	if (rc)
		return rc == -EPERM ? -EACCES : rc;
	rc = futex_format_load(fmt, NULL);
	if (rc)
		return rc;
	rc = event_parse("syscalls:sys_enter_futex", enter);
	if (!rc)
		rc = event_parse("syscalls:sys_exit_futex", exit_ev);
	return rc;
}

int lock_kernel_probe(void)
{
	struct event_desc enter, exit_ev;
	struct futex_format fmt;
	int rc = find_events(&enter, &exit_ev, &fmt);
	if (rc)
		return rc;
	struct perf_event_attr attr = {0};
	attr.size = sizeof(attr);
	attr.type = enter.type;
	attr.config = enter.config;
	attr.sample_period = 1;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.disabled = 1;
	int fd = event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static size_t poll_kernel(struct lock_session *s, int timeout_ms)
{
	struct kernel_ctx *k = s->engine_ctx;
	return recorder_poll(k->r, timeout_ms);
}

static int explain(int rc, pid_t pid)
{
	if (rc == -EACCES || rc == -EPERM) {
		if (geteuid() != 0 && access("/sys/kernel/tracing/events/syscalls", R_OK))
			kiln_error("the futex tracepoints need tracefs, which only root can read or mount here; run as "
			           "root (or give kiln CAP_PERFMON and mount tracefs: mount -t tracefs nodev "
			           "/sys/kernel/tracing), or use --engine agent");
		else
			cmd_perm_error("watch the futex calls of", pid, true);
		return 1;
	}
	if (rc == -ENOENT)
		kiln_error("this kernel has no syscalls:sys_enter_futex tracepoint (CONFIG_FTRACE_SYSCALLS is off); "
		           "use --engine agent");
	else if (rc == -ESRCH)
		kiln_error("the process exited before it could be watched");
	else
		kiln_error("cannot open the futex tracepoints: %s", strerror(-rc));
	return 1;
}

int lock_kernel_run(struct lock_session *s)
{
	const struct lock_args *a = s->a;
	struct kernel_ctx k = {.s = s};
	struct event_desc enter, exit_ev;
	int status = -1;
	s->engine_name = "kernel";
	s->sees = "futex syscall tracepoints, every wait";
	s->blind = "hold times and uncontended acquisitions (use --engine agent), waits that spin without a futex call";
	int rc = find_events(&enter, &exit_ev, &k.fmt);
	if (rc)
		return explain(rc, a->pid);
	struct recorder_options ro = {
	    .event = enter,
	    .period = 1,
	    .call_graph = CALL_GRAPH_DWARF,
	    .stack_size = LOCK_STACK_SIZE,
	    .inherit = true,
	    .raw = true,
	    .companion = exit_ev,
	    .on_raw = on_raw,
	    .raw_ctx = &k,
	};
	k.r = recorder_new(s->p, &ro);
	s->engine_ctx = &k;
	if (a->pid) {
		if (target_attach(&s->t, a->pid)) {
			kiln_error("no process with pid %d", (int)a->pid);
			status = 1;
			goto out_free;
		}
		rc = recorder_open_process(k.r, a->pid);
		if (rc) {
			status = explain(rc, a->pid);
			goto out_free;
		}
		recorder_enable(k.r);
	} else {
		rc = target_launch(&s->t, a->argv);
		if (rc) {
			kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
			status = 1;
			goto out_free;
		}
		rc = recorder_open_child(k.r, s->t.pid);
		if (rc) {
			status = explain(rc, 0);
			goto out_free;
		}
		rc = target_start(&s->t);
		if (rc) {
			status = cmd_exec_error(a->argv[0], rc, NULL);
			goto out_free;
		}
	}
	lock_session_wait(s, poll_kernel);
	recorder_disable(k.r);
	while (recorder_poll(k.r, 0))
		;
	struct recorder_stats st;
	recorder_get_stats(k.r, &st);
	s->lost = st.lost;
out_free:
	recorder_free(k.r);
	s->engine_ctx = NULL;
	return status;
}
