#!/bin/bash
# test_errors.sh - bad input gives a clear one-line `kiln: ...` error that
# names its subject, a non-zero exit status and no crash: random, foreign,
# corrupted, truncated and empty files, a directory, a missing file, a
# missing command, an unknown event, bad -F values. A byte flipped anywhere
# in a file is never passed off as a complete profile. A finished file still
# reports symbol names after the binary is gone (the file is self-contained).
source "$(dirname "$0")/lib.sh"
setup
cd "$T" || die "cd $T"

# expect_error NAME SUBJECT ARGS...: kiln ARGS fails cleanly, its stderr's
# first line is `kiln: ...` naming SUBJECT (a fixed string), and it is one line.
expect_error() {
	local name=$1 subject=$2
	shift 2
	krun "$name" "$@"
	check_no_crash "$name"
	if [ "$RC" -eq 0 ]; then
		fail "$name: kiln $* exited 0, expected an error"
		return
	fi
	local first
	first=$(head -1 "$T/$name.err")
	if [[ "$first" == "kiln: "* ]] && grep -qF -- "$subject" <<<"$first"; then
		ok "$name: status $RC, '$first'"
	else
		fail "$name: status $RC, first stderr line '$first' is not 'kiln: ...' naming '$subject'"
	fi
	local n
	n=$(grep -c . "$T/$name.err")
	if [ "$n" -le 1 ]; then ok "$name: one line of stderr"; else
		fail "$name: $n lines of stderr, expected one:"
		sed 's/^/    | /' "$T/$name.err" | head -10
	fi
}

# A good file to damage.
record good -o "$T/good.kiln" -- "$FX/calltree_nofp" 400ms
[ -s "$T/good.kiln" ] || die "no file to damage: $(cat "$T/good.err")"
size=$(stat -c %s "$T/good.kiln")

head -c 8192 /dev/urandom >"$T/random.kiln"
expect_error random random.kiln report "$T/random.kiln"
expect_error foreign calltree_nofp report "$FX/calltree_nofp"
: >"$T/empty.kiln"
expect_error empty empty.kiln report "$T/empty.kiln"
mkdir -p "$T/adir.kiln"
expect_error directory adir.kiln report "$T/adir.kiln"
expect_error missing nosuchfile.kiln report "$T/nosuchfile.kiln"
expect_error missing-json nosuchfile.kiln report --json "$T/nosuchfile.kiln"
head -c 16 "$T/good.kiln" >"$T/header-cut.kiln"
expect_error header-cut header-cut.kiln report "$T/header-cut.kiln"

# flip FILE OFFSET: xor one byte.
flip() {
	python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x5a
open(p, "wb").write(b)
PY
}
cp "$T/good.kiln" "$T/flip-header.kiln"
flip "$T/flip-header.kiln" 9
expect_error flip-header flip-header.kiln report "$T/flip-header.kiln"
cp "$T/good.kiln" "$T/flip-chunk0.kiln"
flip "$T/flip-chunk0.kiln" 40
expect_error flip-chunk0 flip-chunk0.kiln report "$T/flip-chunk0.kiln"

# Damage further in may leave whole chunks before it: then kiln may open
# the file, but never as complete, and it must say so.
for frac in 20 40 60 80 95 99; do
	off=$((size * frac / 100))
	[ "$off" -ge "$size" ] && off=$((size - 1))
	cp "$T/good.kiln" "$T/flip$frac.kiln"
	flip "$T/flip$frac.kiln" "$off"
	krun "flip$frac" report --json "$T/flip$frac.kiln"
	check_no_crash "flip$frac"
	if [ "$RC" -ne 0 ]; then
		check_grep "flip at $frac% (byte $off): error names the file" "$T/flip$frac.err" "^kiln: .*flip$frac\.kiln"
	else
		check_eq "flip at $frac% (byte $off): opened, complete" "$(jq_ "$T/flip$frac.out" 'j["complete"]')" false
		check_grep "flip at $frac% (byte $off): a warning on stderr" "$T/flip$frac.err" "^kiln: "
	fi
done

for frac in 30 70 99; do
	cut=$((size * frac / 100))
	head -c "$cut" "$T/good.kiln" >"$T/cut$frac.kiln"
	krun "cut$frac" report --json "$T/cut$frac.kiln"
	check_no_crash "cut$frac"
	if [ "$RC" -ne 0 ]; then
		check_grep "cut at $frac% ($cut bytes): error names the file" "$T/cut$frac.err" "^kiln: .*cut$frac\.kiln"
	else
		check_eq "cut at $frac% ($cut bytes): opened, complete" "$(jq_ "$T/cut$frac.out" 'j["complete"]')" false
		check_grep "cut at $frac% ($cut bytes): a warning on stderr" "$T/cut$frac.err" "^kiln: "
	fi
done

# Record errors.
expect_error no-command /nonexistent record -o "$T/nocmd.kiln" -- /nonexistent
expect_error bad-event nosuchevent record -e nosuchevent -o "$T/ev.kiln" -- "$FX/calltree_nofp" 10
for f in abc 0 -5 1e99; do
	expect_error "bad-freq$f" "$f" record -F "$f" -o "$T/freq.kiln" -- "$FX/calltree_nofp" 10
done
expect_error bad-callgraph nosuchmode record --call-graph nosuchmode -o "$T/cg.kiln" -- "$FX/calltree_nofp" 10
expect_error bad-pid 999999999 record -p 999999999 --duration 1 -o "$T/pid.kiln"

# Call frame information that names a register x86-64 does not have (here
# the first CIE's return address register, 200): kiln records on without
# it and says so, where libdw alone would have sized a table by it.
cp "$FX/c_calltree" "$T/bad_cfi"
python3 - "$T/bad_cfi" <<'PY' || die "cannot plant a bad register in bad_cfi's .eh_frame"
import struct, sys
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
shoff, = struct.unpack_from("<Q", b, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3a)
def sh(i):
    return struct.unpack_from("<IIQQQQ", b, shoff + i * shentsize)
strtab = sh(shstrndx)[4]
for i in range(shnum):
    name, _, _, _, off, _ = sh(i)
    if b[strtab + name:b.index(0, strtab + name)] == b".eh_frame":
        break
else:
    sys.exit(1)
assert struct.unpack_from("<I", b, off + 4)[0] == 0 and b[off + 8] == 1  # a CIE, version 1
at = b.index(0, off + 9) + 1          # past the augmentation string
at += 1                               # code alignment (one-byte ULEB)
while b[at] & 0x80: at += 1           # data alignment (SLEB)
b[at + 1] = 200                       # the return address register (a byte in version 1)
open(path, "wb").write(b)
PY
record bad-cfi -o "$T/bad_cfi.kiln" --call-graph dwarf -- "$T/bad_cfi" 300ms
check_eq "bad CFI: the command still runs and is recorded" "$RC" 0
check_grep "bad CFI: a warning names the file" "$T/bad-cfi.err" "^kiln: warning: ignored the call frame information of .*bad_cfi"

# The binary gone: the finished file still has its symbols.
cp "$FX/calltree_nofp" "$T/gone_bin"
record gone -o "$T/gone.kiln" -- "$T/gone_bin" 500ms
rm -f "$T/gone_bin"
report_json "$T/gone.kiln" "$T/gone.json"
check_ge "binary removed: calltree::leaf_b still named, self %" \
	"$(jq_ "$T/gone.json" '(fn("calltree::leaf_b") or {}).get("self_pct", 0)')" 50
check_eq "binary removed: leaf_b's file" \
	"$(jq_ "$T/gone.json" '(fn("calltree::leaf_b") or {}).get("file", "").rsplit("/", 1)[-1]')" calltree.rs
krun gone-text report "$T/gone.kiln"
check_grep "binary removed: text report names calltree::leaf_b" "$T/gone-text.out" "calltree::leaf_b"
finish
