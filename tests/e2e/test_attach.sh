#!/bin/bash
# test_attach.sh - `kiln record -p PID` on a running process: samples of its
# hot functions with full chains, every thread of a multi-threaded process
# sampled with its name, and the target left running after --duration.
#
# The targets burn a fixed amount of their own CPU time and kiln records
# until they exit, so the sample counts do not depend on how busy the
# machine is; readiness is the target's exec, not a sleep.
source "$(dirname "$0")/lib.sh"
setup

# Detach: --duration ends the recording and the target runs on.
"$FX/calltree_nofp" 20000ms &
pid=$!
wait_exec $pid "$FX/calltree_nofp" || die "calltree_nofp ended before kiln attached"
krun det record -p $pid --duration 0.3 -o "$T/det.kiln"
check_eq "detach: kiln exit status" "$RC" 0
check_no_crash det
if kill -0 $pid 2>/dev/null; then ok "detach: target still running after --duration"; else
	fail "detach: target $pid died"
fi
kill $pid 2>/dev/null
wait $pid 2>/dev/null

# Shares and chains: 2.5 s of the target's CPU, recorded until it exits.
"$FX/calltree_nofp" 2500ms &
pid=$!
wait_exec $pid "$FX/calltree_nofp" || die "calltree_nofp ended before kiln attached"
krun att record -p $pid -o "$T/att.kiln"
check_eq "attach: kiln exit status" "$RC" 0
check_no_crash att
wait $pid 2>/dev/null
report_json "$T/att.kiln" "$T/att.json"
samples=$(jq_ "$T/att.json" 'j["samples"]')
# ~2,500 at 997 Hz of the target's CPU; less only by what it ran before
# kiln attached.
check_between "attach: samples" "$samples" 1000 2700
check_eq "attach: meta call_graph" "$(jq_ "$T/att.json" 'j["meta"].get("call_graph")')" dwarf
kstats "$T/att.stats" "$T/att.json" --leaf calltree::leaf_a --leaf calltree::leaf_b \
	--chain main,calltree::main,calltree::run
check_ge "attach: leaf samples" "$(kv "$T/att.stats" leaf_samples)" $((samples * 9 / 10))
check_between "attach: leaf_a share %" "$(kv "$T/att.stats" share.calltree::leaf_a)" 26.3 40.3
check_ge "attach: full chain %" "$(kv "$T/att.stats" fullchain)" 95
check_eq "attach: the one process sampled is the target" "$(jq_ "$T/att.json" "sorted(set(t['pid'] for t in j['threads']))")" "[$pid]"

# All threads of a running multi-threaded process, with their names:
# worker-K burns K x 600 ms of its own CPU.
"$FX/threads_nofp" 600 &
pid=$!
wait_exec $pid "$FX/threads_nofp" || die "threads_nofp ended before kiln attached"
krun thr record -p $pid -o "$T/thr.kiln"
check_eq "attach threads: kiln exit status" "$RC" 0
wait $pid 2>/dev/null
report_json "$T/thr.kiln" "$T/thr.json"
for k in 1 2 3; do
	check_ge "attach threads: samples of worker-$k" \
		"$(jq_ "$T/thr.json" "sum(t['samples'] for t in thr('worker-$k'))")" 200
done
kstats "$T/thr.stats" "$T/thr.json" --leaf threads::spin --chain threads::worker
check_ge "attach threads: spin under threads::worker %" "$(kv "$T/thr.stats" fullchain)" 95
finish
