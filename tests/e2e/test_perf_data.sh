#!/bin/bash
# test_perf_data.sh - kiln reads perf.data files: perf record's FP chains
# (C with frame pointers) and DWARF chains (the no-FP Rust and C builds,
# unwound by kiln's unwinder from the stack copies) give the top functions
# and self shares perf report gives, with whole chains from main (also with
# compressed records, a fork and an exec); flame and
# collapse read them too; a binary rebuilt since is read from perf's
# build-id cache; cut and corrupt files are refused with a message.
source "$(dirname "$0")/lib.sh"
setup
command -v perf >/dev/null || skip "perf is not installed"
cd "$T" || die "no $T"
# perf's build-id cache goes here, not into the real home
export HOME=$T

# precord NAME ARGS...: perf record into NAME.data, fatal when it fails.
precord() {
	local name=$1
	shift
	perf record -q --no-bpf-event -F 499 -o "$T/$name.data" "$@" >"$T/$name.perf.out" 2>&1 ||
		die "perf record $name failed: $(tail -3 "$T/$name.perf.out")"
	[ -s "$T/$name.data" ] || die "perf record wrote no $name.data"
}

# compare NAME: kiln report's self shares against perf report's for every
# function perf gives 5% or more, and the same top function.
compare() {
	local name=$1
	report_json "$T/$name.data" "$T/$name.json"
	perf report -i "$T/$name.data" --stdio --no-children --sort sym -g none --percent-limit 0 \
		>"$T/$name.report" 2>/dev/null || die "perf report $name failed"
	python3 - "$T/$name.json" "$T/$name.report" >"$T/$name.cmp" <<'EOF'
import json, re, sys
j = json.load(open(sys.argv[1]))
kiln = {f["name"]: f["self_pct"] for f in j["functions"]}
perf = []
for line in open(sys.argv[2]):
    m = re.match(r"\s+([0-9.]+)%\s+\[.\]\s+(.+?)\s*$", line)
    if m:
        perf.append((m.group(2), float(m.group(1))))
perf.sort(key=lambda x: -x[1])
top_kiln = max(kiln, key=kiln.get) if kiln else ""
print("top_same %d" % (bool(perf) and perf[0][0] == top_kiln))
print("compared %d" % sum(1 for n, s in perf if s >= 5))
print("maxdiff %.2f" % max([abs(kiln.get(n, 0.0) - s) for n, s in perf if s >= 5] or [100]))
for n, s in perf[:5]:
    print("# perf %.2f kiln %.2f %s" % (s, kiln.get(n, 0.0), n))
EOF
	grep '^#' "$T/$name.cmp" | sed "s/^/[$TEST_NAME] $name: /"
	check_eq "$name: kiln's top function is perf report's" "$(kv "$T/$name.cmp" top_same)" 1
	check_ge "$name: functions perf gives >= 5% compared" "$(kv "$T/$name.cmp" compared)" 2
	check_le "$name: largest self-share difference from perf report (points)" "$(kv "$T/$name.cmp" maxdiff)" 3
}

# --- FP chains: the C build with frame pointers --------------------------------
precord cfp -g -- "$FX/c_calltree_fp" 400ms
compare cfp
kstats "$T/cfp.stats" "$T/cfp.json" --leaf leaf_a --leaf leaf_b --chain main,run
check_ge "cfp: full-chain % (main > run > leaf)" "$(kv "$T/cfp.stats" fullchain)" 95
check_eq "cfp: meta call_graph" "$(jq_ "$T/cfp.json" 'j["meta"].get("call_graph")')" fp
check_eq "cfp: meta source" "$(jq_ "$T/cfp.json" 'j["meta"].get("source")')" perf.data

# --- DWARF chains: no frame pointers, Rust and C --------------------------------
precord rdw --call-graph dwarf,16384 -- "$FX/calltree_nofp" 400ms
compare rdw
kstats "$T/rdw.stats" "$T/rdw.json" --leaf calltree::leaf_a --leaf calltree::leaf_b \
	--chain main,calltree::main,calltree::run
check_ge "rdw: full-chain % (main > calltree::main > calltree::run > leaf)" "$(kv "$T/rdw.stats" fullchain)" 95
check_eq "rdw: meta call_graph" "$(jq_ "$T/rdw.json" 'j["meta"].get("call_graph")')" dwarf

precord cdw --call-graph dwarf,8192 -- "$FX/c_calltree" 400ms
compare cdw
kstats "$T/cdw.stats" "$T/cdw.json" --leaf leaf_a --leaf leaf_b --chain main,run
check_ge "cdw: full-chain % (main > run > leaf)" "$(kv "$T/cdw.stats" fullchain)" 95

# --- kernel symbols from perf's build-id cache ---------------------------------
# perf record copies /proc/kallsyms into $HOME/.debug/[kernel.kallsyms]/ID/:
# kiln reads that copy (the table of when it recorded, and a plain file the
# kernel need not format: a third of a small report's time), so a name
# changed there only shows that it was read.
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ]; then
	precord kern -g -- dd if=/dev/zero of=/dev/null bs=64k count=30000
	ks=$(ls "$HOME"/.debug/"[kernel.kallsyms]"/*/kallsyms 2>/dev/null | head -1)
	if [ -n "$ks" ]; then
		report_json "$T/kern.data" "$T/kern.json"
		top=$(jq_ "$T/kern.json" "([f['name'] for f in j['functions'] if f['module'] == '[kernel.kallsyms]'] or [''])[0]")
		check_ne "kern: a kernel function has samples" "$top" ""
		python3 - "$ks" "$top" <<'EOF2'
import sys
path, name = sys.argv[1], sys.argv[2]
out = []
for line in open(path):
    f = line.rstrip("\n").split(None, 3)
    if len(f) >= 3 and f[2] == name:
        line = line.replace(" " + name, " " + name + "_from_perf_cache", 1)
    out.append(line)
open(path, "w").write("".join(out))
EOF2
		report_json "$T/kern.data" "$T/kern2.json"
		check_eq "kern: kernel frames named from perf's cached kallsyms" \
			"$(jq_ "$T/kern2.json" "int(any(f['name'] == '${top}_from_perf_cache' for f in j['functions']))")" 1
	else
		say "perf cached no kallsyms: the cache is not checked"
	fi
fi

# --- compressed records (perf record -z) ------------------------------------------
precord zfp -z -g -- "$FX/c_calltree_fp" 300ms
compare zfp

# --- a fork and an exec: the parent's and the child program's functions ------
precord fe --call-graph dwarf -- "$FX/c_forkexec" 250ms "$FX/calltree_nofp" 250ms
compare fe
check_eq "fe: the parent and the exec'd child, by name" "$(jq_ "$T/fe.json" '" ".join(sorted(t["name"] for t in j["threads"] if t["samples"]))')" "c_forkexec calltree_nofp"

# --- the other views ---------------------------------------------------------------
krun col collapse "$T/cfp.data"
check_eq "collapse cfp.data: status" "$RC" 0
check_grep "collapse cfp.data: folded chains from main" "$T/col.out" "(^|;)main;run;leaf_b [0-9]+$"
krun flm flame "$T/rdw.data" -o "$T/rdw.svg"
check_eq "flame rdw.data: status" "$RC" 0
check_grep "flame rdw.data: the SVG names the leaf" "$T/rdw.svg" "calltree::leaf_b"
krun ann annotate "$T/cdw.data" leaf_b
check_eq "annotate cdw.data leaf_b: status" "$RC" 0
check_grep "annotate cdw.data: leaf_b's loop lines" "$T/ann.out" "MARK:c_leaf_b"
krun stdin collapse - <"$T/cfp.data"
check_eq "collapse - < cfp.data: status" "$RC" 0
cat "$T/cfp.data" | "$KILN" collapse - >"$T/pipe.out" 2>"$T/pipe.err"
check_eq "collapse of perf.data from a pipe: status" "$?" 1
check_grep "collapse of perf.data from a pipe: message" "$T/pipe.err" "cannot read a perf.data file from a pipe"

# --- a binary rebuilt since: perf's build-id cache ($HOME/.debug) --------------
cp "$FX/c_calltree_fp" "$T/prog"
precord bid -g -- "$T/prog" 300ms
cp "$FX/c_probe" "$T/prog" # another program at the recorded path
report_json "$T/bid.data" "$T/bid.json"
kstats "$T/bid.stats" "$T/bid.json" --leaf leaf_a --leaf leaf_b --chain main,run
check_ge "rebuilt binary: chains named from the build-id cache (full-chain %)" "$(kv "$T/bid.stats" fullchain)" 95
rm -rf "$T/.debug"
report_json "$T/bid.data" "$T/nocache.json"
check_eq "rebuilt binary, no cache: leaf_b not named from the wrong file" \
	"$(jq_ "$T/nocache.json" 'fn("leaf_b") is None')" true

# --- cut and corrupt files ---------------------------------------------------------
size=$(stat -c %s "$T/cfp.data")
head -c $((size / 2)) "$T/cfp.data" >"$T/cut.data"
head -c 60 "$T/cfp.data" >"$T/head.data"
python3 - "$T/cfp.data" "$T/bad.data" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
data_off = struct.unpack_from("<Q", b, 40)[0]
struct.pack_into("<H", b, data_off + 6, 4)  # the first record's size: 4
open(sys.argv[2], "wb").write(b)
EOF
for cmd in report flame collapse; do
	out=()
	[ "$cmd" = flame ] && out=(-o "$T/x.svg")
	krun cut "$cmd" "$T/cut.data" "${out[@]}"
	check_no_crash cut
	check_eq "$cmd of a cut perf.data: status" "$RC" 1
	check_grep "$cmd of a cut perf.data: message" "$T/cut.err" \
		"cannot read '.*cut.data': corrupt perf.data file: the data section ends at [0-9]+, past the end of the file \([0-9]+ bytes\): the file is cut short"
	krun head "$cmd" "$T/head.data" "${out[@]}"
	check_eq "$cmd of a perf.data cut in its header: status" "$RC" 1
	check_grep "$cmd of a perf.data cut in its header: message" "$T/head.err" "the file ends inside its 104-byte header"
	krun bad "$cmd" "$T/bad.data" "${out[@]}"
	check_no_crash bad
	check_eq "$cmd of a corrupt perf.data: status" "$RC" 1
	check_grep "$cmd of a corrupt perf.data: message" "$T/bad.err" "corrupt perf.data file: a record of type [0-9]+ has size 4 \(at byte [0-9]+\)"
done
finish
