#!/bin/bash
# test_heap_python.sh - kiln heap on Debian's python3 running a small
# script (issue 20, item 1): pymalloc keeps its pools in mmap'ed arenas, the
# only place some blocks' pointers live, so a scan that skipped anonymous
# memory called them definitely lost. No lost bytes where memcheck finds
# none, and the four classes equal memcheck's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
PY=/usr/bin/python3 # Debian's, not a wrapper script on PATH
[ -x "$PY" ] || skip "no $PY"
cat >"$T/s.py" <<'PY'
import collections, json, re
d = {"a": [1, 2, 3], "b": {"c": "x" * 100}}
s = json.dumps(d, sort_keys=True)
assert json.loads(s) == d
c = collections.Counter(re.findall(r"\w", s))
print(len(s), c.most_common(1)[0][1])
PY
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
krun heap heap -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$PY" "$T/s.py"
check_no_crash heap
check_eq "exit status" "$RC" 0
check_eq "the script's output" "$(cat "$T/heap.out")" "132 100"
J=$T/heap.json
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "not scanned" "$(cls not_scanned)" "0 0"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$PY" "$T/s.py" >/dev/null 2>&1
	for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
		vg=$(valgrind_leak "$T/vg.log" "$k")
		check_eq "$k as memcheck" "$(cls "${k// /_}")" "${vg:-0 0}"
	done
else
	say "valgrind not installed: memcheck finds nothing lost here (python3.11, Debian 12)"
	check_eq "definitely lost" "$(cls definitely_lost)" "0 0"
	check_eq "indirectly lost" "$(cls indirectly_lost)" "0 0"
fi
finish
