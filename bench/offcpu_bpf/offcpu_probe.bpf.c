/* offcpu_probe.bpf.c - the kernel half of offcpu_bpf.sh's cost probe: what
 * an off-CPU collector that pairs switch-out, wake-up and switch-in in the
 * kernel would cost the program. One ring-buffer record per switch-out of
 * the target's threads: user registers, a 4 KiB user stack copy, the
 * kernel stack, and the times of the thread's previous wake-up and
 * switch-in (so an interval needs no record of its own). Nothing wakes the
 * reader: it drains the ring on a timer. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define USER_STACK    4096
#define KERNEL_FRAMES 32

struct switch_record {
	u32 tid, pid;
	u64 out, prev_wake, prev_in;
	u64 ip, sp, bp;
	s64 kernel_bytes, user_bytes;
	u64 kernel_stack[KERNEL_FRAMES];
	u8 user_stack[USER_STACK];
};

/* a thread's times since its last switch-out */
struct thread_times {
	u64 out, wake, in;
};

const volatile __u32 target_tgid = 0;
const volatile int copy_user_stack = 1, copy_kernel_stack = 1;
__u64 dropped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, struct thread_times);
} times SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u64 now = bpf_ktime_get_ns();
	if (prev->tgid == target_tgid) {
		u32 tid = prev->pid;
		struct thread_times *t = bpf_map_lookup_elem(&times, &tid);
		struct switch_record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
		if (!r) {
			__sync_fetch_and_add(&dropped, 1);
		} else {
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);
			r->tid = tid;
			r->pid = prev->tgid;
			r->out = now;
			r->prev_wake = t ? t->wake : 0;
			r->prev_in = t ? t->in : 0;
			r->ip = PT_REGS_IP_CORE(regs);
			r->sp = PT_REGS_SP_CORE(regs);
			r->bp = BPF_CORE_READ(regs, bp);
			r->kernel_bytes =
			    copy_kernel_stack ? bpf_get_stack(ctx, r->kernel_stack, sizeof(r->kernel_stack), 0) : 0;
			r->user_bytes = 0;
			if (copy_user_stack && bpf_probe_read_user(r->user_stack, USER_STACK, (void *)r->sp) == 0)
				r->user_bytes = USER_STACK;
			bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		}
		struct thread_times fresh = {now, 0, 0};
		bpf_map_update_elem(&times, &tid, &fresh, BPF_ANY);
	}
	if (next->tgid == target_tgid) {
		u32 tid = next->pid;
		struct thread_times *t = bpf_map_lookup_elem(&times, &tid);
		if (t)
			t->in = now;
	}
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	if (p->tgid != target_tgid)
		return 0;
	u32 tid = p->pid;
	struct thread_times *t = bpf_map_lookup_elem(&times, &tid);
	if (t && !t->wake)
		t->wake = bpf_ktime_get_ns();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
