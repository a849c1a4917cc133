#!/bin/bash
# test_signals.sh - SIGINT to kiln during a long recording stops the target
# and finishes a complete, readable file; kill -9 of kiln leaves a file that
# `kiln report` still opens (complete=false) with the samples flushed so far.
source "$(dirname "$0")/lib.sh"
setup

# Job control: background jobs of a script otherwise start with SIGINT
# ignored, which the target would inherit.
set -m

# --- SIGINT -----------------------------------------------------------------
"$KILN" record -o "$T/int.kiln" -- "$FX/calltree_nofp" 60000ms >"$T/int.out" 2>"$T/int.err" &
kpid=$!
target=$(child_exec $kpid "$FX/calltree_nofp") || die "kiln started no target: $(cat "$T/int.err")"
# 0.6 s of the target's CPU: ~600 samples, however busy the machine is
wait_cpu_ms "$target" 600 || die "target $target ended early: $(cat "$T/int.err")"
kill -INT $kpid
for _ in $(seq 100); do
	kill -0 $kpid 2>/dev/null || break
	sleep 0.1
done
if kill -0 $kpid 2>/dev/null; then
	fail "SIGINT: kiln still running 10 s after SIGINT"
	kill -9 $kpid "$target" 2>/dev/null
fi
wait $kpid
rc=$?
check_eq "SIGINT: kiln exit status (target died from SIGINT: 128+2)" "$rc" 130
if [ -e /proc/$target ] && grep -q calltree_nofp /proc/$target/comm 2>/dev/null; then
	fail "SIGINT: target $target still running"
	kill -9 "$target"
else
	ok "SIGINT: target $target stopped"
fi
report_json "$T/int.kiln" "$T/int.json"
check_eq "SIGINT: complete" "$(jq_ "$T/int.json" 'j["complete"]')" true
check_ge "SIGINT: samples (0.6 s of the target's CPU)" "$(jq_ "$T/int.json" 'j["samples"]')" 300
check_ge "SIGINT: leaf_b symbolized, self %" "$(jq_ "$T/int.json" '(fn("calltree::leaf_b") or {}).get("self_pct", 0)')" 50

# --- kill -9 ----------------------------------------------------------------
"$KILN" record -o "$T/k9.kiln" -- "$FX/calltree_nofp" 60000ms >"$T/k9.out" 2>"$T/k9.err" &
kpid=$!
target=$(child_exec $kpid "$FX/calltree_nofp") || die "kiln started no target: $(cat "$T/k9.err")"
# until a flushed chunk holds 100 samples (the file is read as it grows)
flushed=0
while [ "$flushed" -lt 100 ]; do
	kill -0 $kpid 2>/dev/null || die "kiln ended before kill -9: $(cat "$T/k9.err")"
	flushed=$("$KILN" report --json --limit 0 "$T/k9.kiln" 2>/dev/null | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["samples"])
except Exception: print(0)')
	[ "$flushed" -ge 100 ] || sleep 0.1
done
kill -9 $kpid
wait $kpid 2>/dev/null
kill -9 "$target" 2>/dev/null
[ -e "$T/k9.kiln" ] || die "kill -9: no file at all"
ok "kill -9: file of $(stat -c %s "$T/k9.kiln") bytes left"
krun k9rep report --json --limit 0 "$T/k9.kiln"
check_eq "kill -9: kiln report exit status" "$RC" 0
check_no_crash k9rep
if [ "$RC" = 0 ]; then
	cp "$T/k9rep.out" "$T/k9.json"
	check_eq "kill -9: complete" "$(jq_ "$T/k9.json" 'j["complete"]')" false
	check_ge "kill -9: samples flushed before the kill" "$(jq_ "$T/k9.json" 'j["samples"]')" 100
fi
krun k9text report "$T/k9.kiln"
check_eq "kill -9: text report exit status" "$RC" 0
check_no_crash k9text
cat "$T/k9text.out" "$T/k9text.err" >"$T/k9text.all"
check_grep "kill -9: text report says the file is incomplete" "$T/k9text.all" "incomplete|cut short|not finished|unfinished|partial"
finish
