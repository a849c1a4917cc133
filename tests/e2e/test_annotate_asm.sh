#!/bin/bash
# test_annotate_asm.sh - kiln annotate's instructions, decoded with Capstone
# from the binary: on a stripped C binary (no line info) they are the
# default, their mnemonics at the sampled addresses equal objdump's and
# their shares add up to 100%; --asm on a function with line info shows the
# instructions under their source lines; a binary gone since recording is
# said and the hot addresses listed instead.
source "$(dirname "$0")/lib.sh"
setup
command -v objdump >/dev/null || skip "objdump (binutils) is not installed"

strip --strip-all -o "$T/hot_strip" "$FX/c_hot_alpha" || die "cannot strip c_hot_alpha"
record rec -F 997 -q -o "$T/strip.kiln" -- "$T/hot_strip" 400
[ -s "$T/strip.kiln" ] || die "kiln record wrote nothing"

# aq FILE EXPR: a Python expression over the annotate JSON `j`
aq() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# --- stripped: instructions by default ------------------------------------------
krun sj annotate --json "$T/strip.kiln"
check_eq "annotate --json status" "$RC" 0
cp "$T/sj.out" "$T/strip.json"
check_eq "the hottest function is unnamed code" "$(aq "$T/strip.json" 'j["function"].startswith("sub_")')" True
check_eq "no line info" "$(aq "$T/strip.json" 'j["source"]["file"]')" None
check_eq "instructions shown" "$(aq "$T/strip.json" 'j["disassembly"]["shown"]')" True
check_eq "decoded from the stripped binary" "$(aq "$T/strip.json" 'j["disassembly"]["binary"]')" "$T/hot_strip"
check_between "instruction shares add up to 100%" \
	"$(aq "$T/strip.json" 'round(sum(i["percent"] for i in j["disassembly"]["instructions"]), 2)')" 99.9 100.1
check_ge "instructions with samples" \
	"$(aq "$T/strip.json" 'sum(1 for i in j["disassembly"]["instructions"] if i["samples"])')" 3
# objdump's mnemonic at every sampled address
aq "$T/strip.json" '"\n".join("%s %s" % (i["vaddr"], i["mnemonic"]) for i in j["disassembly"]["instructions"] if i["samples"])' >"$T/kiln.mn"
objdump -d -M intel "$T/hot_strip" >"$T/objdump.txt" || die "objdump failed"
python3 - "$T/objdump.txt" "$T/kiln.mn" >"$T/mn.cmp" <<'PY'
import sys
ours = [l.split() for l in open(sys.argv[2]) if l.strip()]
theirs = {}
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) >= 3 and parts[0].strip().endswith(":") and parts[2].strip():
        theirs[int(parts[0].strip()[:-1], 16)] = parts[2].split()[0]
same = sum(1 for a, m in ours if theirs.get(int(a, 16)) == m)
for a, m in ours:
    if theirs.get(int(a, 16)) != m:
        print("differ %s kiln=%s objdump=%s" % (a, m, theirs.get(int(a, 16))))
print("same %d of %d" % (same, len(ours)))
PY
cat "$T/mn.cmp"
check_eq "mnemonics equal to objdump -d's at every sampled address" \
	"$(awk '/^same/ { print ($2 == $4 && $4 > 0) ? "yes" : "no" }' "$T/mn.cmp")" yes

NO_COLOR=1 krun st annotate "$T/strip.kiln"
check_grep "text: the instructions' heading names the binary" "$T/st.out" "^Instructions: $T/hot_strip \(as objdump -d -M intel shows them\)"
check_grep "text: a hot instruction with its share" "$T/st.out" '^ +[0-9.]+% +[0-9]+ +[0-9a-f]+:  [a-z]+'

# --- --asm with line info: source lines above their instructions ---------------------
record rec2 -F 997 -q -o "$T/dbg.kiln" -- "$FX/c_hot_alpha" 300
NO_COLOR=1 krun plain annotate "$T/dbg.kiln" alpha_work
check_no_grep "without --asm: the source view, no instructions" "$T/plain.out" '^Instructions:'
NO_COLOR=1 krun asm annotate --asm "$T/dbg.kiln" alpha_work
check_eq "annotate --asm status" "$RC" 0
check_grep "--asm: instructions" "$T/asm.out" '^Instructions: .*c_hot_alpha'
check_grep "--asm: a source line with its text" "$T/asm.out" '^ +c_hot\.c:[0-9]+  x \^= x'
check_grep "--asm: an instruction with its share" "$T/asm.out" '^ +[0-9.]+% +[0-9]+ +[0-9a-f]+:  (xor|mov|shl|shr) '
krun asmj annotate --asm --json "$T/dbg.kiln" alpha_work
cp "$T/asmj.out" "$T/asm.json"
check_between "--asm --json: instruction shares add up to 100%" \
	"$(aq "$T/asm.json" 'round(sum(i["percent"] for i in j["disassembly"]["instructions"]), 2)')" 99.9 100.1
check_eq "--asm --json: the hot instructions carry c_hot.c lines" \
	"$(aq "$T/asm.json" 'all(i["file"] and i["file"].endswith("c_hot.c") and i["line"] > 0 for i in j["disassembly"]["instructions"] if i["samples"])')" True

# --- the binary gone: said, and the hot addresses instead -------------------------
mv "$T/hot_strip" "$T/hot_strip.moved"
NO_COLOR=1 krun gone annotate "$T/strip.kiln"
check_eq "missing binary: status" "$RC" 0
check_grep "missing binary: said" "$T/gone.out" "^Code: +no instructions: binary '$T/hot_strip' is not here"
check_grep "missing binary: hot addresses instead" "$T/gone.out" '^ +[0-9.]+% +[0-9]+  0x[0-9a-f]+$'
check_no_grep "missing binary: no instructions" "$T/gone.out" '^Instructions:'
finish
