#!/bin/bash
# test_agent_exit_threads.sh - the leak scan at exit takes the other
# threads' registers and stacks without interrupting their system calls
# (issue 21, item 5): threads asleep in nanosleep and poll never see EINTR,
# a block held only in a register and one held only on a stack of another
# thread stay reachable, main's leak is definitely lost as memcheck says
# (tests/fixtures/host_exit_sleepers.c). Repeated KILN_AGENT_RUNS times
# (default 5); once more with ptrace refused (KILN_HEAP_PTRACE=0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/host_exit_sleepers.c
cc -O2 -g -pthread -o "$T/host" "$SRC" || die "cannot build $SRC"
"$T/host" >"$T/bare.out" 2>&1
BARE_RC=$?
check_eq "bare run" "$BARE_RC $(cat "$T/bare.out")" "0 main done"
J=$T/heap.json
reach() { hj "$J" "site('host_exit_sleepers.c:$(line_of "$SRC" "$1")', 'by_leaked').get('still_reachable_bytes')"; }
lost() { hj "$J" "'%d %d' % (d['leaks']['definitely_lost']['bytes'], d['leaks']['definitely_lost']['blocks'])"; }
RUNS=${KILN_AGENT_RUNS:-5}
for run in $(seq 1 "$RUNS"); do
	krun heap heap -q -o "$T/heap.kiln" --json "$J" -- "$T/host"
	check_no_crash heap
	check_eq "run $run: exit status" "$RC" "$BARE_RC"
	if cmp -s "$T/bare.out" "$T/heap.out"; then ok "run $run: output unchanged, no EINTR"; else
		fail "run $run: output differs"
		sed 's/^/    | /' "$T/heap.out"
	fi
	check_eq "run $run: block held in a register, still reachable" "$(reach REG_BLOCK)" 200
	check_eq "run $run: block held on a stack, still reachable" "$(reach STACK_BLOCK)" 300
	check_eq "run $run: definitely lost" "$(lost)" "123 1"
done
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/host" >/dev/null 2>&1
	check_eq "definitely lost as memcheck" "$(lost)" "$(valgrind_leak "$T/vg.log" "definitely lost")"
else
	say "valgrind not installed: no comparison with memcheck"
fi
# where ptrace is refused: whole stacks, no registers, no signals either
KILN_HEAP_PTRACE=0 krun noptrace heap -q -v -o "$T/heap.kiln" --json "$J" -- "$T/host"
check_no_crash noptrace
if cmp -s "$T/bare.out" "$T/noptrace.out"; then ok "without ptrace: output unchanged, no EINTR"; else
	fail "without ptrace: output differs"
fi
check_grep "without ptrace: -v says so" "$T/noptrace.err" "ptrace was refused: the other threads of 1 process were scanned without their registers"
check_eq "without ptrace: block held on a stack, still reachable" "$(reach STACK_BLOCK)" 300
check_eq "without ptrace: definitely lost" "$(lost)" "123 1"
finish
