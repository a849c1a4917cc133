#!/bin/bash
# names_bench.sh - how much of a real program's profile kiln names (issue
# 18): on Debian's stripped zstd and on sqlite3, the rows of `kiln report`
# that are per-address (module+0x...), PLT stubs left unnamed or misnamed
# (_init), internal aliases (__GI_*, __libc_*), and the rows kiln now
# names X@plt or sub_ADDR@module, for two kiln binaries side by side.
#
#   bash bench/names_bench.sh NEW_KILN [OLD_KILN]
#
# Needs zstd and sqlite3 (apt-get install zstd sqlite3). A measurement,
# not a test: nothing fails on a number.
set -u
NEW=${1:?usage: names_bench.sh NEW_KILN [OLD_KILN]}
OLD=${2:-}
DIR=${KILN_BENCH_DIR:-$(dirname "$NEW")/bench}/names
mkdir -p "$DIR"

# the workloads: ~1-2 s of CPU each
head -c 24000000 /dev/urandom | base64 >"$DIR/input.txt"
cat >"$DIR/work.sql" <<'SQL'
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t SELECT i, hex(randomblob(16)), i * 0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(c) FROM t WHERE b LIKE '%AB%';
SELECT b FROM t ORDER BY b LIMIT 1 OFFSET 150000;
SQL

count() { # FILE: counts rows by kind, printed as one line of key=value
	python3 - "$1" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
fs = [f for f in j["functions"] if f["self"] > 0 and not f["module"].startswith("[kernel")]
tot = sum(f["self"] for f in j["functions"]) or 1
def k(pred):
    rows = [f for f in fs if pred(f)]
    return "%d (%.1f%%)" % (len(rows), 100.0 * sum(f["self"] for f in rows) / tot)
print("rows=%d" % len(fs),
      "per-address=" + k(lambda f: re.search(r"\+0x[0-9a-f]+$", f["name"]) is not None),
      "_init=" + k(lambda f: f["name"] in ("_init", "_fini")),
      "aliases=" + k(lambda f: re.match(r"__(GI_|libc_(malloc|free|calloc|realloc))", f["name"]) is not None),
      "X@plt=" + k(lambda f: f["name"].endswith("@plt")),
      "sub_=" + k(lambda f: f["name"].startswith("sub_")), sep="  ")
PY
}

run() { # LABEL KILN CMD...
	local label=$1 kiln=$2
	shift 2
	"$kiln" record -q -F 997 -o "$DIR/$label.kiln" -- "$@" >/dev/null 2>&1
	"$kiln" report --json --limit 0 "$DIR/$label.kiln" >"$DIR/$label.json" 2>/dev/null
	printf '%-14s %s\n' "$label" "$(count "$DIR/$label.json")"
}

for who in old new; do
	k=$NEW
	[ $who = old ] && { [ -n "$OLD" ] || continue; k=$OLD; }
	command -v zstd >/dev/null && run "zstd-$who" "$k" zstd -q -f -6 "$DIR/input.txt" -o "$DIR/input.zst"
	command -v sqlite3 >/dev/null && run "sqlite3-$who" "$k" sh -c "rm -f '$DIR/db' && sqlite3 '$DIR/db' <'$DIR/work.sql' >/dev/null"
done
