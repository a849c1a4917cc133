#!/bin/bash
# test_agent_jumpstep.sh - siglongjmp out of the heap agent at each
# instruction of its malloc and free hooks in turn (single-stepped,
# tests/fixtures/host_jumpstep.c), in order and last step first: the host
# allocates again from two threads after every jump, and its stdout,
# stderr, exit status and files are the same bare and under kiln heap. A
# lock, guard or half-written event a jump left behind hangs or crashes
# it; deterministic, unlike the random jumps of test_agent_longjmp.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
[ "$(uname -m)" = x86_64 ] || skip "single-steps with the x86_64 trap flag"
host_build host_jumpstep
for order in forward reverse; do
	arg=()
	[ $order = reverse ] && arg=(-r)
	JUMPSTEP_REPORT=$T/$order.bare.report host_run "$T/$order.bare" "$T/host_jumpstep" "${arg[@]}"
	JUMPSTEP_REPORT=$T/$order.heap.report host_run "$T/$order.heap" "$KILN" heap -q -o "$T/$order.kiln" -- "$T/host_jumpstep" "${arg[@]}"
	host_compare "jumps $order" "$T/$order.bare" "$T/$order.heap"
	# measured: 1045 steps in the agent; 823 jumps in order (the rest pass
	# through once a jump under the lock stopped the recording), 86 last
	# step first
	read -r _ steps _ jumps <"$T/$order.heap.report" 2>/dev/null
	check_ge "jumps $order: steps of a malloc+free in the agent" "${steps:-}" 300
	check_ge "jumps $order: jumps out of the agent" "${jumps:-}" 50
done
finish
