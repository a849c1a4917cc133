#!/bin/bash
# test_heap_backpressure.sh - when kiln stops reading, the agent's ring
# fills and the target waits; no event is lost. kiln is stopped (SIGSTOP)
# for a while during an allocation-heavy run; the counts must still equal
# valgrind's, and the target must have waited.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed (it gives the expected counts)"
SRC=$KILN_SRC/tests/fixtures/heap_bench.c
cc -O2 -g -o "$T/heap_bench" "$SRC" || die "cannot build $SRC"
# 8 rounds: the agent's 8 MiB ring fills in about 2 of them (measured: the
# target's CPU at 30 ms when kiln stops, waiting at 190 ms, about 420 ms in
# all); valgrind (the cost of this test) only counts, so no definedness
# tracking
ROUNDS=8

valgrind --undef-value-errors=no "$T/heap_bench" $ROUNDS >/dev/null 2>"$T/valgrind.log"
read -r V_ALLOCS V_FREES < <(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, \([0-9,]*\) frees.*/\1 \2/p' "$T/valgrind.log" | tr -d ,)
[ -n "$V_ALLOCS" ] || die "no totals from valgrind"

"$KILN" heap -v -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/heap_bench" $ROUNDS >"$T/heap.out" 2>"$T/heap.err" &
KPID=$!
# Stop kiln once the target is allocating, and let it go only when the
# target waits on the full ring or has ended; conditions, not guesses of
# how long. The agent waits in nanosleep, 20 us at a time, so the target's
# CPU time still creeps up (waiting for it to stand still took 20 s);
# heap_bench never sleeps, and a target merely waiting for a cpu is
# runnable, not asleep in a system call.
target=""
while [ -z "$target" ] && kill -0 $KPID 2>/dev/null; do
	target=$(pgrep -P $KPID -x heap_bench | head -1)
	[ -n "$target" ] || sleep 0.02
done
[ -n "$target" ] && wait_cpu_ms "$target" 20
kill -STOP $KPID 2>/dev/null
for _ in $(seq 1 400); do
	state=$(sed -n 's/.*) \([A-Z]\) .*/\1/p' "/proc/$target/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] && break
	# x86_64 nanosleep (35) or clock_nanosleep (230), glibc's nanosleep
	read -r nr _ <"/proc/$target/syscall" 2>/dev/null
	[ "$state" = S ] && { [ "$nr" = 35 ] || [ "$nr" = 230 ]; } && break
	sleep 0.05
done
kill -CONT $KPID 2>/dev/null
wait $KPID
RC=$?
check_eq "exit status" "$RC" 0
check_eq "allocations = valgrind's" "$(hj "$T/heap.json" "d['allocations']")" "$V_ALLOCS"
check_eq "frees = valgrind's" "$(hj "$T/heap.json" "d['frees']")" "$V_FREES"
WAITS=$(sed -n 's/.*the target waited for kiln \([0-9]*\) times.*/\1/p' "$T/heap.err")
check_ge "the target waited for kiln" "$WAITS" 1
# the reader has record's reader priority, so that on a busy machine the
# target is not left waiting on a full ring (root: real-time)
PRIO=$(sed -n 's/.*ring reader at \(.*\) priority;.*/\1/p' "$T/heap.err")
if [ "$(id -u)" = 0 ]; then
	check_eq "ring reader's priority" "$PRIO" "real-time (SCHED_FIFO)"
else
	[ -n "$PRIO" ] && ok "ring reader at $PRIO priority" || fail "the ring reader's priority is not said"
fi
finish
