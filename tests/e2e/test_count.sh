#!/bin/bash
# test_count.sh - `kiln count` under qemu-user: the exact count of a loop
# of known length (spin: 2n + 1), identical counts in two runs (one
# thread and four), a forked child's own counts, call paths that do not
# drift after longjmp and Rust panics, per-function counts within 0.1% of
# valgrind's callgrind (both read by callgrind_annotate, kiln's through its
# callgrind export) and call counts equal to its own, --compare failing on a planted 3% regression and
# passing on identical builds, report/flame/annotate on the profile, and
# the errors for a missing qemu, a script, a missing command, an exec and
# an instruction QEMU cannot emulate (named); the name cache written
# once and then read, giving the same profile.
source "$(dirname "$0")/lib.sh"
[ -x "$KILN" ] || die "kiln binary '$KILN' not found or not executable (build it first)"
command -v qemu-x86_64 >/dev/null || skip "qemu-x86_64 is not installed (make deps installs qemu-user)"
build_fixtures
cd "$T" || die "cd $T"

# kcount NAME ARGS...: kiln count -q -o $T/NAME.kiln ARGS; status in RC
kcount() {
	local name=$1
	shift
	"$KILN" count -q -o "$T/$name.kiln" "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	[ -s "$T/$name.kiln" ] || {
		sed 's/^/    | /' "$T/$name.err" | tail -10
		die "$name: kiln count wrote no profile (status $RC)"
	}
	"$KILN" report --json --limit 0 "$T/$name.kiln" >"$T/$name.full.json" 2>"$T/$name.full.json.err" || {
		sed 's/^/    | /' "$T/$name.full.json.err" | tail -20
		die "kiln report --json '$T/$name.kiln' failed"
	}
	# the few parts the checks read, so that each query does not parse
	# megabytes of stacks: functions, threads, and for each leaf function
	# the real callers and every frame name of its stacks. This is the one
	# parse of the report (up to 54 MB): it is also report_json's check
	# that the output is JSON.
	python3 - "$T/$name.full.json" "$T/$name.json" 2>"$T/$name.full.json.pyerr" <<'PY' ||
import json, sys
j = json.load(open(sys.argv[1]))
leaves = {}
for s in j["stacks"]:
    fr = s["frames"]
    if not fr:
        continue
    real = [f["name"] for f in fr if not f["inlined"]]
    d = leaves.setdefault(fr[-1]["name"], {"callers": set(), "frames": set(), "value": 0, "thread_entry": 0})
    if len(real) > 1:
        d["callers"].add(real[-2])
    d["frames"].update(f["name"] for f in fr)
    d["value"] += s["value"]
    if any(n.endswith("thread_start") for n in real):
        d["thread_entry"] += s["value"]
out = {k: j[k] for k in ("value", "total", "functions", "threads")}
out["stacks"] = []
out["leaves"] = {k: dict(v, callers=sorted(v["callers"]), frames=sorted(v["frames"])) for k, v in leaves.items()}
json.dump(out, open(sys.argv[2], "w"))
PY
		die "kiln report --json '$T/$name.kiln' is not valid JSON or lacks a part: $(tail -1 "$T/$name.full.json.pyerr")"
}
# fself NAME FUNC / ftotal NAME FUNC: a function's self / total instructions
fself() { jq_ "$T/$1.json" "(fn('$2') or {}).get('self', 0)"; }
ftotal() { jq_ "$T/$1.json" "(fn('$2') or {}).get('total', 0)"; }

# the loop: spin(n) is exactly 2n + 1 instructions
kcount loop "$FX/count_loop" 100000
check_eq "count_loop exit status" "$RC" 0
check_eq "spin(100000) self instructions" "$(fself loop spin)" 200001
check_eq "value type" "$(jq_ "$T/loop.json" "j['value']['type']")" instructions
kcount loop2 "$FX/count_loop" 100000
check_eq "two runs: same total" "$(jq_ "$T/loop2.json" "j['total']")" "$(jq_ "$T/loop.json" "j['total']")"

# four threads: spin's count is the same in every run
kcount thr1 "$FX/count_threads"
kcount thr2 "$FX/count_threads"
T1=$(ftotal thr1 count_threads::spin)
check_ge "threads: spin instructions" "$T1" 9000000
check_eq "threads: two runs give the same spin count" "$(ftotal thr2 count_threads::spin)" "$T1"
# every thread's spin runs under std's thread entry: QEMU 7.2 calls the
# callbacks of a thread's last call or ret again from its atomic
# instructions' helpers, which pushed a frame in the thread's TLS and
# dropped the real ones (the plugin checks the block now)
check_eq "threads: spin's instructions under std's thread_start" \
	"$(jq_ "$T/thr1.json" "j['leaves']['count_threads::spin']['thread_entry'] == j['leaves']['count_threads::spin']['value']")" true
# (not main's: how long pthread_join waits is timing, and so is its code path)

# fork: two processes, each with its own counts (child n/2 + 1000 turns)
kcount fork "$FX/count_loop" 100000 fork
check_eq "fork: processes" "$(jq_ "$T/fork.json" "len(set(t['pid'] for t in j['threads']))")" 2
check_eq "fork: spin over both processes" "$(fself fork spin)" $((200001 + 102001))
check_eq "fork: the child's spin alone" \
	"$(jq_ "$T/fork.json" "sorted(t['value'] for t in j['threads'])[0] >= 102001")" true

# no drift: after 50 longjmps (or caught panics) out of 20-deep recursions,
# the function main calls next sits right under main
for case in "longjmp:count_longjmp:after_jumps:dive" "panic:count_panic:count_panic::after_panics:count_panic::deep"; do
	IFS=: read -r name fx fn dead <<<"$case"
	[ "$name" = panic ] && { fn=count_panic::after_panics; dead=count_panic::deep; }
	kcount "$name" "$FX/$fx"
	check_eq "$name: exit status" "$RC" 0
	check_eq "$name: a $dead frame in the stacks of $fn" \
		"$(jq_ "$T/$name.json" "'$dead' in j['leaves']['$fn']['frames']")" false
	check_eq "$name: $fn's caller is main" "$(jq_ "$T/$name.json" "j['leaves']['$fn']['callers']")" \
		"$([ "$name" = panic ] && echo '["count_panic::main"]' || echo '["main"]')"
done

# the name cache (<build-id>.names beside the debug cache): the first run
# names ld.so's and libc's start-up and writes it, the first after the
# debug files were copied into the cache writes it again (another debug
# file), the next reads it, names nothing anew and writes nothing; the
# profiles are the same (pids, tids and times aside; setarch -R keeps the
# program's own count exact)
NC="env KILN_DEBUG_CACHE=$T/nc-cache KILN_NAME_CACHE_STATS=1"
setarch -R true 2>/dev/null && NC="$NC setarch -R"
for i in 1 2 3; do
	$NC "$KILN" count -q --force -o "$T/nc$i.kiln" -- "$FX/count_loop" 1000 >/dev/null 2>"$T/nc$i.err"
	"$KILN" report --json "$T/nc$i.kiln" >"$T/nc$i.json"
	"$KILN" report --tree --json "$T/nc$i.kiln" >"$T/nc$i.tree.json"
done
check_grep "name cache: the first run writes" "$T/nc1.err" "name cache: 0 results read, [1-9][0-9]* files written"
check_grep "name cache: the third run reads, writes nothing" "$T/nc3.err" "name cache: [1-9][0-9]* results read, 0 files written"
check_ge "name cache: .names files" "$(find "$T/nc-cache" -name '*.names' | wc -l)" 2
same_profile() {
	python3 - "$@" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("file", "start_time", "duration_ns", "pid", "tid", "threads")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
a, b = (strip(json.load(open(f))) for f in sys.argv[1:3])
print("same" if a == b else "different")
PY
}
check_eq "name cache: report --json cold and warm" "$(same_profile "$T/nc1.json" "$T/nc3.json")" same
check_eq "name cache: report --tree --json cold and warm" "$(same_profile "$T/nc1.tree.json" "$T/nc3.tree.json")" same

# report, flame and annotate read the profile
"$KILN" flame --value instructions -o "$T/loop.svg" "$T/loop.kiln" >"$T/flame.out" 2>&1
check_eq "kiln flame --value instructions" "$?" 0
check_grep "flame graph names spin" "$T/loop.svg" "spin"
"$KILN" annotate "$T/loop.kiln" spin >"$T/annotate.out" 2>&1
check_eq "kiln annotate spin" "$?" 0
check_grep "annotate shows spin's source" "$T/annotate.out" "count_loop.c"

# within 0.1% of callgrind, the program's own functions, both sides summed
# per function by callgrind_annotate (kiln's through -o x.callgrind)
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
	# cg_fn FILE FUNC: FUNC's self cost over every file it has lines in
	cg_fn() {
		callgrind_annotate --threshold=100 "$1" 2>/dev/null | python3 -c '
import re, sys
want, tot = sys.argv[1], 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \([\d. %]+\)\s+(\S.*)$", line)
    if not m: continue
    name = re.sub(r"\s*\[.*\]$", "", m.group(2)).split(":", 1)[-1]
    if re.sub(r"\x27\d+$", "", name) == want: tot += int(m.group(1).replace(",", ""))
print(tot)' "$2"
	}
	# cg_calls FILE CALLER CALLEE: the calls= of that caller's call lines
	# to that callee (a recursion level's 'N suffix dropped, names
	# uncompressed)
	cg_calls() {
		python3 - "$@" <<'PY'
import re, sys
path, want_fn, want_cfn = sys.argv[1:]
names, fn, cfn, tot = {}, None, None, 0
for line in open(path):
    m = re.match(r"^(fn|cfn)=(?:\((\d+)\))?\s*(.*?)\s*$", line)
    if m:
        kind, ident, name = m.groups()
        if ident:
            name = names.setdefault(ident, name) if name else names.get(ident, "?")
        name = re.sub(r"'\d+$", "", name)
        if kind == "fn":
            fn = name
        else:
            cfn = name
        continue
    m = re.match(r"^calls=(\d+)", line)
    if m and fn == want_fn and cfn == want_cfn:
        tot += int(m.group(1))
print(tot)
PY
	}
	# each case: command | own functions whose counts are compared |
	# caller>callee edges whose call counts must equal callgrind's
	for case in "count_loop 100000|spin|main>spin" "count_threads|count_threads::spin|" \
		"count_panic|count_panic::after_panics|count_panic::main>count_panic::deep count_panic::main>count_panic::after_panics count_panic::deep>std::panicking::begin_panic::<&str>" \
		"count_rowcol 128|col_major row_major|main>col_major main>row_major" \
		"count_longjmp|after_jumps|main>dive main>after_jumps"; do
		IFS='|' read -r cmd fns edges <<<"$case"
		tag=$(echo "$cmd" | tr ' ' _)
		# shellcheck disable=SC2086
		"$KILN" count -q -o "$T/$tag.callgrind" -- $FX/$cmd >/dev/null 2>"$T/$tag.err" ||
			fail "kiln count -o $tag.callgrind failed: $(tail -1 "$T/$tag.err")"
		# shellcheck disable=SC2086
		valgrind --tool=callgrind --callgrind-out-file="$T/$tag.vg" $FX/$cmd >/dev/null 2>&1
		for fn in $fns; do
			k=$(cg_fn "$T/$tag.callgrind" "$fn")
			v=$(cg_fn "$T/$tag.vg" "$fn")
			check_ge "$cmd: callgrind counts $fn" "$v" 1000
			check_le "$cmd: $fn kiln $k vs callgrind $v, |diff| per mille" \
				"$(python3 -c "print(abs($k - $v) * 1000 / max($v, 1))")" 1
		done
		for edge in $edges; do
			v=$(cg_calls "$T/$tag.vg" "${edge%%>*}" "${edge#*>}")
			check_ge "$cmd: callgrind's calls $edge" "$v" 1
			check_eq "$cmd: calls $edge equal to callgrind's" \
				"$(cg_calls "$T/$tag.callgrind" "${edge%%>*}" "${edge#*>}")" "$v"
		done
	done
	# the known numbers: main calls dive 50 times (each dives 20 deeper)
	check_eq "count_longjmp: main calls dive 50 times" "$(cg_calls "$T/count_longjmp.callgrind" main dive)" 50
	"$KILN" count -n 40 -o "$T/longjmp_summary.kiln" -- "$FX/count_longjmp" >/dev/null 2>"$T/summary.err"
	check_grep "the summary says dive was called 1050 times" "$T/summary.err" "^ +[0-9]+ +[0-9]+ +1050  dive$"
	"$KILN" export --format callgrind -o "$T/longjmp.export.callgrind" "$T/longjmp.kiln" 2>"$T/export.err" ||
		fail "kiln export --format callgrind failed: $(tail -1 "$T/export.err")"
	check_eq "kiln export --format callgrind of the profile: main calls dive 50 times" \
		"$(cg_calls "$T/longjmp.export.callgrind" main dive)" 50
	report_json "$T/longjmp.kiln" "$T/longjmp.calls.json" --value calls
	check_eq "count_longjmp: dive called 50 + 50 * 20 times (kiln report --value calls)" \
		"$(jq_ "$T/longjmp.calls.json" "fn('dive')['self']")" 1050
	check_grep "callgrind_annotate reads kiln's export (top function)" \
		<(callgrind_annotate "$T/count_loop_100000.callgrind" 2>&1 | sed -n '/file:function/,$p' | sed -n 3p) "spin"
else
	say "valgrind is not installed: the callgrind comparison is skipped"
fi

# --compare: a planted 3% regression in spin fails the gate, identical
# builds pass it
kcount base "$FX/count_loop" 2000000
kcount slow "$FX/count_loop" 2060000
cp "$FX/count_loop" "$T/count_loop_copy"
kcount same "$T/count_loop_copy" 2000000
"$KILN" count --compare "$T/base.kiln" "$T/slow.kiln" --fail-above 2 >"$T/cmp1.out" 2>"$T/cmp1.err"
check_eq "--compare --fail-above 2 on a 3% regression: status" "$?" 1
check_grep "--compare names spin's change" "$T/cmp1.out" "\+3\.00%.*spin"
check_grep "--compare says what grew" "$T/cmp1.err" "grew by 2\.[0-9]+%"
"$KILN" count --compare "$T/base.kiln" "$T/slow.kiln" --fail-above 2 --function spin >"$T/cmp2.out" 2>&1
check_eq "--compare --function spin --fail-above 2: status" "$?" 1
"$KILN" count --compare "$T/base.kiln" "$T/same.kiln" --fail-above 0.1 >"$T/cmp3.out" 2>&1
check_eq "--compare of identical builds --fail-above 0.1: status" "$?" 0
check_no_grep "identical builds: spin unchanged" "$T/cmp3.out" "spin"

# the feed kiln symbolizes from while the program runs: the plugin writes
# each new block to the FIFO of feed= as a "t" line of file offsets (the
# program's and the dynamic loader's blocks among them); a FIFO nobody
# reads neither blocks the run nor stops it
mkfifo "$T/feed.fifo"
mkdir -p "$T/feed1" "$T/feed2"
python3 - "$(dirname "$KILN")/libkiln-qemu.so" "$T" "$FX/count_loop" >"$T/feed.txt" 2>"$T/feed.err" <<'PY'
import fcntl, os, subprocess, sys
plugin, t, prog = sys.argv[1:]
fd = os.open(t + "/feed.fifo", os.O_RDWR | os.O_NONBLOCK)
fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: room for every line
rc = subprocess.run(["qemu-x86_64", "-plugin", f"{plugin},dir={t}/feed1,feed={t}/feed.fifo", prog, "1000"],
                    stdout=subprocess.DEVNULL).returncode
data = b""
while True:
    try:
        data += os.read(fd, 1 << 16)
    except BlockingIOError:
        break
os.close(fd)
# no reader now: opening the FIFO to write fails, and the plugin goes on
rc2 = subprocess.run(["qemu-x86_64", "-plugin", f"{plugin},dir={t}/feed2,feed={t}/feed.fifo", prog, "1000"],
                     stdout=subprocess.DEVNULL, timeout=120).returncode
sys.stderr.write(f"rc {rc} {rc2}\n")
sys.stdout.write(data.decode())
PY
check_grep "feed: both runs exit 0" "$T/feed.err" "^rc 0 0$"
check_grep "feed: a block of the program" "$T/feed.txt" "^t [0-9a-f]+ [0-9]+( [0-9]+)+ $FX/count_loop\$"
check_grep "feed: a block of the dynamic loader" "$T/feed.txt" "^t [0-9a-f]+ [0-9]+( [0-9]+)+ /.*/ld-linux-x86-64\.so\.2\$"
check_eq "feed: every line is a whole t line" "$(grep -cvE '^t [0-9a-f]+ [0-9]+( [0-9]+)+ /' "$T/feed.txt")" 0
check_grep "feed: the run without a reader still wrote its counts" <(ls "$T/feed2") "\.qc$"

# errors
KILN_QEMU=/nonexistent/qemu-x86_64 "$KILN" count -q -o "$T/e1.kiln" -- "$FX/count_loop" >"$T/e1.out" 2>"$T/e1.err"
check_eq "no qemu: status" "$?" 1
check_grep "no qemu: says make deps" "$T/e1.err" "make deps.*apt install qemu-user"
printf '#!/bin/sh\ntrue\n' >"$T/script.sh"
chmod +x "$T/script.sh"
"$KILN" count -q -o "$T/e2.kiln" -- "$T/script.sh" >"$T/e2.out" 2>"$T/e2.err"
check_eq "a script: status" "$?" 126
check_grep "a script: names the interpreter fix" "$T/e2.err" "is a script.*kiln count -- sh"
"$KILN" count -q -o "$T/e3.kiln" -- no-such-command-kiln >"$T/e3.out" 2>"$T/e3.err"
check_eq "no such command: status" "$?" 127
"$KILN" count -o "$T/e4.kiln" -- /bin/sh -c '/bin/true; exit 3' >"$T/e4.out" 2>"$T/e4.err"
check_eq "exec in a child: the command's status passes through" "$?" 3
check_grep "exec: says it ran outside qemu" "$T/e4.err" "exec'ed '/bin/true'.*outside qemu"
"$KILN" count -q -o "$T/e5.kiln" -- "$FX/count_avx512" >"$T/e5.out" 2>"$T/e5.err"
check_eq "an AVX-512 program: status (SIGILL)" "$?" 132
check_grep "an AVX-512 program: names the instruction and where" "$T/e5.err" \
	"illegal instruction under qemu-x86_64: 'vpaddd [^']*zmm[^']*' at 0x[0-9a-f]+ in main \(count_avx512.c:[0-9]+\)"

finish
