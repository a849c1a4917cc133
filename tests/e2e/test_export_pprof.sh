#!/bin/bash
# test_export_pprof.sh - kiln export (issue 15, exports): a recorded
# profile as pprof read by go tool pprof, the reference reader, with the
# hot function at the share kiln report gives and the call chain down from
# main; the pprof read back by kiln report and kiln flame (round trip); a
# pprof written by Go's runtime/pprof opens in kiln report; cut and
# corrupt pprof files give a clear error; folded export; the output rules
# (default name, -o -, never replacing a file that is not an export).
source "$(dirname "$0")/lib.sh"
setup
command -v go >/dev/null 2>&1 || skip "go is not installed (make deps installs golang-go: go tool pprof)"
cd "$T" || die "cd $T"
# go keeps its caches and pprof its files in the test's directory
export HOME=$T/home GOCACHE=$T/gocache PPROF_TMPDIR=$T/pprof GO111MODULE=off GOFLAGS=-mod=mod
mkdir -p "$HOME" "$PPROF_TMPDIR"

# c_calltree: main -> run -> {leaf_a, leaf_b}, leaf_b twice leaf_a
"$KILN" record -q -F 499 -o c.kiln -- "$FX/c_calltree" 600ms || die "record failed"
krun export export --format pprof c.kiln
check_eq "export status" "$RC" 0
[ -s c.pb.gz ] && ok "default output c.pb.gz beside the input" || fail "no c.pb.gz"
check_eq "gzip magic" "$(head -c 2 c.pb.gz | od -An -tx1 | tr -d ' ')" "1f8b"

# self share of a function in kiln report's table / go tool pprof -top
kiln_self() { awk -v f="$2" '$4 == f { sub("%", "", $1); print $1; exit }' "$1"; }
go_flat() { awk -v f="$2" '$6 == f { sub("%", "", $2); print $2; exit }' "$1"; }

"$KILN" report c.kiln >report.txt 2>/dev/null
go tool pprof -top -symbolize=none c.pb.gz >gotop.txt 2>gotop.err
check_eq "go tool pprof -top status" "$?" 0
check_grep "go tool pprof reads the value type" gotop.txt '^Type: cpu$'
kb=$(kiln_self report.txt leaf_b)
gb=$(go_flat gotop.txt leaf_b)
ga=$(go_flat gotop.txt leaf_a)
check_ge "kiln report: leaf_b's self share" "$kb" 40
ka=$(kiln_self report.txt leaf_a)
near() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.2f", v + d }'; }
check_between "go tool pprof: leaf_b's flat share (kiln: $kb%)" "$gb" "$(near "$kb" -0.2)" "$(near "$kb" 0.2)"
check_between "go tool pprof: leaf_a's flat share (kiln: $ka%)" "$ga" "$(near "$ka" -0.2)" "$(near "$ka" 0.2)"
check_eq "go tool pprof: the hottest function" "$(awk '$6 != "" && $1 ~ /s$/ { print $6; exit }' gotop.txt)" leaf_b

# -traces: leaf_b called by run, called by main; thread labels
go tool pprof -traces -symbolize=none c.pb.gz >traces.txt 2>/dev/null
chain=$(awk '/-----/ { n = 0; next } NF && $1 !~ /:$/ { f = $NF; n++; if (n <= 3) s[n] = f; if (n == 3 && s[1] == "leaf_b") { print s[1] " " s[2] " " s[3]; exit } }' traces.txt)
check_eq "go tool pprof -traces: the chain down from main" "$chain" "leaf_b run main"
check_grep "go tool pprof -traces: the thread label" traces.txt '^ +thread: +c_calltree$'
check_grep "go tool pprof -traces: the thread_id label" traces.txt '^ +thread_id: +[0-9]+$'

# inlined frames: one location, its lines innermost first, which pprof
# marks "(inline)" above the function they were inlined into
"$KILN" record -q -F 499 -o inl.kiln -- "$FX/inlined_nofp" 300ms || die "record of inlined_nofp failed"
"$KILN" export --format pprof inl.kiln 2>/dev/null
go tool pprof -traces -symbolize=none inl.pb.gz >inl_traces.txt 2>/dev/null
check_grep "go tool pprof: the inlined helper, marked inline" inl_traces.txt '^ +[0-9.]+[mun]?s +inlined::helper \(inline\)$'
check_eq "go tool pprof: the helper inside inlined::outer" \
	"$(awk '/inlined::helper \(inline\)$/ { getline; print $1; exit }' inl_traces.txt)" "inlined::outer"

# round trip: kiln report and kiln flame on the exported pprof
krun rt report c.pb.gz
check_eq "kiln report c.pb.gz: status" "$RC" 0
check_eq "round trip: the same top two functions" "$(awk '$4 ~ /^leaf_/ { printf "%s ", $4 }' "$T/rt.out")" \
	"$(awk '$4 ~ /^leaf_/ { printf "%s ", $4 }' report.txt)"
check_eq "round trip: leaf_b's share" "$(kiln_self "$T/rt.out" leaf_b)" "$kb"
check_eq "round trip: leaf_a's share" "$(kiln_self "$T/rt.out" leaf_a)" "$ka"
check_grep "round trip: source lines kept" "$T/rt.out" 'leaf_b +.*c_calltree\.c:[0-9]+'
krun rtflame flame c.pb.gz -o rt.svg
check_eq "kiln flame c.pb.gz: status" "$RC" 0
check_grep "kiln flame on the pprof draws leaf_b" rt.svg '<title>leaf_b:'
"$KILN" flame --value samples c.kiln --folded 2>/dev/null | sort >orig.folded
"$KILN" flame --value samples c.pb.gz --folded 2>/dev/null | sort >rt.folded
cmp -s orig.folded rt.folded && ok "round trip: the same folded stacks (samples)" ||
	fail "round trip: folded stacks differ: $(diff orig.folded rt.folded | head -5)"

# a pprof that Go's runtime/pprof writes: a CPU profile and a heap profile
cat >burn.go <<'EOF'
package main

import (
	"os"
	"runtime/pprof"
)

//go:noinline
func burnCPU(n int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var sink []byte

func main() {
	f, _ := os.Create(os.Args[1])
	pprof.StartCPUProfile(f)
	burnCPU(300000000)
	pprof.StopCPUProfile()
	f.Close()
	sink = make([]byte, 4<<20)
	h, _ := os.Create(os.Args[2])
	pprof.WriteHeapProfile(h)
	h.Close()
}
EOF
go build -o burn burn.go >gobuild.log 2>&1 || die "go build failed: $(cat gobuild.log)"
./burn go_cpu.pprof go_heap.pprof || die "the Go program failed"
krun gocpu report go_cpu.pprof
check_eq "kiln report on Go's CPU profile: status" "$RC" 0
check_grep "kiln report on Go's CPU profile: main.burnCPU" "$T/gocpu.out" '^ +[0-9.]+% +[0-9.]+% +[0-9]+ +main\.burnCPU '
check_grep "kiln report on Go's CPU profile: its value" "$T/gocpu.out" '^value +cpu \(nanoseconds\)'
krun goheap report go_heap.pprof
check_eq "kiln report on Go's heap profile: status" "$RC" 0
check_grep "kiln report on Go's heap profile: pprof's default value" "$T/goheap.out" '^value +inuse_space \(bytes\)'
krun goflame flame go_cpu.pprof -o go.svg
check_grep "kiln flame on Go's CPU profile draws main.burnCPU" go.svg '<title>main\.burnCPU:'

# cut and corrupt files: a clear error and status 1, never a crash
size=$(stat -c %s c.pb.gz)
head -c $((size / 2)) c.pb.gz >cut.pb.gz
krun cut report cut.pb.gz
check_eq "cut pprof: status" "$RC" 1
check_grep "cut pprof: says so" "$T/cut.err" "^kiln: 'cut.pb.gz' is not a pprof profile: its gzip data is cut short$"
krun limited flame --max-input-bytes 1000 c.pb.gz -o limited.svg
check_eq "pprof past --max-input-bytes: status" "$RC" 1
check_grep "pprof past --max-input-bytes: says so" "$T/limited.err" "^kiln: cannot read pprof profile 'c.pb.gz': .*1000 bytes \(--max-input-bytes\); raise the limit or drop it$"
gzip -dc c.pb.gz >raw.pb
krun raw report raw.pb
check_eq "raw (uncompressed) pprof: status" "$RC" 0
head -c $(($(stat -c %s raw.pb) - 7)) raw.pb >rawcut.pb
krun rawcut report rawcut.pb
check_eq "cut raw pprof: status" "$RC" 1
check_grep "cut raw pprof: says where" "$T/rawcut.err" "^kiln: 'rawcut.pb' is not a pprof profile: .*cut short or corrupt at byte [0-9]+$"
python3 -c "import sys; d = bytearray(open('c.pb.gz', 'rb').read()); d[len(d) // 2] ^= 0xff; d[len(d) // 2 + 1] ^= 0x55; open('bad.pb.gz', 'wb').write(d)"
krun corrupt flame bad.pb.gz -o bad.svg
check_eq "corrupt pprof: status" "$RC" 1
check_grep "corrupt pprof: says so" "$T/corrupt.err" "^kiln: 'bad.pb.gz' is not a pprof profile: "
[ ! -e bad.svg ] && ok "corrupt pprof: no graph written" || fail "corrupt pprof: bad.svg written"
printf 'not a profile\n' | gzip >text.pb.gz
krun text report text.pb.gz
check_eq "gzip of text: status" "$RC" 1
check_grep "gzip of text: says so" "$T/text.err" "^kiln: 'text.pb.gz' is not a pprof profile: "

# folded export: what kiln flame --folded writes
krun folded export --format folded c.kiln
check_eq "export --format folded: status" "$RC" 0
"$KILN" flame c.kiln --folded >flame.folded 2>/dev/null
cmp -s c.folded flame.folded && ok "folded export = kiln flame --folded" || fail "c.folded differs from flame --folded"

# output rules
krun stdout export --format pprof -o - c.kiln
gzip -t "$T/stdout.out" 2>/dev/null && ok "-o - writes the gzip to stdout" || fail "-o - gave no gzip"
krun unknown export --format svg c.kiln
check_eq "unknown format: status" "$RC" 2
check_grep "unknown format: names the formats" "$T/unknown.err" "^kiln: 'svg' is not an export format; use pprof, folded, speedscope, chrome or callgrind$"
echo "my notes" >notes.pb.gz
krun noforce export --format pprof -o notes.pb.gz c.kiln
check_eq "a file that is not an export: status" "$RC" 1
check_eq "a file that is not an export: kept" "$(cat notes.pb.gz)" "my notes"
check_grep "a file that is not an export: says --force" "$T/noforce.err" "use --force"
krun force export --format pprof -f -o notes.pb.gz c.kiln
check_eq "--force replaces it" "$(head -c 2 notes.pb.gz | od -An -tx1 | tr -d ' ')" "1f8b"
printf 'int x = 5\nint main(void) { return x; }\n' >code.folded
krun code export --format folded -o code.folded c.kiln
check_eq "a text file that is not folded stacks: status" "$RC" 1
check_grep "a text file that is not folded stacks: kept" code.folded '^int main'
krun refolded export --format folded -o c.folded c.kiln
check_eq "an earlier folded export is replaced: status" "$RC" 0
krun again export --format pprof c.kiln
check_eq "an earlier export is replaced: status" "$RC" 0
krun noinput export --format pprof missing.kiln
check_eq "missing input: status" "$RC" 1
check_grep "missing input: says so" "$T/noinput.err" "^kiln: cannot open 'missing.kiln'"
finish
