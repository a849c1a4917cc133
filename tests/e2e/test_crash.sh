#!/bin/bash
# test_crash.sh - the target dies from a signal after some work: kiln exits
# like a shell would (128 + signal: 139 for SIGSEGV, 134 for SIGABRT), the
# file is complete and readable and holds the samples of crash::burn.
source "$(dirname "$0")/lib.sh"
setup

for mode in segv:139 abort:134; do
	m=${mode%%:*}
	want=${mode##*:}
	krun "$m" record -o "$T/$m.kiln" -- "$FX/crash_nofp" 600ms "$m"
	check_eq "$m: kiln exit status" "$RC" "$want"
	[ -s "$T/$m.kiln" ] || {
		fail "$m: no file written ($(tail -1 "$T/$m.err"))"
		continue
	}
	check_grep "$m: summary line printed" "$T/$m.err" "^kiln: wrote"
	report_json "$T/$m.kiln" "$T/$m.json"
	check_eq "$m: complete" "$(jq_ "$T/$m.json" 'j["complete"]')" true
	check_eq "$m: meta exit_status" "$(jq_ "$T/$m.json" 'j["meta"].get("exit_status")')" "$want"
	kstats "$T/$m.stats" "$T/$m.json" --leaf crash::burn --chain main,crash::main
	check_ge "$m: samples in crash::burn (0.6 s of CPU)" "$(kv "$T/$m.stats" count.crash::burn)" 450
	check_ge "$m: crash::burn full chain from main %" "$(kv "$T/$m.stats" fullchain)" 95
done

# The debug build too (its null-pointer checks must not turn the fault
# into a panic).
krun dbg record -o "$T/dbg.kiln" -- "$FX/crash_debug" 300ms segv
check_eq "debug build segv: kiln exit status" "$RC" 139
report_json "$T/dbg.kiln" "$T/dbg.json"
check_ge "debug build: samples in crash::burn" \
	"$(jq_ "$T/dbg.json" '(fn("crash::burn") or {}).get("self", 0) and fn("crash::burn")["self_pct"]')" 50
finish
