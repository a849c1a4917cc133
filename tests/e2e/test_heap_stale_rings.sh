#!/bin/bash
# test_heap_stale_rings.sh - kill -9 of kiln heap leaves no ring memory
# behind (issue 22 item 4): kiln unlinks each ring as soon as it has mapped
# it, the target finishes on its own once kiln is gone, and the next kiln
# heap removes the dead run's directory (its owner's pid and start time
# are in its name) but never a running kiln's. Fifos synchronise the
# target and the test; the only wait is for kiln to map the ring.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_ring_kill.c
cc -O2 -g -o "$T/ring_kill" "$SRC" || die "cannot build $SRC"
cc -O2 -o "$T/heap_loop" "$KILN_SRC/tests/fixtures/heap_loop.c" || die "cannot build heap_loop.c"

# start_run NAME: kiln heap of the fixture in the background; sets KPID,
# TPID and DIR (the target's pid and channel directory, read from it)
start_run() {
	mkfifo "$T/$1.out" "$T/$1.go"
	"$KILN" heap -q -o "$T/$1.kiln" --json "$T/$1.json" -- "$T/ring_kill" "$T/$1.out" "$T/$1.go" >"$T/$1.stdout" 2>"$T/$1.err" &
	KPID=$!
	exec {fd}<"$T/$1.out"
	eval "FD_$1=$fd"
	read -r TPID DIR <&"$fd" || die "$1: the target wrote no channel directory"
}

# 1. kill -9 of kiln mid-run
start_run a
A_KPID=$KPID A_DIR=$DIR A_TPID=$TPID
check_grep "the channel is named after kiln's pid" <(echo "$A_DIR") "/kiln-heap-$A_KPID-[0-9]+-[A-Za-z0-9]{6}\$"
# kiln maps the target's ring within a poll or two: wait for its name to go
for _ in $(seq 1 600); do
	compgen -G "$A_DIR/*.ring" >/dev/null || break
	sleep 0.05
done
if compgen -G "$A_DIR/*.ring" >/dev/null; then
	fail "the ring file is still there after kiln mapped it: $(ls "$A_DIR")"
else
	ok "the ring file was unlinked once kiln had mapped it"
fi
kill -9 "$A_KPID"
wait "$A_KPID" 2>/dev/null
echo go >"$T/a.go"
# the target (now without kiln) forks, fills its ring, and finishes
rest=$(cat <&"$FD_a")
check_eq "the target finishes after kiln was killed" "$rest" "finished"
exec {FD_a}<&-
check_eq "no file of the killed run's target is left" "$(find "$A_DIR" -name "$A_TPID-*" | wc -l)" 0
say "files left in the dead run's directory (its child's ring, made after kiln died): $(find "$A_DIR" -type f | wc -l)"

# 2. a second kiln heap runs on while a third starts: the third removes
# the dead run's directory, not the running one's
start_run b
B_KPID=$KPID B_DIR=$DIR
krun c heap -q -o "$T/c.kiln" -- "$T/heap_loop" 10
check_eq "a kiln heap started meanwhile exits 0" "$RC" 0
if [ -e "$A_DIR" ]; then fail "the killed run's directory '$A_DIR' is still there"; else ok "the killed run's directory was removed at the next start"; fi
if [ -d "$B_DIR" ]; then ok "the running kiln's directory was kept"; else fail "the running kiln's directory '$B_DIR' was removed"; fi
echo go >"$T/b.go"
rest=$(cat <&"$FD_b")
wait "$B_KPID"
check_eq "the running kiln heap still finishes normally" "$?" 0
check_eq "its target finished" "$rest" "finished"
"$KILN" report "$T/b.kiln" --value alloc_objects >"$T/b.rep" 2>"$T/b.rep.err"
check_eq "its profile reads" "$?" 0
check_ge "it counted the target's and its child's allocations" "$(hj "$T/b.json" 'd["allocations"]')" 2001001
check_eq "and both processes" "$(hj "$T/b.json" 'd["processes"]')" 2
finish
