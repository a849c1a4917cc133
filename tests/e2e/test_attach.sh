#!/bin/bash
# test_attach.sh - `kiln record -p PID --duration 1` on a running process:
# samples of its hot functions with full chains, every thread of a
# multi-threaded process sampled with its name, and the target left running.
source "$(dirname "$0")/lib.sh"
setup

"$FX/calltree_nofp" 20000ms &
pid=$!
sleep 0.3
krun att record -p $pid --duration 1 -o "$T/att.kiln"
check_eq "attach: kiln exit status" "$RC" 0
check_no_crash att
if kill -0 $pid 2>/dev/null; then ok "attach: target still running after detach"; else
	fail "attach: target $pid died"
fi
kill $pid 2>/dev/null
wait $pid 2>/dev/null
report_json "$T/att.kiln" "$T/att.json"
samples=$(jq_ "$T/att.json" 'j["samples"]')
# 1 s at 997 Hz; fewer when the machine is busy.
check_between "attach: samples" "$samples" 300 1100
check_eq "attach: meta call_graph" "$(jq_ "$T/att.json" 'j["meta"].get("call_graph")')" dwarf
kstats "$T/att.stats" "$T/att.json" --leaf calltree::leaf_a --leaf calltree::leaf_b \
	--chain main,calltree::main,calltree::run
check_ge "attach: leaf samples" "$(kv "$T/att.stats" leaf_samples)" $((samples * 9 / 10))
# Wider than elsewhere: a busy machine may leave only ~300 samples here.
check_between "attach: leaf_a share %" "$(kv "$T/att.stats" share.calltree::leaf_a)" 23.3 43.3
check_ge "attach: full chain %" "$(kv "$T/att.stats" fullchain)" 95
check_eq "attach: the one process sampled is the target" "$(jq_ "$T/att.json" "sorted(set(t['pid'] for t in j['threads']))")" "[$pid]"

# All threads of a running multi-threaded process, with their names.
"$FX/threads_nofp" 3000 &
pid=$!
sleep 0.5
krun thr record -p $pid --duration 1 -o "$T/thr.kiln"
check_eq "attach threads: kiln exit status" "$RC" 0
kill $pid 2>/dev/null
wait $pid 2>/dev/null
report_json "$T/thr.kiln" "$T/thr.json"
for k in 1 2 3; do
	check_ge "attach threads: samples of worker-$k" \
		"$(jq_ "$T/thr.json" "sum(t['samples'] for t in thr('worker-$k'))")" 50
done
kstats "$T/thr.stats" "$T/thr.json" --leaf threads::spin --chain threads::worker
check_ge "attach threads: spin under threads::worker %" "$(kv "$T/thr.stats" fullchain)" 95
finish
