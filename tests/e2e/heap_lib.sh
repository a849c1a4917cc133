# shellcheck shell=bash
# heap_lib.sh - helpers for the kiln heap tests (sourced after lib.sh).

# hj FILE EXPR: evaluates a python expression over the heap JSON summary d;
# site(TEXT, LIST) finds the merged sites whose label contains TEXT and sums
# their fields into one dict.
hj() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def site(text, lst="by_allocations"):
    out = {}
    for s in d[lst]:
        if text in s["site"]:
            for k, v in s.items():
                if isinstance(v, int):
                    out[k] = out.get(k, 0) + v
    return out
print(eval(sys.argv[2]))
PY
}

# line_of FILE MARKER: the line that carries the comment /* MARKER */ (C)
# or // MARKER (Rust) in a fixture
line_of() { grep -nE -- "(/\\* $2 \\*/|// $2\$)" "$1" | head -1 | cut -d: -f1; }

# valgrind_leak FILE KIND: "BYTES BLOCKS" of "KIND lost:" in a memcheck log
valgrind_leak() {
	sed -n "s/.*$2: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p" "$1" | tr -d , | head -1
}
