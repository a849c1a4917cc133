#!/bin/bash
# test_heap_daemon.sh - a command that leaves a daemon behind (issue 21
# item 12): kiln heap says that it waits for it and how to stop waiting;
# Ctrl-C (SIGINT to kiln) ends the wait at once with a readable profile
# that holds the daemon's allocations so far, and --no-follow-daemons does
# not wait at all. The daemon waits on a fifo: nothing here is timed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_daemon.c
cc -O2 -g -o "$T/daemon" "$SRC" || die "cannot build $SRC"
mkfifo "$T/release1" "$T/release2" "$T/err1"

# release FIFO PID: lets the daemon PID, blocked on FIFO, finish
release() { if [ -n "$2" ] && kill -0 "$2" 2>/dev/null; then echo x >"$1"; fi; }

# 1. the wait is announced, and Ctrl-C ends it
"$KILN" heap -q -o "$T/one.kiln" --json "$T/one.json" -- "$T/daemon" "$T/release1" >"$T/one.out" 2>"$T/err1" &
kpid=$!
exec {err}<"$T/err1"
said=
while IFS= read -r -t 120 line <&"$err"; do
	echo "$line" >>"$T/one.err"
	case $line in *"waiting"*) said=$line && break ;; esac
done
dpid=$(cat "$T/one.out")
check_grep "kiln says it waits for the daemon" <(echo "$said") \
	"^kiln: waiting .*for process $dpid \\(daemon\\) to exit; Ctrl-C or --no-follow-daemons to stop waiting\$"
kill -INT "$kpid"
cat <&"$err" >>"$T/one.err"
exec {err}<&-
wait "$kpid"
check_eq "kiln exits with the command's status" "$?" 0
if kill -0 "$dpid" 2>/dev/null; then ok "the daemon still runs: kiln did not wait for it"; else fail "the daemon $dpid is gone"; fi
check_grep "kiln says it stopped waiting" "$T/one.err" "^kiln: stopped waiting for process $dpid \\(still running\\)"
check_ge "the profile holds the daemon's allocations" "$(hj "$T/one.json" 'd["allocated_bytes"]')" $((777 * 4242))
"$KILN" report "$T/one.kiln" --value alloc_space >"$T/one.rep" 2>"$T/one.rep.err"
check_eq "the profile reads" "$?" 0
check_grep "with the daemon's allocation site" "$T/one.rep" "daemon_main"
release "$T/release1" "$dpid"

# 2. --no-follow-daemons: no wait at all
krun two heap -q --no-follow-daemons -o "$T/two.kiln" --json "$T/two.json" -- "$T/daemon" "$T/release2"
dpid=$(cat "$T/two.out")
check_eq "kiln --no-follow-daemons exits with the command's status" "$RC" 0
if kill -0 "$dpid" 2>/dev/null; then ok "it did not wait for the daemon"; else fail "the daemon $dpid is gone"; fi
check_no_grep "it does not announce a wait" "$T/two.err" "^kiln: waiting"
check_grep "it says what it left running" "$T/two.err" "^kiln: stopped waiting for process $dpid \\(still running\\)"
check_ge "the profile holds the daemon's allocations" "$(hj "$T/two.json" 'd["allocated_bytes"]')" $((777 * 4242))
release "$T/release2" "$dpid"
finish
