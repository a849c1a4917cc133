#!/bin/bash
# heap_real.sh - `kiln heap` beside heaptrack and `valgrind
# --leak-check=full` on seven Debian programs nobody here wrote (issue 20):
# python3 on a small script, sqlite3 on generated SQL, ripgrep over a
# generated tree, zstd -T2 on a generated file, gcc -O2 -c (the driver, cc1
# and as), git status and git log -p in a generated repository. Per program
# and tool: allocations, temporary allocations, peak heap, the four leak
# classes (bytes/blocks), wall seconds and the largest RSS of any process
# of the run (the profiler's memory: kiln's own process, heaptrack's
# interpreter, valgrind's process that is also the target). One run each:
# measurements, not a test; nothing fails on a number. A tool that does not
# give a value shows "-" (heaptrack has no leak classes and follows only
# the first process; memcheck has no peak nor temporaries).
#
# usage: bench/heap_real.sh [KILN]   (default: build/kiln)
# Missing programs: apt-get install python3 sqlite3 ripgrep zstd gcc git
#                   heaptrack valgrind
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
[ -x "$KILN" ] || { echo "heap_real: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
KILN=$(cd "$(dirname "$KILN")" && pwd)/$(basename "$KILN")
for p in python3 sqlite3 rg zstd gcc git heaptrack heaptrack_print valgrind /usr/bin/time; do
	command -v "$p" >/dev/null || {
		echo "heap_real: '$p' is missing; apt-get install python3 sqlite3 ripgrep zstd gcc git heaptrack valgrind time" >&2
		exit 1
	}
done
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench/real}
rm -rf "$W"
mkdir -p "$W"
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$W

# ---- inputs, generated ----
cat >"$W/script.py" <<'PY'
import json, collections
words = ["w%d" % (i % 997) for i in range(60000)]
counts = collections.Counter(words)
doc = json.dumps({"counts": counts, "items": [{"k": i, "v": str(i) * 3} for i in range(5000)]})
back = json.loads(doc)
print(len(doc), len(back["items"]), counts.most_common(1)[0][1])
PY
SQL="create table t(id integer primary key, name text, grp int);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 20000)
insert into t select i, 'name-' || i, i % 37 from n;
create index t_grp on t(grp);
select grp, count(*), max(length(name)) from t group by grp order by 2 desc limit 3;"
mkdir -p "$W/tree"
for d in $(seq 1 20); do
	mkdir -p "$W/tree/d$d"
	for f in $(seq 1 20); do
		seq $((d * f)) $((d * f + 400)) | sed 's/^/line needle-/; 0~7s/needle/haystack/' >"$W/tree/d$d/f$f.txt"
	done
done
python3 -c "
import random
random.seed(1)
words = [b'alpha', b'beta', b'gamma', b'delta', b'%d']
with open('$W/zin.dat', 'wb') as f:
    for i in range(400000):
        f.write(random.choice(words[:4]) + b' ' + str(random.randrange(100000)).encode() + b'\n')
"
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
G=$W/repo
(
	git init -q "$G" && cd "$G" && git config user.email b@e && git config user.name bench
	for c in $(seq 1 30); do
		for f in $(seq 1 10); do seq "$c" $((c * f + 50)) >"file$f.txt"; done
		mkdir -p "dir$((c % 5))" && seq "$c" 200 >"dir$((c % 5))/n$c.txt"
		git add -A && git commit -q -m "commit $c"
	done
	seq 1 999 >file3.txt && echo new >untracked.txt
) || { echo "heap_real: cannot make the git repository" >&2; exit 1; }

# ---- the tools ----
now() { date +%s%N; }
# timed NAME CMD...: runs CMD in $W under /usr/bin/time; sets SECS and RSS (KiB)
timed() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	(cd "$W" && /usr/bin/time -o "$W/$name.time" -f '%M' "$@" >"$W/$name.out" 2>"$W/$name.err")
	t1=$(now)
	SECS=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')
	RSS=$(tail -1 "$W/$name.time")
}
row() { printf '%-10s %-9s %10s %9s %12s %18s %18s %18s %18s %7s %9s\n' "$@"; }

kiln_row() {
	local prog=$1
	shift
	timed "$prog.kiln" "$KILN" heap -q -o "$W/$prog.kiln" --json "$W/$prog.kiln.json" -- "$@"
	python3 - "$W/$prog.kiln.json" "$prog" "$SECS" "$RSS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = lambda k: "%d/%d" % (d["leaks"][k]["bytes"], d["leaks"][k]["blocks"])
print(sys.argv[2], "kiln", d["allocations"], d["temporary"], d["peak_bytes"], c("definitely_lost"),
      c("indirectly_lost"), c("possibly_lost"), c("still_reachable"), sys.argv[3], sys.argv[4])
PY
}

heaptrack_row() {
	local prog=$1
	shift
	timed "$prog.ht" heaptrack -o "$W/$prog.ht" "$@"
	local s=$SECS r=$RSS
	local f
	f=$(ls "$W/$prog.ht"* 2>/dev/null | grep -Ev '\.(txt|out|err|time)$' | head -1)
	heaptrack_print -f "$f" --print-peaks=0 --print-allocators=0 --print-temporary=0 --print-leaks=0 \
		>"$W/$prog.ht.txt" 2>&1
	python3 - "$W/$prog.ht.txt" "$prog" "$s" "$r" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def num(pat):
    m = re.search(pat, t)
    return m.group(1) if m else "-"
print(sys.argv[2], "heaptrack", num(r"calls to allocation functions: (\d+)"),
      num(r"temporary memory allocations: (\d+)"), num(r"peak heap memory consumption: (\S+)"),
      "leaked:" + num(r"total memory leaked: (\S+)"), "-", "-", "-", sys.argv[3], sys.argv[4])
PY
}

valgrind_row() {
	local prog=$1
	shift
	rm -f "$W/$prog.vg".*
	timed "$prog.vg" valgrind --leak-check=full --trace-children=yes --log-file="$W/$prog.vg.%p" "$@"
	cat "$W/$prog.vg".* | python3 -c '
import re, sys
t = sys.stdin.read()
allocs = sum(int(x.replace(",", "")) for x in re.findall(r"total heap usage: ([\d,]+) allocs", t))
cls = []
for k in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
    b = n = 0
    for m in re.finditer(k + r": ([\d,]+) bytes in ([\d,]+) blocks", t):
        b += int(m.group(1).replace(",", ""))
        n += int(m.group(2).replace(",", ""))
    cls.append("%d/%d" % (b, n))
print(sys.argv[1], "valgrind", allocs, "-", "-", *cls, sys.argv[2], sys.argv[3])' "$prog" "$SECS" "$RSS"
}

bare_row() {
	local prog=$1
	shift
	timed "$prog.bare" "$@"
	echo "$prog bare - - - - - - - $SECS $RSS"
}

run() {
	local prog=$1
	shift
	{
		bare_row "$prog" "$@"
		kiln_row "$prog" "$@"
		heaptrack_row "$prog" "$@"
		valgrind_row "$prog" "$@"
	} | while read -r a b c d e f g h i j k; do row "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k"; done
}

echo "kiln heap vs heaptrack vs valgrind --leak-check=full; leak classes bytes/blocks; wall s; max RSS KiB"
row program tool allocs temporary peak_bytes definitely indirectly possibly reachable wall_s maxrss_kb
run python3 /usr/bin/python3 "$W/script.py"
run sqlite3 sqlite3 :memory: "$SQL"
run ripgrep rg -c needle "$W/tree"
run zstd zstd -T2 -q -f -o "$W/zout.zst" "$W/zin.dat"
run gcc gcc -O2 -c "$W/x.c" -o "$W/x.o"
run gitstatus git -C "$G" status --porcelain
run gitlog git -C "$G" log -p --no-color
echo
echo "(files in $W; heaptrack follows only the first process of gcc: its counts are the driver's)"
