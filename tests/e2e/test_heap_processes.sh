#!/bin/bash
# test_heap_processes.sh - kiln heap keeps processes and modules apart: a
# driver forks and execs two programs built from one source
# (tests/fixtures/heap_twoprog.c, each with its own xmalloc), so the same
# function, file and line is a site in two modules and two processes. Each
# is a site of its own with its own leaks, the default table skips xmalloc
# so the site is make_node, and the per-process table gives each program's
# totals; kiln report FILE shows the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_twoprog.c
cc -O2 -g -DLEAKS=3 -o "$T/heap_two_a" "$SRC" || die "cannot build heap_two_a"
cc -O2 -g -DLEAKS=5 -o "$T/heap_two_b" "$SRC" || die "cannot build heap_two_b"
cc -O2 -g -o "$T/heap_twodriver" "$KILN_SRC/tests/fixtures/heap_twodriver.c" || die "cannot build heap_twodriver"
NODE=heap_twoprog.c:$(line_of "$SRC" NODE_LINE)

krun two heap -o "$T/two.kiln" --json "$T/two.json" -- "$T/heap_twodriver" "$T/heap_two_a" "$T/heap_two_b"
check_no_crash two
check_eq "the driver exits 0" "$RC" 0
J=$T/two.json

# the sites: make_node once per program, not one site for both
check_eq "make_node is a site in each program, with its own leaks" \
	"$(hj "$J" "sorted((s['command'].split('/')[-1], s['module'], s['definitely_lost_bytes'], s['leaked_blocks']) for s in d['by_leaked'] if '$NODE' in s['site'])")" \
	"[('heap_two_a', 'heap_two_a', 120, 3), ('heap_two_b', 'heap_two_b', 200, 5)]"
check_eq "their allocations are apart too" \
	"$(hj "$J" "sorted((s['module'], s['allocations']) for s in d['by_allocations'] if '$NODE' in s['site'])")" \
	"[('heap_two_a', 4), ('heap_two_b', 6)]"
check_eq "the site pids are the programs' pids" \
	"$(hj "$J" "sorted(s['pid'] for s in d['by_leaked']) == sorted(p['pid'] for p in d['per_process'] if p['command'].split('/')[-1] in ('heap_two_a', 'heap_two_b'))")" True
check_eq "no site is xmalloc (the default table skips it)" \
	"$(hj "$J" "[s['site'] for l in ('by_peak', 'by_leaked', 'by_allocations') for s in d[l] if s['site'].startswith('xmalloc')]")" "[]"

# per process: each program's own totals
per() { hj "$J" "[(p['allocations'], p['frees'], p['temporary'], p['peak_bytes'], p['leaks']['definitely_lost']['bytes'], p['leaks']['definitely_lost']['blocks'], p['leaks']['still_reachable']['bytes']) for p in d['per_process'] if p['command'].endswith('/$1') and not p['exec']]"; }
check_eq "heap_two_a: 4 allocations, 1 freed at once, peak 160, 120 bytes lost in 3" "$(per heap_two_a)" "[(4, 1, 1, 160, 120, 3, 0)]"
check_eq "heap_two_b: 6 allocations, 1 freed at once, peak 240, 200 bytes lost in 5" "$(per heap_two_b)" "[(6, 1, 1, 240, 200, 5, 0)]"
check_eq "the driver allocated nothing" \
	"$(hj "$J" "sum(p['allocations'] for p in d['per_process'] if p['command'].endswith('/heap_twodriver'))")" 0
check_eq "one entry per process image (processes)" "$(hj "$J" "len(d['per_process']) == d['processes']")" True
check_eq "the programs' totals add up to the run's" \
	"$(hj "$J" "(sum(p['allocations'] for p in d['per_process']), sum(p['leaked_bytes'] for p in d['per_process'])) == (d['allocations'], d['leaked_bytes'])")" True

# the text summary: the table and the process of each site
check_grep "the summary lists heap_two_a's totals" "$T/two.err" "^ +[0-9]+ +4 +160 B +120 B +0 B +0 B +0 B  heap_two_a$"
check_grep "the summary lists heap_two_b's totals" "$T/two.err" "^ +[0-9]+ +6 +240 B +200 B +0 B +0 B +0 B  heap_two_b$"
check_grep "a site names its process" "$T/two.err" "site: make_node .*$NODE \\[pid [0-9]+: heap_two_b\\]"

# the same from the file
krun rep report "$T/two.kiln"
check_eq "report exits 0" "$RC" 0
sed '/^$/{N;/\nkiln: wrote/d;}' "$T/two.err" | grep -v '^kiln: warning' >"$T/two.sum"
if cmp -s "$T/two.sum" "$T/rep.out"; then ok "report FILE prints the run's summary"; else
	fail "report FILE differs from the run's summary:"
	diff "$T/two.sum" "$T/rep.out" | head -20 | sed 's/^/    | /'
fi
krun repj report --json "$T/two.kiln"
if cmp -s "$J" "$T/repj.out"; then ok "report --json FILE is kiln heap --json"; else
	fail "report --json differs from kiln heap --json"
	diff <(tr ',' '\n' <"$J") <(tr ',' '\n' <"$T/repj.out") | head -10 | sed 's/^/    | /'
fi
finish
