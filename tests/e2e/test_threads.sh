#!/bin/bash
# test_threads.sh - named threads: worker-K burns K units of CPU (K = 1..3),
# so the split by thread is 1/6 : 2/6 : 3/6; every worker's samples in
# threads::spin unwind through threads::worker to the thread's start in libc.
source "$(dirname "$0")/lib.sh"
setup

record thr -o "$T/thr.kiln" -- "$FX/threads_nofp" 250
report_json "$T/thr.kiln" "$T/thr.json"
report_json "$T/thr.kiln" "$T/thr-threads.json" --threads

for k in 1 2 3; do
	check_eq "one thread named worker-$k" "$(jq_ "$T/thr.json" "len(thr('worker-$k'))")" 1
done
total=$(jq_ "$T/thr.json" "sum(t['samples'] for t in j['threads'] if t['name'].startswith('worker-'))")
check_ge "worker samples (1.5 s of CPU at 997 Hz)" "$total" 1200
for k in 1 2 3; do
	share=$(jq_ "$T/thr.json" "round(100.0 * sum(t['samples'] for t in thr('worker-$k')) / max($total, 1), 2)")
	want=$(python3 -c "print(round(100 * $k / 6, 2))")
	check_between "worker-$k share of worker samples % (want $want)" "$share" \
		"$(python3 -c "print($want - 5)")" "$(python3 -c "print($want + 5)")"
done
check_eq "all threads belong to one process" "$(jq_ "$T/thr.json" "len(set(t['pid'] for t in j['threads']))")" 1
check_eq "thread pcts add up to ~100" \
	"$(jq_ "$T/thr.json" "abs(sum(t['pct'] for t in j['threads']) - 100) < 0.5")" true

kstats "$T/thr.stats" "$T/thr.json" --leaf threads::spin --chain threads::worker
check_ge "spin samples called from threads::worker %" "$(kv "$T/thr.stats" fullchain)" 95
# Unwound to the thread's entry: the root frame is in libc (clone3 /
# start_thread), not a truncated chain ending inside the program.
root_ok=$(jq_ "$T/thr.json" "round(100.0 * sum(s['samples'] for s in j['stacks'] if s['frames'][-1]['name'] == 'threads::spin' and (s['frames'][0]['name'] in ('clone3', 'clone', '__clone', 'start_thread') or 'libc' in s['frames'][0]['module'])) / max(1, sum(s['samples'] for s in j['stacks'] if s['frames'][-1]['name'] == 'threads::spin')), 2)")
check_ge "spin stacks rooted in libc's thread start %" "$root_ok" 95

# Each worker's stacks are in its own thread: stacks of spin list worker tids.
tids=$(jq_ "$T/thr.json" "sorted(t['tid'] for t in j['threads'] if t['name'].startswith('worker-'))")
spin_tids=$(jq_ "$T/thr.json" "sorted(set(t for s in j['stacks'] if s['frames'] and s['frames'][-1]['name'] == 'threads::spin' for t in s['threads']))")
check_eq "spin stacks' threads are the workers" "$spin_tids" "$tids"

krun text report --threads "$T/thr.kiln"
check_eq "report --threads exit status" "$RC" 0
check_grep "report --threads shows worker-3" "$T/text.out" "worker-3"
finish
