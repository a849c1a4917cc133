#!/bin/bash
# test_annotate.sh - kiln annotate on fixtures with known hot loops: the
# default function is the hottest by self (leaf_b), a named one (leaf_a) can
# be picked, the hottest line is inside the function's marked loop, line
# shares add up to 100%, the source is printed beside them, and without the
# source file kiln falls back to file:line and addresses (--source-dir finds
# it again). Also: unknown and ambiguous symbols.
source "$(dirname "$0")/lib.sh"
setup
cd "$T" || die "cannot cd to $T"

record rec -F 499 -q -o "$T/ct.kiln" -- "$FX/calltree_nofp" 1200ms
[ -s "$T/ct.kiln" ] || die "kiln record wrote nothing: $(tail -5 "$T/rec.err")"

# ann NAME ARGS...: `kiln annotate --json --limit 0 ARGS` into $T/NAME.json
ann() {
	local name=$1
	shift
	krun "$name" annotate --json --limit 0 "$@"
	[ "$RC" = 0 ] || die "kiln annotate $* exited $RC: $(tail -3 "$T/$name.err")"
	cp "$T/$name.out" "$T/$name.json"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/$name.json" ||
		die "kiln annotate --json $* is not valid JSON"
}
# aq FILE EXPR: a Python expression over the annotate JSON `j`
aq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
in_range() { # in_range N LO-HI
	local lo=${2%-*} hi=${2#*-}
	[ -n "$1" ] && [ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ]
}

# --- the default: the hottest function by self -------------------------------
ann def "$T/ct.kiln"
check_eq "default function" "$(aq "$T/def.json" 'j["function"]')" "calltree::leaf_b"
range_b=$(marker calltree.rs leaf_b)
hot=$(aq "$T/def.json" 'j["lines"][0]["line"]')
if in_range "$hot" "$range_b"; then ok "leaf_b's hottest line $hot is in its loop ($range_b)"; else
	fail "leaf_b's hottest line is '$hot', not in its loop ($range_b)"
fi
check_between "leaf_b's line shares add up" "$(aq "$T/def.json" 'round(sum(l["percent"] for l in j["lines"]), 3)')" 99.99 100.01
check_ge "leaf_b's share in its loop" \
	"$(aq "$T/def.json" "sum(l['percent'] for l in j['lines'] if ${range_b%-*} <= l['line'] <= ${range_b#*-})")" 90
check_eq "values add up to the function's own" \
	"$(aq "$T/def.json" 'sum(l["value"] for l in j["lines"]) == j["self"] + j["inlined"]')" "True"
check_eq "the source was found" "$(aq "$T/def.json" 'j["source"]["found"]')" "True"
check_grep "lines carry their source text" "$T/def.json" 'MARK:leaf_b'
check_ge "leaf_b is most of the profile" "$(aq "$T/def.json" 'j["percent_of_total"]')" 45

# --- a named function, text output ------------------------------------------------
ann a "$T/ct.kiln" leaf_a
check_eq "leaf_a by its last path segment" "$(aq "$T/a.json" 'j["function"]')" "calltree::leaf_a"
range_a=$(marker calltree.rs leaf_a)
hot=$(aq "$T/a.json" 'j["lines"][0]["line"]')
if in_range "$hot" "$range_a"; then ok "leaf_a's hottest line $hot is in its loop ($range_a)"; else
	fail "leaf_a's hottest line is '$hot', not in its loop ($range_a)"
fi

NO_COLOR=1 krun text annotate "$T/ct.kiln" calltree::leaf_a
check_eq "text status" "$RC" 0
check_grep "text names the function" "$T/text.out" '^Function: calltree::leaf_a'
check_grep "text shows the source file" "$T/text.out" '^Source: .*calltree\.rs'
check_grep "text shows the hot line beside its share" "$T/text.out" "^ +[0-9.]+% .* $hot  .*MARK:leaf_a"
check_grep "text has a hottest-lines table" "$T/text.out" 'calltree\.rs:[0-9]+ '
check_no_grep "NO_COLOR: no escape codes" "$T/text.out" $'\033'
krun limit annotate --limit 2 "$T/ct.kiln"
check_grep "--limit says what it left out" "$T/limit.out" 'more lines \(--limit 0 shows all\)'

# --- without the source: addresses; --source-dir finds it ----------------------------
mkdir -p "$T/src" "$T/moved"
cp "$KILN_SRC/tests/fixtures/c_calltree.c" "$T/src/gone.c"
gcc -O2 -g -o "$T/gone" "$T/src/gone.c" || die "cannot compile the C fixture copy"
record crec -F 499 -q -o "$T/gone.kiln" -- "$T/gone" 800ms
mv "$T/src/gone.c" "$T/moved/gone.c"
NO_COLOR=1 krun nosrc annotate "$T/gone.kiln" leaf_b
check_eq "no-source status" "$RC" 0
check_grep "says the source is missing" "$T/nosrc.out" 'not found'
check_grep "falls back to file:line and addresses" "$T/nosrc.out" 'gone\.c:[0-9]+ +0x[0-9a-f]+'
check_no_grep "no source block" "$T/nosrc.out" '^Source: /'
ann nosrcj "$T/gone.kiln" leaf_b
check_eq "json: source not found" "$(aq "$T/nosrcj.json" 'j["source"]["found"]')" "False"
check_ge "json: lines have addresses" "$(aq "$T/nosrcj.json" 'len(j["lines"][0]["addresses"])')" 1
range_cb=$(marker c_calltree.c c_leaf_b)
hot=$(aq "$T/nosrcj.json" 'j["lines"][0]["line"]')
if in_range "$hot" "$range_cb"; then ok "C leaf_b's hottest line $hot is in its loop ($range_cb)"; else
	fail "C leaf_b's hottest line is '$hot', not in its loop ($range_cb)"
fi
NO_COLOR=1 krun srcdir annotate --source-dir "$T/moved" "$T/gone.kiln" leaf_b
check_grep "--source-dir finds the moved source" "$T/srcdir.out" "^Source: $T/moved/gone\.c"

# --- errors ----------------------------------------------------------------------
krun unknown annotate "$T/ct.kiln" no_such_function
check_ne "an unknown symbol fails" "$RC" 0
check_grep "and says so" "$T/unknown.err" "no function .* matches 'no_such_function'"
krun ambiguous annotate "$T/ct.kiln" leaf_
check_ne "an ambiguous symbol fails" "$RC" 0
check_grep "and lists the candidates" "$T/ambiguous.err" 'calltree::leaf_a'
krun missing annotate "$T/none.kiln"
check_ne "a missing profile fails" "$RC" 0
check_no_crash missing

finish
