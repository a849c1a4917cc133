#!/bin/bash
# test_flame.sh - kiln flame and kiln collapse end to end: one-shot record and
# draw of a fixture with known proportions (leaf_b = 2 x leaf_a), valid XML,
# every option, folded round trips, a differential graph with a known change,
# hostile names, and perf script input.
source "$(dirname "$0")/lib.sh"
setup
command -v xmllint >/dev/null || skip "xmllint is missing (make deps installs libxml2-utils)"

# svgq SVG EXPR: evaluates a Python expression over the SVG's frame data:
#   frames  list of dicts name, depth, start, value, self, origin[, base], fill
#   total   the root value; width(re) sums the values of frames matching re
svgq() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
svg = open(sys.argv[1], encoding="utf-8").read()
S = json.loads(re.search(r"\nS:(\[.*?\]),\nF:", svg, re.S).group(1))
F = json.loads(re.search(r"\nF:(\[.*?\])[,}]", svg, re.S).group(1))
diff = "diff:1" in svg
stride = int(re.search(r"stride:(\d+)", svg).group(1))
fills = re.findall(r'<g><rect [^>]*fill="(#[0-9a-f]{6})"', svg.split('<g id="frames">')[1])
frames = []
for i in range(len(F) // stride):
    v = F[i * stride:(i + 1) * stride]
    f = dict(name=S[v[0]], depth=v[1], start=v[2], value=v[3], self=v[4], origin=v[8], fill=fills[i])
    if diff:
        f["base"] = v[9]
    frames.append(f)
total = frames[0]["value"] if frames else 0
def width(pat):
    return sum(f["value"] for f in frames if re.search(pat, f["name"]))
def names():
    return [f["name"] for f in frames]
print(eval(sys.argv[2]))
PY
}

xml_ok() {
	if xmllint --noout "$2" 2>"$T/xmllint.err"; then ok "$1: valid XML"; else
		fail "$1: xmllint rejects $(basename "$2")"
		head -5 "$T/xmllint.err" | sed 's/^/    | /'
	fi
}

cd "$T" || die "cannot cd to $T"

# --- one shot: record, then draw -------------------------------------------
krun oneshot flame -F 499 -o "$T/calltree.svg" --record-output "$T/calltree.kiln" -- "$FX/calltree_nofp" 1200ms
check_eq "one-shot status" "$RC" 0
[ -s "$T/calltree.svg" ] || die "kiln flame -- CMD wrote no SVG: $(cat "$T/oneshot.err")"
[ -s "$T/calltree.kiln" ] || fail "the recording was not kept in --record-output"
xml_ok "one-shot SVG" "$T/calltree.svg"
a=$(svgq "$T/calltree.svg" 'width(r"leaf_a$")')
b=$(svgq "$T/calltree.svg" 'width(r"leaf_b$")')
check_ge "leaf_a samples" "$a" 20
check_between "leaf_b/leaf_a width" "$(python3 -c "print($b/$a)")" 1.5 2.6
check_eq "root frame" "$(svgq "$T/calltree.svg" 'frames[0]["name"]')" "all"
check_grep "hover data has the source file" "$T/calltree.svg" 'calltree\.rs'
check_grep "the lang palette colours user Rust code" "$T/calltree.svg" 'Rust \(yours\)'
check_eq "leaf_b is the user's Rust code" "$(svgq "$T/calltree.svg" '[f["origin"] for f in frames if f["name"].endswith("leaf_b")][0]')" 1

# default names: flamegraph.kiln / flamegraph.svg in the current directory
krun default flame -F 199 -q -- "$FX/c_calltree" 300ms
[ -s flamegraph.kiln ] && [ -s flamegraph.svg ] && ok "defaults: flamegraph.kiln and flamegraph.svg" ||
	fail "defaults: flamegraph.kiln/flamegraph.svg missing"
krun exitcode flame -q -o ec.svg -- "$FX/calltree_nofp" 100ms 3
check_eq "the command's exit status is kiln's" "$RC" 3
[ -s ec.svg ] && ok "a failing command still gets its graph" || fail "no graph for a failing command"

# --- folded out and back in --------------------------------------------------
krun folded flame "$T/calltree.kiln" --folded
cp "$T/folded.out" a.folded
check_grep "folded lines" a.folded '^[^ ].*;calltree::leaf_b [0-9]+$'
"$KILN" flame a.folded -o b.folded 2>/dev/null
if cmp -s a.folded b.folded; then ok "folded round trip is exact ($(wc -l <a.folded) stacks)"; else
	fail "folded round trip differs"
	diff a.folded b.folded | head -5
fi
sum_a=$(awk '{s += $NF} END {print s}' a.folded)
check_eq "folded keeps every sample" "$sum_a" "$(svgq "$T/calltree.svg" 'total')"
"$KILN" flame a.folded -o from_folded.svg 2>/dev/null
xml_ok "SVG of a folded file" from_folded.svg
check_eq "same leaf_a from folded input" "$(svgq from_folded.svg 'width(r"leaf_a$")')" "$a"

# --- options -----------------------------------------------------------------
"$KILN" flame "$T/calltree.kiln" --reverse --folded >rev.folded 2>/dev/null
check_grep "--reverse puts leaves at the root" rev.folded '^calltree::leaf_b;calltree::run::\{\{closure\}\};'
for opt in --icicle --flamechart --threads "--palette hot" "--palette mem" "--palette io" "--reverse"; do
	name=$(echo "$opt" | tr -d ' -')
	# shellcheck disable=SC2086
	"$KILN" flame "$T/calltree.kiln" $opt --title "T $opt" --subtitle sub --notes "n<&>" --width 900 \
		-o "opt_$name.svg" 2>"opt_$name.err" || fail "kiln flame $opt failed: $(cat "opt_$name.err")"
	xml_ok "$opt" "opt_$name.svg"
done
check_grep "--width" opt_icicle.svg 'width="900"'
check_grep "--icicle draws the root at the top" opt_icicle.svg '<g><rect x="10" y="94" width="880" '
check_grep "--reverse is named in the title" opt_reverse.svg '<title>T --reverse</title>'
"$KILN" flame "$T/calltree.kiln" --reverse -o rev_default.svg 2>/dev/null
check_grep "the command and samples under the title" rev_default.svg 'id="info"[^>]*>calltree.kiln · [^<]*calltree_nofp 1200ms · [0-9,]+ samples · [0-9.]+ s'
check_grep "the default title names the view" rev_default.svg '<title>Flame Graph \(reversed\)</title>'
check_grep "--notes escaped" opt_icicle.svg '<desc>n&lt;&amp;&gt;</desc>'
check_eq "--flamechart roots are threads" "$(svgq opt_flamechart.svg 'frames[1]["name"].startswith("calltree")')" True
check_grep "--flamechart title" opt_flamechart.svg 'T --flamechart'
check_grep "--flamechart has a time axis" opt_flamechart.svg '<g id="axis">'
"$KILN" flame "$T/calltree.kiln" --focus 'leaf_a$' --folded >focus.folded 2>/dev/null
check_eq "--focus keeps only matching stacks" "$(grep -vc 'leaf_a' focus.folded)" 0
check_eq "--focus keeps their samples" "$(awk '{s += $NF} END {print s}' focus.folded)" "$a"
"$KILN" flame "$T/calltree.kiln" --exclude 'leaf_a' --folded >excl.folded 2>/dev/null
check_eq "--exclude drops matching stacks" "$(grep -c 'leaf_a' excl.folded)" 0
"$KILN" flame "$T/calltree.kiln" --thread calltree_nofp --folded >thr.folded 2>/dev/null
check_eq "--thread NAME" "$(awk '{s += $NF} END {print s}' thr.folded)" "$sum_a"
"$KILN" flame "$T/calltree.kiln" --thread nosuchthread --folded >none.folded 2>none.err
check_grep "--thread with no match warns" none.err 'nothing to draw'
"$KILN" flame "$T/calltree.kiln" --value cpu -o cpu.svg 2>/dev/null
check_grep "--value cpu" cpu.svg 'unit:"nanoseconds"'
krun badvalue flame "$T/calltree.kiln" --value bogus -o x.svg
check_grep "--value bogus lists the values" "$T/badvalue.err" "has no value 'bogus'; it has: samples"
"$KILN" flame "$T/calltree.kiln" --min-width 50 -o wide.svg 2>/dev/null
check_le "--min-width drops narrow frames" "$(svgq wide.svg 'len([f for f in frames if f["value"] * 1180 / total < 50 and f["origin"] != 99])')" 0

# --- differential graph: a known change --------------------------------------
# NEW is the same fixture with leaf_a three times as expensive: its share
# grows (red) and leaf_b's shrinks (blue).
"$KILN" record -q -F 499 -o c.kiln -- "$FX/c_calltree" 1000ms
"$KILN" flame c.kiln --folded >base.folded 2>/dev/null
awk '{ n = $NF; if ($0 ~ /;leaf_a$/ || $0 ~ /;leaf_a /) n = n * 3; $NF = n; print }' base.folded >new.folded
krun diff flame --diff base.folded new.folded -o diff.svg
check_eq "diff status" "$RC" 0
xml_ok "differential SVG" diff.svg
check_eq "leaf_a grew: red" "$(svgq diff.svg '[f["fill"][:3] for f in frames if f["name"] == "leaf_a"][0]')" "#ff"
check_eq "leaf_b shrank: blue" "$(svgq diff.svg '[f["fill"][5:] for f in frames if f["name"] == "leaf_b"][0]')" "ff"
check_eq "diff keeps the base values" "$(svgq diff.svg '[f["base"] for f in frames if f["name"] == "leaf_b"][0]')" \
	"$(awk '/;leaf_b[ ;]/{s += $NF} END {print s}' base.folded)"

# frames only in BASE: listed, and drawn on BASE's shape with --negate
printf 'main;gone 50\nmain;kept 50\n' >gb.folded
printf 'main;kept 100\n' >gn.folded
"$KILN" flame --diff gb.folded gn.folded -o gone.svg 2>/dev/null
check_grep "frames gone from NEW are listed" gone.svg '>gone from NEW: gone \(50.00% of BASE\)'
"$KILN" flame --diff --negate gb.folded gn.folded -o negate.svg 2>/dev/null
check_eq "--negate draws the gone frame, blue" "$(svgq negate.svg '[f["fill"] for f in frames if f["name"] == "gone"][0]')" "#2d2dff"
check_eq "--negate: kept grew, red" "$(svgq negate.svg '[f["fill"] for f in frames if f["name"] == "kept"][0]')" "#ff2d2d"
krun negate1 flame --negate gb.folded
check_eq "--negate needs --diff" "$RC" 2

# --- hostile names -----------------------------------------------------------
printf '%s\n' 'main;<script>alert("x")</script> 5' 'main;]]><svg onload=alert(1)> 3' \
	"main;a&b'c\"d 2" 'main;</text></g><g><rect width="9999"/> 4' >hostile.folded
printf 'main;ctl\001\033[31m\377\376 1\n' >>hostile.folded
"$KILN" flame hostile.folded --title '<script>alert(2)</script>' --subtitle ']]>' --notes '&' -o hostile.svg 2>/dev/null
xml_ok "hostile names" hostile.svg
python3 - hostile.svg >"$T/hostile.check" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
tags = {el.tag.split('}')[-1] for el in root.iter()}
scripts = [el for el in root.iter() if el.tag.endswith('script')]
assert tags <= {'svg', 'title', 'desc', 'style', 'rect', 'text', 'g', 'script'}, tags
assert len(scripts) == 2, len(scripts)
assert not any(el.get('onload') for el in root.iter())
texts = [el.text or '' for el in root.iter() if el.tag.endswith('text')]
assert any('<script>' in t for t in texts), texts
print("ok")
PY
check_grep "hostile names stay text" "$T/hostile.check" '^ok$'

# --- perf script input -------------------------------------------------------
if have_perf; then
	perf record -q --no-bpf-event -F 499 -g -o perf.data "$FX/c_calltree_fp" 600ms >/dev/null 2>&1
	perf script -i perf.data >perf.txt 2>/dev/null
	krun collapse collapse perf.txt
	check_eq "collapse status" "$RC" 0
	check_grep "collapse: comm at the root, leaf last" "$T/collapse.out" '^c_calltree_fp;.*;run;leaf_b [0-9]+$'
	events=$(grep -c '^[^[:space:]#]' perf.txt)
	check_eq "collapse keeps every event" "$(awk '{s += $NF} END {print s}' "$T/collapse.out")" "$events"
	"$KILN" collapse <perf.txt >stdin.folded 2>/dev/null
	cmp -s stdin.folded "$T/collapse.out" && ok "collapse reads stdin" || fail "collapse from stdin differs"
	"$KILN" flame perf.txt -o perf.svg 2>/dev/null
	xml_ok "flame of perf script output" perf.svg
else
	say "perf record not permitted here: perf script input not tested"
fi

# --- kernel frames keep perf's _[k] in folded output; empty input -----------
if [ "$(svgq "$T/calltree.svg" 'len([f for f in frames if f["origin"] % 128 == 4])')" -gt 0 ]; then
	check_grep "--folded marks kernel frames _[k]" a.folded '_\[k\][; ]'
else
	say "no kernel frames in this recording: _[k] not tested"
fi
: >empty.folded
krun empty flame empty.folded -o empty.svg
check_grep "an empty input says no samples" "$T/empty.err" "'empty.folded' is empty: no samples"
printf 'main;a 0\n' >zero.folded
"$KILN" flame zero.folded -o zero.svg 2>/dev/null
check_grep "a graph of no samples says so" zero.svg '>no samples</text>'
# leaf_a holds a third of calltree's time (about 400 of the 1200 pixels)
# and leaf_b two thirds: at 500 pixels leaf_a is too narrow whatever the
# recording; at 300 only stray samples were, and a run without any failed
krun frames flame --min-width 500 "$T/calltree.kiln" -o frames.svg
check_grep "the frame count says what was drawn and what was too narrow" "$T/frames.err" \
	"wrote 'frames.svg' \([0-9,]+ of [0-9,]+ frames drawn, [0-9,]+ too narrow"

# --- errors ------------------------------------------------------------------
krun missing flame nosuch.kiln
check_eq "missing file status" "$RC" 1
check_grep "missing file message" "$T/missing.err" "cannot open 'nosuch.kiln'"
echo "hello world" >junk.txt
krun junk flame junk.txt
check_grep "junk input message" "$T/junk.err" "is not a .kiln profile, folded stacks or perf script"
krun badre flame "$T/calltree.kiln" --focus '(' -o x.svg
check_grep "bad regex message" "$T/badre.err" "is not a valid regular expression"
krun diffone flame --diff a.folded
check_eq "--diff needs two" "$RC" 2
finish
