#!/bin/bash
# test_heap_fork.sh - kiln heap follows fork (the child gets its own
# channel) and exec (the new image reconnects through the inherited
# LD_PRELOAD): every process's leaks, exactly (tests/fixtures/heap_fork.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_fork.c
cc -O2 -g -o "$T/heap_fork" "$SRC" || die "cannot build $SRC"
"$T/heap_fork" >"$T/bare.out" 2>&1
BARE_RC=$?
krun heap heap --top 20 -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/heap_fork"
check_no_crash heap
check_eq "exit status unchanged" "$RC" "$BARE_RC"
check_eq "exit status" "$RC" 5
if cmp -s <(sort "$T/heap.out") <(sort "$T/bare.out"); then ok "output unchanged"; else fail "output differs"; fi
J=$T/heap.json
# parent, forked child, exec'd child (the fork before exec is a fourth image
# that execs at once: its ring ends with the exec)
check_eq "processes" "$(hj "$J" "d['processes']")" 4
check_eq "definitely lost: 100 + 200 + 300 bytes" \
	"$(hj "$J" "'%d %d' % (d['leaks']['definitely_lost']['bytes'], d['leaks']['definitely_lost']['blocks'])")" "600 3"
check_eq "the child's allocations" "$(hj "$J" "site('heap_fork.c:$(line_of "$SRC" CHILD_SITE)')['allocations']")" 5000
check_eq "leaks at the leak line" "$(hj "$J" "site('heap_fork.c:$(line_of "$SRC" LEAK_SITE)', 'by_leaked')['leaked_bytes']")" 600
finish
