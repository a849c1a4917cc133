#!/bin/bash
# test_processes.sh - per-process views of a child-process tree: a driver
# (c_spawn, like gcc) runs two programs, c_hot_alpha (alpha_work) and
# c_hot_beta (beta_work), whose stacks both start in _start > main. report
# --pid, --tid and --comm keep one program's table and tree, --processes
# splits the report by command with a header per command, flame --comm
# draws one program, annotate --comm annotates within one; bad lists are
# usage errors.
source "$(dirname "$0")/lib.sh"
setup

# beta runs twice as long as alpha: its share tells the views apart.
# User stacks only: on a loaded machine a sample that lands as a program
# is switched back in names the kernel's finish_task_switch (a fifth of
# alpha's samples in one loaded run of the suite), which says nothing of
# the views
record rec -F 499 -q --no-kernel -o "$T/sp.kiln" -- "$FX/c_spawn" "$FX/c_hot_alpha" 300 "$FX/c_hot_beta" 600
check_eq "the driver's status" "$RC" 0

report_json "$T/sp.kiln" "$T/all.json"
# pid_of NAME: the pid of the thread named NAME
pid_of() { jq_ "$T/all.json" "[t['pid'] for t in j['threads'] if t['name'] == '$1'][0]"; }
apid=$(pid_of c_hot_alpha)
bpid=$(pid_of c_hot_beta)
check_ne "alpha and beta are two processes" "$apid" "$bpid"
check_ge "unfiltered: alpha_work self %" "$(jq_ "$T/all.json" "fn('alpha_work')['self_pct']")" 20
check_ge "unfiltered: beta_work self %" "$(jq_ "$T/all.json" "fn('beta_work')['self_pct']")" 45

# leaf_pct JSON FUNC: FUNC's self share; 0 when it is not in the table
leaf_pct() { jq_ "$1" "(fn('$2') or {'self_pct': 0})['self_pct']"; }
# roots JSON: the programs whose _start roots the filtered tree; a sample
# of the process taken while the dynamic loader still ran (its own _start,
# in ld-linux) or before its exec (the forked driver's code, c_spawn) says
# nothing of the filter, so it is left out: tids JSON checks the processes
roots() { jq_ "$1" "','.join(sorted(set(s['frames'][0]['module'] for s in j['stacks'] if s['frames'] and s['frames'][0]['name'] == '_start' and not s['frames'][0]['module'].startswith('ld-') and s['frames'][0]['module'] != 'c_spawn')))"; }
# tids JSON: the threads (here each a process's only one) of the filtered tree
tids() { jq_ "$1" "','.join(str(t) for t in sorted(set(t for s in j['stacks'] for t in s['threads'])))"; }

for how in "--comm c_hot_alpha" "--pid $apid" "--tid $apid"; do
	report_json "$T/sp.kiln" "$T/a.json" $how
	check_ge "report $how: alpha_work self % of alpha's own samples" "$(leaf_pct "$T/a.json" alpha_work)" 85
	check_eq "report $how: no beta_work" "$(leaf_pct "$T/a.json" beta_work)" 0
	check_eq "report $how: the tree's only _start is alpha's" "$(roots "$T/a.json")" c_hot_alpha
	check_eq "report $how: the tree's stacks are all alpha's process" "$(tids "$T/a.json")" "$apid"
done
report_json "$T/sp.kiln" "$T/b.json" --comm c_hot_beta
check_ge "report --comm c_hot_beta: beta_work self %" "$(leaf_pct "$T/b.json" beta_work)" 85
check_eq "report --comm c_hot_beta: no alpha_work" "$(leaf_pct "$T/b.json" alpha_work)" 0
report_json "$T/sp.kiln" "$T/ab.json" --comm c_hot_alpha,c_hot_beta
check_eq "a comma list keeps both" "$(roots "$T/ab.json")" c_hot_alpha,c_hot_beta
check_eq "a comma list keeps both processes, no other" "$(tids "$T/ab.json")" "$(printf '%s\n' "$apid" "$bpid" | sort -n | paste -sd,)"
report_json "$T/sp.kiln" "$T/and.json" --comm c_hot_alpha --pid "$bpid"
check_eq "--comm and --pid together: both must hold" "$(jq_ "$T/and.json" "j['samples']")" 0
check_grep "the filter is in the report's metadata" "$T/a.json" '"filter": "tid [0-9]+ \([0-9]+ of [0-9]+ samples\)"'

NO_COLOR=1 krun tree report -t --comm c_hot_alpha "$T/sp.kiln"
check_eq "report -t --comm status" "$RC" 0
check_grep "the text header names the filter" "$T/tree.out" '^filter +comm c_hot_alpha \([0-9]+ of [0-9]+ samples\)'
check_grep "the tree holds alpha_work" "$T/tree.out" 'alpha_work'
check_no_grep "the tree holds no beta_work" "$T/tree.out" 'beta_work'

# --processes: one report per command, beta (more samples) first
NO_COLOR=1 krun procs report --processes "$T/sp.kiln"
check_eq "report --processes status" "$RC" 0
check_grep "a header for beta" "$T/procs.out" "^== c_hot_beta: [0-9.]+% of all cpu, [0-9]+ samples, pid $bpid ==$"
check_grep "a header for alpha" "$T/procs.out" "^== c_hot_alpha: [0-9.]+% of all cpu, [0-9]+ samples, pid $apid ==$"
check_eq "beta's section comes first" "$(grep -o '^== c_hot_[a-z]*' "$T/procs.out" | head -1)" "== c_hot_beta"
# the function rows of each section: beta's has no alpha_work and the other way round
awk '/^== c_hot_beta/{s=1} /^== c_hot_alpha/{s=0} s' "$T/procs.out" >"$T/procs.beta"
awk '/^== c_hot_alpha/{s=1} /^== c_hot_beta/{s=0} s' "$T/procs.out" >"$T/procs.alpha"
check_grep "beta's table has beta_work" "$T/procs.beta" '^ +[0-9.]+% +[0-9.]+% +[0-9]+ +beta_work'
check_no_grep "beta's table has no alpha_work" "$T/procs.beta" alpha_work
check_grep "alpha's table has alpha_work" "$T/procs.alpha" '^ +[0-9.]+% +[0-9.]+% +[0-9]+ +alpha_work'
check_no_grep "alpha's table has no beta_work" "$T/procs.alpha" beta_work

krun pj report --processes --json "$T/sp.kiln"
check_eq "report --processes --json status" "$RC" 0
cp "$T/pj.out" "$T/pj.json"
check_eq "--json: the commands, most cpu first" \
	"$(jq_ "$T/pj.json" "','.join(p['command'] for p in j['processes'] if p['samples'] >= 20)")" c_hot_beta,c_hot_alpha
check_between "--json: the shares add up to 100" "$(jq_ "$T/pj.json" "sum(p['percent'] for p in j['processes'])")" 99.5 100.5
check_between "--json: beta's share (twice alpha's CPU time)" \
	"$(jq_ "$T/pj.json" "[p['percent'] for p in j['processes'] if p['command'] == 'c_hot_beta'][0]")" 55 78
check_eq "--json: alpha's report holds only alpha's samples" \
	"$(jq_ "$T/pj.json" "[p['report']['samples'] == p['samples'] and all(f['name'] != 'beta_work' for f in p['report']['functions']) for p in j['processes'] if p['command'] == 'c_hot_alpha'][0]")" true
check_eq "--json: pids" "$(jq_ "$T/pj.json" "[p['pids'] for p in j['processes'] if p['command'] == 'c_hot_alpha'][0]")" "[$apid]"

# flame --comm: one program's graph
krun flame flame --comm c_hot_alpha --folded "$T/sp.kiln"
check_eq "flame --comm status" "$RC" 0
check_grep "flame --comm draws alpha_work" "$T/flame.out" '^_start;.*main;alpha_work'
check_no_grep "flame --comm draws no beta_work" "$T/flame.out" beta_work
krun flamep flame --pids "$bpid" --folded "$T/sp.kiln"
check_grep "flame --pids draws beta_work" "$T/flamep.out" 'main;beta_work'
check_no_grep "flame --pids draws no alpha_work" "$T/flamep.out" alpha_work

# annotate --comm: the function of that program, its share of that program
krun ann annotate --json --comm c_hot_beta "$T/sp.kiln"
check_eq "annotate --comm status" "$RC" 0
cp "$T/ann.out" "$T/ann.json"
check_eq "annotate --comm picks beta's hottest function" "$(jq_ "$T/ann.json" "j['function']")" beta_work
check_ge "annotate --comm: its share of beta's samples" "$(jq_ "$T/ann.json" "j['percent_of_total']")" 85

# usage errors
krun bad report --pid 12,x "$T/sp.kiln"
check_eq "--pid 12,x is a usage error" "$RC" 2
check_grep "--pid says what it takes" "$T/bad.err" "^kiln: --pid takes pids separated by commas, like --pid 1234,1240; got '12,x'"
krun badc flame --comm , "$T/sp.kiln"
check_eq "--comm , is a usage error" "$RC" 2
krun none report --comm nosuchprog "$T/sp.kiln"
check_grep "nothing matches: says how to list the commands" "$T/none.err" "no sample of .* matches comm nosuchprog; 'kiln report --processes"
finish
