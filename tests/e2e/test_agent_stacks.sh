#!/bin/bash
# test_agent_stacks.sh - allocations on 16 and 32 KiB thread stacks and from
# handlers on small alternate signal stacks
# (tests/fixtures/host_small_stack.c): the host's stdout, stderr, exit
# status and files are the same bare and under kiln heap, and the agent's
# own stack use per hook stays within a few hundred bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_small_stack
agent_scenario stacks 1 "$T/host_small_stack"

# the agent's own stack use per hook, once its caches are warm: a few
# hundred bytes (measured 320, 608 in a Debug build; it was 4,800 with the
# capture buffers on the stack)
host_build host_stack_use
host_run "$T/use.bare" "$T/host_stack_use"
host_run "$T/use.heap" "$KILN" heap -q -o "$T/use.kiln" -- "$T/host_stack_use"
bare=$(sed -n 's/^stack per malloc: //p' "$T/use.bare.out")
heap=$(sed -n 's/^stack per malloc: //p' "$T/use.heap.out")
check_le "the agent's stack per malloc (bytes; bare malloc: ${bare:-?})" "$((${heap:-99999} - ${bare:-0}))" 1024
finish
