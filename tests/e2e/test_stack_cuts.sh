#!/bin/bash
# test_stack_cuts.sh - why a stack stops early is counted apart (issue 18
# items 5-6, issue 22 item 14): a shallow program whose 16 KiB frames fault
# in fresh stack pages gets "user stack not copied", not "deeper than the
# stack copy", and keeps what its registers give (the sampled function and
# often its caller); samples inside execve are "cut by exec", also those
# before its record (issue 18, exec samples). Each class is
# in record's summary, the report header and report --json.
source "$(dirname "$0")/lib.sh"
setup

# Samples in the kernel's page faults need kernel sampling (root or
# perf_event_paranoid <= 1); without it they are not taken at all.
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ] ||
	skip "kernel samples not permitted (perf_event_paranoid > 1, not root)"

# About 50 KiB of stack, well inside the 64 KiB copy: nothing is deep.
krun bf record -F 2000 -o "$T/bf.kiln" -- "$FX/c_bigframes" 600
check_eq "bigframes: exit status" "$RC" 0
check_no_crash bf
report_json "$T/bf.kiln" "$T/bf.json"
n=$(jq_ "$T/bf.json" 'j["samples"]')
check_ge "bigframes: samples" "$n" 300
nc=$(jq_ "$T/bf.json" 'j.get("stack_not_copied")')
check_ge "bigframes: 'stack not copied' % of samples" "$(python3 -c "print(100 * ${nc:-0} / $n)")" 15
check_le "bigframes: 'truncated' (deeper than the copy) % of samples" \
	"$(python3 -c "print(100 * $(jq_ "$T/bf.json" 'j["truncated"]') / $n)")" 2
check_grep "bigframes: record's summary names the class" "$T/bf.err" "had no user stack copied"
check_no_grep "bigframes: record's summary blames no depth" "$T/bf.err" "deeper than"
# The registers still give the sampled function, and the leaf's CFI often
# its caller: at least the big-frame function stands on the marker.
kept=$(jq_ "$T/bf.json" "sum(s['samples'] for s in j['stacks'] if s['frames'] and s['frames'][0]['name'] == '[stack not copied]' and len(s['frames']) > 1 and s['frames'][1]['name'].startswith('bigframe_'))")
check_ge "bigframes: uncopied stacks that keep a bigframe_* function %" \
	"$(python3 -c "print(100 * $kept / max(1, ${nc:-0}))")" 80
krun bftext report "$T/bf.kiln"
check_grep "bigframes: report header names the class" "$T/bftext.out" "had no user stack copied"

# 200 execs in one process, sampled fast: some samples fall inside execve.
krun ex record -F 20000 -o "$T/ex.kiln" -- "$FX/c_execloop" 200
check_eq "execloop: exit status" "$RC" 0
check_no_crash ex
report_json "$T/ex.kiln" "$T/ex.json"
n=$(jq_ "$T/ex.json" 'j["samples"]')
ec=$(jq_ "$T/ex.json" 'j.get("cut_by_exec")')
check_ge "execloop: 'cut by exec' % of samples" "$(python3 -c "print(100 * ${ec:-0} / max(1, $n))")" 1
check_le "execloop: 'truncated' (deeper than the copy) % of samples" \
	"$(python3 -c "print(100 * $(jq_ "$T/ex.json" 'j["truncated"]') / max(1, $n))")" 0.5
cut_named=$(jq_ "$T/ex.json" "sum(s['samples'] for s in j['stacks'] if s['frames'] and s['frames'][0]['name'] == '[cut by exec]' and any('execve' in f['name'] for f in s['frames']))")
check_ge "execloop: 'cut by exec' stacks that name execve %" "$(python3 -c "print(100 * $cut_named / max(1, ${ec:-0}))")" 80
# Most of an exec's time is the old memory's teardown, after the switch to
# the new memory but before the exec's COMM record: those samples too are
# inside execve, not "not copied" (about half of them were).
nc_exec=$(jq_ "$T/ex.json" "sum(s['samples'] for s in j['stacks'] if s['frames'] and s['frames'][0]['name'] == '[stack not copied]' and any('execve' in f['name'] for f in s['frames']))")
check_le "execloop: uncopied stacks inside execve not called 'cut by exec' %" \
	"$(python3 -c "print(100 * $nc_exec / max(1, $nc_exec + ${ec:-0}))")" 10
check_grep "execloop: record's summary names the class" "$T/ex.err" "inside execve"
check_eq "execloop: unwind_errors in --json" "$(jq_ "$T/ex.json" '"unwind_errors" in j')" true
finish
