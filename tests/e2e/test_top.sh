#!/bin/bash
# test_top.sh - `kiln top`: the text snapshot (--once) of a Rust program
# whose worker spends 3/4 of its CPU in top_target::hot_spin and 1/4 in
# top_target::cold_spin (by its own CPU clock, so the split holds on a
# busy machine); attached with -p; the command's exit status passed on;
# the live view driven in tmux (sort, threads, filter, call tree, quit,
# the target's exit and status); a bad pid.
#
# Readiness is a condition, never a sleep: the fixture's "ready" line, the
# text on tmux's screen, polled in bounded loops.
source "$(dirname "$0")/lib.sh"
setup

TARGET=$FX/top_target
PIDS=()
SOCK="kiln-top-$$"
cleanup() {
	tmux -L "$SOCK-1" kill-server 2>/dev/null
	tmux -L "$SOCK-2" kill-server 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

# The row of FUNCTION in a snapshot: "SELF% TOTAL% MODULE FUNCTION".
self_of() { awk -v f="$2" '$4 == f { sub("%", "", $1); print $1; exit }' "$1"; }
# hot_spin's share (%) of the two spins' self time in a snapshot: the
# fixture's own 3/4 split. (Their share of all samples is less on a loaded
# machine, where more samples land in the kernel's scheduling code.)
hot_split() {
	local hot cold
	hot=$(self_of "$1" top_target::hot_spin)
	cold=$(self_of "$1" top_target::cold_spin)
	[ -n "$hot" ] && [ -n "$cold" ] && python3 -c "print(round(100 * $hot / ($hot + $cold), 2))"
}
first_function() { awk '/^ *\*?SELF%/ { getline; print $4; exit }' "$1"; }
# until FILE has a line matching ERE, for at most 20 s
wait_line() {
	for _ in $(seq 400); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# --- --once on a command kiln starts (and stops when it is done) ---------
krun once top --once -d 1 -E 10 -- "$TARGET"
check_eq "once: exit status" "$RC" 0
check_no_crash once
check_grep "once: title names the command" "$T/once.out" "^kiln top: pid [0-9]+ \(.*top_target\) \| functions by self"
check_grep "once: status line has samples/s and lost" "$T/once.out" "^[0-9]+ samples/s \| lost [0-9]+ \([0-9]+ in all\)"
check_eq "once: hottest function first" "$(first_function "$T/once.out")" "top_target::hot_spin"
check_between "once: hot_spin's share of the spins" "$(hot_split "$T/once.out")" 63 87
check_grep "once: thread top-worker listed as running" "$T/once.out" "^ +[0-9]+ +[0-9.]+% +[0-9.-]+ +running.*top-worker$"
check_grep "once: thread top-sleeper listed as sleeping" "$T/once.out" "sleeping.*top-sleeper$"
cmdpid=$(sed -nE 's/^kiln top: pid ([0-9]+) .*/\1/p' "$T/once.out" | head -1)
if [ -n "$cmdpid" ] && ! kill -0 "$cmdpid" 2>/dev/null; then ok "once: the command was stopped"; else
	fail "once: the command (pid '$cmdpid') still runs after kiln top"
fi

# --sort total: the functions every sample passes through come first
krun total top --once -d 0.5 --sort total -- "$TARGET"
check_grep "sort total: title" "$T/total.out" "functions by total"
check_grep "sort total: marked column" "$T/total.out" "^ +SELF% \*TOTAL%"

# --- -p on a running process, synchronised on its "ready" line ----------
"$TARGET" >"$T/target.out" &
tpid=$!
PIDS+=("$tpid")
wait_line "$T/target.out" '^ready$' || die "top_target never said ready"
krun pid top -p "$tpid" --once -d 1
check_eq "-p: exit status" "$RC" 0
check_grep "-p: title names the process" "$T/pid.out" "^kiln top: pid $tpid \(top_target\)"
check_eq "-p: hottest function first" "$(first_function "$T/pid.out")" "top_target::hot_spin"
check_between "-p: hot_spin's share of the spins" "$(hot_split "$T/pid.out")" 63 87
if kill -0 "$tpid" 2>/dev/null; then ok "-p: the process runs on after kiln top"; else fail "-p: process $tpid died"; fi

# --- the target's exit ends top with a message --------------------------
krun exit top -d 0.2 -- "$TARGET" 300ms
check_eq "target exit: exit status" "$RC" 0
check_grep "target exit: message" "$T/exit.err" "^kiln: '.*top_target' exited with status 0; top ends$"
check_grep "target exit: snapshots were printed" "$T/exit.out" "top_target::hot_spin"

# The profile is compacted as top runs (here at every refresh, by the test
# hook; by itself once it holds 65536 stack nodes and twice what the last
# compaction kept): the functions, modules and threads keep their names
# in every snapshot after it.
KILN_TEST_TOP_COMPACT=1 krun compact top -d 0.3 -w 1 -- "$TARGET" 2500ms
check_eq "compacted: exit status" "$RC" 0
ncomp=$(sed -nE 's/^kiln: test: ([0-9]+) compactions .*/\1/p' "$T/compact.err")
check_ge "compacted: compactions while top ran" "${ncomp:-0}" 4
# the snapshots from the third on (each starts with the title line)
awk '/^kiln top: /{n++} n >= 3' "$T/compact.out" >"$T/compact.late"
nlate=$(grep -c '^kiln top: ' "$T/compact.late")
check_ge "compacted: snapshots after compactions" "$nlate" 3
check_eq "compacted: hot_spin is the hottest in every one of them" \
	"$(awk '/^ *\*?SELF%/ { getline; print $4 }' "$T/compact.late" | sort | uniq -c | awk '{print $2 ":" ($1 == '"$nlate"')}')" \
	"top_target::hot_spin:1"
awk '/^kiln top: /{f=""} {f=f $0 "\n"} END {printf "%s", f}' "$T/compact.late" >"$T/compact.last"
check_between "compacted: hot_spin's share of the spins in the last" "$(hot_split "$T/compact.last")" 63 87
check_eq "compacted: the worker thread keeps its name in every one of them" \
	"$(grep -cE '[0-9.]+ +(running|exited|sleeping).* top-worker$' "$T/compact.late")" "$nlate"
check_no_grep "compacted: no unnamed frame of the program" "$T/compact.late" "top_target +0x"

# A command that ends before the first interval still gets its snapshot.
krun short top --once -d 30 -- "$TARGET" 200ms
check_eq "short command: exit status" "$RC" 0
check_grep "short command: a last snapshot" "$T/short.out" "top_target::hot_spin"
check_grep "short command: message" "$T/short.err" "exited with status 0; top ends$"

# The command's exit status is top's, as kiln record passes it on (in a
# pipe and in the live view below): a script that runs the target for a
# while, then exits with its argument or, for "USR1", kills itself.
cat >"$T/exits.sh" <<SCRIPT
#!/bin/sh
"$TARGET" 300ms >/dev/null
[ "\$1" = USR1 ] && kill -USR1 \$\$
exit "\$1"
SCRIPT
chmod +x "$T/exits.sh"
krun status3 top --once -d 30 -- "$T/exits.sh" 3
check_eq "command exits 3: top's exit status" "$RC" 3
check_grep "command exits 3: message" "$T/status3.err" "^kiln: '.*exits.sh' exited with status 3; top ends$"
check_grep "command exits 3: a last snapshot" "$T/status3.out" "top_target::hot_spin"
krun signal top --once -d 30 -- "$T/exits.sh" USR1
check_eq "command killed by SIGUSR1: top's exit status is 128+10" "$RC" 138
check_grep "command killed by a signal: message" "$T/signal.err" \
	"^kiln: '.*exits.sh' was killed by signal 10 \(User defined signal 1\); top ends$"

# --- errors ---------------------------------------------------------------
true &
gone=$!
wait $gone
krun badpid top -p "$gone" --once
check_eq "bad pid: exit status" "$RC" 1
check_grep "bad pid: message" "$T/badpid.err" "^kiln: no process with pid $gone; "
krun usage top --once
check_eq "no target: usage status" "$RC" 2
krun baddelay top -d 0 -p "$tpid"
check_eq "bad delay: usage status" "$RC" 2
check_grep "bad delay: message" "$T/baddelay.err" "^kiln: -d takes seconds"

# --- the live view in tmux -------------------------------------------------
command -v tmux >/dev/null || skip "tmux is not installed (make deps installs it)"
# One tmux server per session: a new session on a server whose last
# session just ended can reach it as it exits ("tmux cannot start").
TSOCK=$SOCK-1
tmx() { tmux -L "$TSOCK" -f /dev/null "$@"; }
screen() { tmx capture-pane -p -t top >"$T/screen.txt" 2>/dev/null; }
# wait_screen LABEL ERE [!]: until the screen has (or, with !, no longer
# has) a line matching ERE, for at most 20 s
wait_screen() {
	for _ in $(seq 200); do
		screen
		if [ "${3:-}" = "!" ]; then
			grep -Eq -- "$2" "$T/screen.txt" || { ok "tmux: $1"; return 0; }
		else
			grep -Eq -- "$2" "$T/screen.txt" && { ok "tmux: $1"; return 0; }
		fi
		sleep 0.1
	done
	fail "tmux: $1: screen never matched /$2/ ${3:-}"
	sed 's/^/    | /' "$T/screen.txt"
	return 1
}
# The pane's shell says how kiln ended and whether the terminal's modes
# came back as they were; kiln-exit= comes last, so a screen that has it
# has kiln's messages too.
tui_cmd() {
	printf '%s' "before=\$(stty -g); '$KILN' top $* 2>'$T/tui.err'; rc=\$?; " \
		"[ \"\$(stty -g)\" = \"\$before\" ] && echo tty-restored; cat '$T/tui.err'; echo kiln-exit=\$rc; exec cat"
}
tmx new-session -d -s top -x 120 -y 40 "$(tui_cmd -p "$tpid")" || die "tmux cannot start a session"
wait_screen "the hot function on screen" "^ +[0-9.]+% +[0-9.]+% +top_target +top_target::hot_spin"
check_grep "tmux: title sorted by self" "$T/screen.txt" "functions by self"
# the first screens of a busy machine may hold a few samples only: wait
# (bounded) for the window to fill enough to put the hot function first
for _ in $(seq 100); do
	[ "$(first_function "$T/screen.txt")" = top_target::hot_spin ] && break
	sleep 0.1
	screen
done
check_eq "tmux: hottest function first" "$(first_function "$T/screen.txt")" "top_target::hot_spin"
tmx send-keys -t top t
wait_screen "t sorts by total (title)" "functions by total"
wait_screen "t sorts by total (column header)" "^ +SELF% \*TOTAL%"
tmx send-keys -t top h
wait_screen "h shows the threads" "threads by samples"
wait_screen "thread view lists top-worker" "running +top-worker"
wait_screen "thread view lists top-sleeper" "sleeping.* top-sleeper"
tmx send-keys -t top s
wait_screen "s sorts by self again" "functions by self"
tmx send-keys -t top / c o l d Enter
wait_screen "/ filters (title)" "filter /cold/"
wait_screen "filter keeps cold_spin" "top_target::cold_spin"
wait_screen "filter drops hot_spin" "top_target::hot_spin" !
tmx send-keys -t top Enter
wait_screen "Enter shows the call tree of the selected function" "call tree of top_target::cold_spin"
wait_screen "call tree shows the caller" "from top_target::worker"
tmx resize-window -t top -x 90 -y 30
wait_screen "a resize redraws" "^kiln top: pid $tpid"
tmx send-keys -t top q
wait_screen "q exits with status 0" "^kiln-exit=0$"
check_grep "tmux: terminal modes restored" "$T/screen.txt" "^tty-restored$"
check_no_grep "tmux: the view is gone from the screen" "$T/screen.txt" "^kiln top: "
tmx kill-session -t top

# The target's exit ends the live view cleanly, with a message and its
# exit status.
TSOCK=$SOCK-2
tmx new-session -d -s top -x 120 -y 40 "$(tui_cmd -- "$T/exits.sh" 7)" || die "tmux cannot start a session"
wait_screen "target exit: kiln ends with the command's status" "^kiln-exit=7$"
check_grep "target exit: message" "$T/screen.txt" "exited with status 7; top ends"
check_grep "target exit: terminal modes restored" "$T/screen.txt" "^tty-restored$"
tmx kill-session -t top

finish
