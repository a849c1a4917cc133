#!/bin/bash
# test_fork_exec.sh - a C parent forks, the child execs the Rust call tree,
# the parent burns CPU in parent_work: the profile holds both processes, each
# symbolized (child's calltree::leaf_a/leaf_b with its full chain, parent's
# parent_work); with --no-inherit only the parent is sampled.
source "$(dirname "$0")/lib.sh"
setup

# samples_in JSON FUNC: "pid:samples ..." of stacks whose innermost frame is FUNC
samples_in() {
	jq_ "$1" "' '.join('%d:%d' % kv for kv in sorted({p: sum(s['samples'] for s in j['stacks'] if s['frames'] and s['frames'][-1]['name'] == '$2' and any(t in tids for t in s['threads'])) for p, tids in {t['pid']: set(u['tid'] for u in j['threads'] if u['pid'] == t['pid']) for t in j['threads']}.items()}.items()) if kv[1] > 0)"
}

krun rec record -o "$T/fe.kiln" -- "$FX/c_forkexec" 700 "$FX/calltree_nofp" 700ms
check_eq "exit status of the parent" "$RC" 0
check_no_crash rec
report_json "$T/fe.kiln" "$T/fe.json"
check_eq "processes in the profile" "$(jq_ "$T/fe.json" "len(set(t['pid'] for t in j['threads']))")" 2

kstats "$T/fe.stats" "$T/fe.json" --leaf calltree::leaf_a --leaf calltree::leaf_b --leaf parent_work \
	--chain main
check_ge "child: samples in calltree::leaf_a+leaf_b (0.7 s of CPU)" \
	"$(python3 -c "print($(kv "$T/fe.stats" count.calltree::leaf_a) + $(kv "$T/fe.stats" count.calltree::leaf_b))")" 500
check_ge "parent: samples in parent_work (0.7 s of CPU)" "$(kv "$T/fe.stats" count.parent_work)" 500
a=$(kv "$T/fe.stats" count.calltree::leaf_a)
b=$(kv "$T/fe.stats" count.calltree::leaf_b)
check_between "child: leaf_a share of the child's leaves %" "$(python3 -c "print(100 * $a / max(1, $a + $b))")" 26.3 40.3
kstats "$T/child.stats" "$T/fe.json" --leaf calltree::leaf_a --leaf calltree::leaf_b \
	--chain main,calltree::main,calltree::run
check_ge "child: full chain main > calltree::main > calltree::run > leaf %" "$(kv "$T/child.stats" fullchain)" 95
kstats "$T/parent.stats" "$T/fe.json" --leaf parent_work --chain main
check_ge "parent: parent_work called from main %" "$(kv "$T/parent.stats" fullchain)" 95

pw=$(samples_in "$T/fe.json" parent_work)
lb=$(samples_in "$T/fe.json" calltree::leaf_b)
say "parent_work by pid: $pw; calltree::leaf_b by pid: $lb"
check_eq "parent_work in exactly one process" "$(echo "$pw" | wc -w)" 1
check_eq "calltree::leaf_b in exactly one process" "$(echo "$lb" | wc -w)" 1
check_ne "parent_work and leaf_b in different processes" "${pw%%:*}" "${lb%%:*}"
check_eq "the child's thread is named after the exec'd program" \
	"$(jq_ "$T/fe.json" "any(t['name'] == 'calltree_nofp' for t in j['threads'])")" true

# --no-inherit: the child is not followed.
krun noinh record --no-inherit -o "$T/noinh.kiln" -- "$FX/c_forkexec" 500 "$FX/calltree_nofp" 500ms
check_eq "--no-inherit: exit status" "$RC" 0
report_json "$T/noinh.kiln" "$T/noinh.json"
kstats "$T/noinh.stats" "$T/noinh.json" --leaf calltree::leaf_a --leaf calltree::leaf_b --leaf parent_work
check_ge "--no-inherit: parent_work samples" "$(kv "$T/noinh.stats" count.parent_work)" 300
check_eq "--no-inherit: no child samples in leaf_b" "$(kv "$T/noinh.stats" count.calltree::leaf_b)" 0
check_eq "--no-inherit: one process" "$(jq_ "$T/noinh.json" "len(set(t['pid'] for t in j['threads']))")" 1
finish
