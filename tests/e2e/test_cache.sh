#!/bin/bash
# test_cache.sh - `kiln cache` under qemu-user on the row- against
# column-major traversal of a 512 x 512 matrix of doubles (2 MiB, far
# more than D1): the column walk's D1 read miss ratio is far above the
# row walk's, at the right line, and within 5% of cachegrind's with the
# same geometry, per function and per run; the summary is cachegrind's;
# --value d1_read_misses works in report; a bad geometry is a usage error.
source "$(dirname "$0")/lib.sh"
[ -x "$KILN" ] || die "kiln binary '$KILN' not found or not executable (build it first)"
command -v qemu-x86_64 >/dev/null || skip "qemu-x86_64 is not installed (make deps installs qemu-user)"
build_fixtures
cd "$T" || die "cd $T"

GEO=(--I1 32768,8,64 --D1 32768,8,64 --LL 1048576,16,64)
# kcache NAME ARGS...: kiln cache with GEO into $T/NAME.kiln, summary in NAME.err
kcache() {
	local name=$1
	shift
	"$KILN" cache "${GEO[@]}" -o "$T/$name.kiln" "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	[ -s "$T/$name.kiln" ] || {
		sed 's/^/    | /' "$T/$name.err" | tail -10
		die "$name: kiln cache wrote no profile (status $RC)"
	}
}
# ratio NAME: D1 read misses / data reads of the run, from its cache_totals
ratio() {
	"$KILN" report --json "$T/$1.kiln" | python3 -c '
import json, sys
t = dict(kv.split("=") for kv in json.load(sys.stdin)["meta"]["cache_totals"].split(","))
print(int(t["D1mr"]) / int(t["Dr"]))'
}

kcache both -- "$FX/count_rowcol" 512 both
check_eq "kiln cache exit status" "$RC" 0
check_grep "summary: I refs" "$T/both.err" "^I   refs: +[0-9,]+"
check_grep "summary: D refs split in reads and writes" "$T/both.err" "^D   refs: .* rd .* wr\)"
check_grep "summary: the geometry" "$T/both.err" "^D1 cache: +32768 B, 64 B, 8-way"
report_json "$T/both.kiln" "$T/both.json" --value d1_read_misses
COL=$(jq_ "$T/both.json" "fn('col_major')['self']")
ROW=$(jq_ "$T/both.json" "fn('row_major')['self']")
# 262144 reads each: col misses on every one, row once a 64-byte line
check_between "col_major D1 read misses" "$COL" 250000 263000
check_between "row_major D1 read misses" "$ROW" 32000 33500
check_eq "col_major's misses are at its loop line" \
	"$(jq_ "$T/both.json" "fn('col_major')['line'] in range($(grep -n 'double col_major' "$KILN_SRC/tests/fixtures/count_rowcol.c" | cut -d: -f1), 1000)")" true

kcache row -- "$FX/count_rowcol" 512 row
kcache col -- "$FX/count_rowcol" 512 col
RR=$(ratio row)
RC_=$(ratio col)
check_ge "column-major D1 read miss ratio over row-major's" "$(python3 -c "print($RC_ / $RR)")" 3

if command -v valgrind >/dev/null && command -v cg_annotate >/dev/null; then
	# cg D1mr FUNC FILE: a function's D1 read misses in a cachegrind output
	cg_fn() {
		cg_annotate "$2" 2>/dev/null | python3 -c '
import re, sys
want, cols, tot = sys.argv[1], None, 0
for line in sys.stdin:
    if cols is None and line.strip().startswith("Ir ") and "file:function" in line:
        cols = line.split()[:-1]
        continue
    if cols is None: continue
    parts = re.sub(r"\([^)]*\)", "", line).split()
    if len(parts) == len(cols) + 1 and parts[-1].split(":", 1)[-1] == want:
        v = parts[cols.index("D1mr")]
        tot += 0 if v == "." else int(v.replace(",", ""))
print(tot)' "$1"
	}
	for mode in both row col; do
		valgrind --tool=cachegrind --cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=1048576,16,64 \
			--cachegrind-out-file="$T/$mode.cg" "$FX/count_rowcol" 512 "$mode" >/dev/null 2>"$T/$mode.vg" ||
			fail "cachegrind failed: $(tail -1 "$T/$mode.vg")"
	done
	VCOL=$(cg_fn col_major "$T/both.cg")
	VROW=$(cg_fn row_major "$T/both.cg")
	check_le "col_major D1mr: kiln $COL vs cachegrind $VCOL, |diff| %" \
		"$(python3 -c "print(abs($COL - $VCOL) * 100 / max($VCOL, 1))")" 5
	check_le "row_major D1mr: kiln $ROW vs cachegrind $VROW, |diff| %" \
		"$(python3 -c "print(abs($ROW - $VROW) * 100 / max($VROW, 1))")" 5
	# the whole run's D1 read miss ratio, from cachegrind's summary
	vg_ratio() { python3 -c '
import re, sys
t = open(sys.argv[1]).read()
d = re.search(r"D   refs:\s+[\d,]+\s+\(\s*([\d,]+) rd", t).group(1)
m = re.search(r"D1  misses:\s+[\d,]+\s+\(\s*([\d,]+) rd", t).group(1)
print(int(m.replace(",", "")) / int(d.replace(",", "")))' "$1"; }
	for mode in row col; do
		k=$(ratio $mode)
		v=$(vg_ratio "$T/$mode.vg")
		check_le "$mode-major run: D1 read miss ratio kiln $k vs cachegrind $v, |diff| %" \
			"$(python3 -c "print(abs($k - $v) * 100 / $v)")" 5
	done
else
	say "valgrind is not installed: the cachegrind comparison is skipped"
fi

"$KILN" cache --D1 32768,7,64 -o "$T/bad.kiln" -- "$FX/count_rowcol" 16 >"$T/bad.out" 2>"$T/bad.err"
check_eq "a bad --D1: usage status" "$?" 2
check_grep "a bad --D1: says the form" "$T/bad.err" "--D1 '32768,7,64' is not SIZE,ASSOC,LINE"

finish
