#!/bin/bash
# leak_classes.sh - `kiln heap` against `valgrind --leak-check=full` on
# Debian programs nobody here wrote: the four leak classes side by side,
# bytes and blocks (issue 20). Rows: python3 -c 'import json'; gcc -O2 -c
# on a small file (the driver, cc1 and as, each process's classes summed,
# valgrind following children); cc1 alone, as the driver runs it. Wall
# seconds of each run too. Measurements, not a test: nothing fails on a
# number.
#
# usage: bench/leak_classes.sh [KILN]   (default: build/kiln)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
[ -x "$KILN" ] || { echo "leak_classes: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "leak_classes: valgrind is not installed" >&2; exit 1; }
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench/leaks}
mkdir -p "$W"
PY=/usr/bin/python3 # Debian's, not a wrapper on PATH
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

# the small file: a few functions gcc -O2 works on
cat >"$W/x.c" <<'C'
#include <string.h>
struct item { int key; double w; char name[16]; };
static int cmp(const void *a, const void *b) { return ((const struct item *)a)->key - ((const struct item *)b)->key; }
double total(struct item *v, int n) {
	double s = 0;
	for (int i = 0; i < n; i++)
		s += v[i].w * (strlen(v[i].name) + 1);
	return s;
}
int find(const struct item *v, int n, int key) {
	int lo = 0, hi = n;
	while (lo < hi) { int m = (lo + hi) / 2; if (v[m].key < key) lo = m + 1; else hi = m; }
	return lo < n && v[lo].key == key ? lo : -1;
}
void sort_items(struct item *v, int n) { extern void qsort(void *, unsigned long, unsigned long, int (*)(const void *, const void *)); qsort(v, n, sizeof(*v), cmp); }
C
# cc1 as gcc runs it
CC1=$(cd "$W" && gcc -O2 -c x.c -o x.o -### 2>&1 | sed -n 's/^ \(.*\/cc1\) .*/\1/p' | head -1)
CC1_ARGS=$(cd "$W" && gcc -O2 -c x.c -o x.o -### 2>&1 | grep '/cc1 ' | head -1 | sed 's/^ [^ ]*cc1 //; s/"//g; s/-o [^ ]*\.s/-o cc1-out.s/')

now() { date +%s%N; }
# kiln_classes NAME CMD...: "def_b def_n ind_b ind_n pos_b pos_n rea_b rea_n secs"
kiln_classes() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	(cd "$W" && "$KILN" heap -q -o "$W/$name.kiln" --json "$W/$name.json" -- "$@" >/dev/null 2>&1)
	t1=$(now)
	python3 - "$W/$name.json" "$(((t1 - t0) / 1000000))" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["leaks"]
out = []
for k in ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"):
    out += [d[k]["bytes"], d[k]["blocks"]]
print(*out, "%.2f" % (int(sys.argv[2]) / 1000))
PY
}
# vg_classes NAME CMD...: the same from memcheck, summed over every process
vg_classes() {
	local name=$1 t0 t1
	shift
	rm -f "$W/$name".vg.*
	t0=$(now)
	(cd "$W" && valgrind --leak-check=full --trace-children=yes --log-file="$W/$name.vg.%p" "$@" >/dev/null 2>&1)
	t1=$(now)
	cat "$W/$name".vg.* | python3 -c '
import re, sys
tot = {k: [0, 0] for k in ("definitely lost", "indirectly lost", "possibly lost", "still reachable")}
for line in sys.stdin:
    m = re.search(r"(definitely lost|indirectly lost|possibly lost|still reachable): ([\d,]+) bytes in ([\d,]+) blocks", line)
    if m:
        tot[m.group(1)][0] += int(m.group(2).replace(",", ""))
        tot[m.group(1)][1] += int(m.group(3).replace(",", ""))
out = []
for k in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
    out += tot[k]
print(*out, "%.2f" % (int(sys.argv[1]) / 1000))' "$(((t1 - t0) / 1000000))"
}

row() {
	local label=$1 tool=$2
	shift 2
	printf '%-28s %-9s %11s %11s %11s %15s %7s\n' "$label" "$tool" "$1/$2" "$3/$4" "$5/$6" "$7/$8" "$9"
}

printf '%-28s %-9s %11s %11s %11s %15s %7s\n' program tool "definitely" "indirectly" "possibly" "reachable" "wall s"
printf '%-28s %-9s %11s %11s %11s %15s %7s\n' "" "" "B/blocks" "B/blocks" "B/blocks" "B/blocks" ""
run() {
	local label=$1 name=$2
	shift 2
	# shellcheck disable=SC2046
	row "$label" kiln $(kiln_classes "$name" "$@")
	# shellcheck disable=SC2046
	row "" valgrind $(vg_classes "$name" "$@")
}
run "python3 -c 'import json'" python "$PY" -c 'import json'
run "gcc -O2 -c x.c (3 procs)" gcc gcc -O2 -c x.c -o x.o
if [ -n "$CC1" ]; then
	# shellcheck disable=SC2086
	run "cc1 (as gcc runs it)" cc1 "$CC1" $CC1_ARGS
fi
