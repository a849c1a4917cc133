#!/bin/bash
# test_serve.sh - `kiln serve` with the real consumers and bad clients:
# go tool pprof reads /debug/pprof/profile and names the fixture's hot
# function, a real Prometheus scrapes /metrics and returns the fixture's
# sample counter through its query API; malformed, huge, slow and unknown
# requests and a flood of clients leave the server serving; the profiled
# process's child and exec are followed, and it exits mid-window; after kill -9 the closed segments open in
# kiln report; a restart over the same directory keeps it in its budget; a
# small --max-memory drops samples (counted) and the server still answers;
# ?pid= of a process not named with -p is refused, and served with --all
# (in a PID namespace of its own).
#
# Every wait is a bounded loop over a condition (a port open, a counter
# grown, a file present), never a sleep for a guessed time. -F 99 rather
# than the default 19 Hz: enough samples in a 2 s profile on a busy machine.
source "$(dirname "$0")/lib.sh"
setup

SC="python3 $E2E_DIR/serve_client.py"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

# poll_until TRIES CMD...: runs CMD every 0.1 s until it succeeds, at most TRIES times
poll_until() {
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
metric() { $SC metric "$PORT" "$1" "$HOT"; }
metric_gt() { local v; v=$(metric "$1"); [ -n "$v" ] && _cmp ">" "$v" "$2"; }
gmetric_gt() { local v; v=$($SC metric "$PORT" "$1" ""); [ -n "$v" ] && _cmp ">" "$v" "$2"; }

# The profiled process starts a child (c_hot_beta, 800 ms of CPU) once
# kiln has attached, then execs c_hot_alpha: a child and an exec inside
# the window, both followed.
mkfifo "$T/go"
sh -c 'read x <"$0"; "$1" 800 >/dev/null; exec "$2" 120000 >/dev/null' "$T/go" "$FX/c_hot_beta" "$FX/c_hot_alpha" &
HOT=$!
PIDS+=($HOT)

PORT=$($SC free_port)
"$KILN" serve --listen 127.0.0.1:$PORT -p $HOT -F 99 --dir "$T/segs" --segment 2s --window 30s \
	>"$T/serve.out" 2>"$T/serve.err" &
KPID=$!
PIDS+=($KPID)
$SC wait_port $PORT 300 || {
	cat "$T/serve.err"
	die "kiln serve did not open port $PORT"
}
ok "kiln serve listens on 127.0.0.1:$PORT"
# a real Prometheus scrapes kiln serve every second (checked below): started
# now, so that its own start overlaps the steps up to its check
PPORT=""
if command -v prometheus >/dev/null; then
	PPORT=$($SC free_port)
	cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: kiln
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address=127.0.0.1:$PPORT >"$T/prometheus.log" 2>&1 &
	PIDS+=($!)
fi
echo go >"$T/go"
poll_until 300 metric_gt kiln_serve_samples_total 0 ||
	fail "kiln_serve_samples_total{pid=\"$HOT\"} stayed at '$(metric kiln_serve_samples_total)'"
ok "the sample counter of pid $HOT grew: $(metric kiln_serve_samples_total)"
check_eq "kiln_serve_process_up" "$(metric kiln_serve_process_up)" 1
$SC get $PORT /metrics "$T/metrics.txt" >/dev/null
for fam in kiln_serve_cpu_seconds_total kiln_serve_lost_samples_total kiln_serve_unwind_errors_total \
	kiln_serve_dropped_samples_total kiln_serve_segments kiln_serve_segment_bytes process_cpu_seconds_total \
	process_resident_memory_bytes; do
	check_grep "/metrics has HELP and TYPE of $fam" "$T/metrics.txt" "^# TYPE $fam (counter|gauge)$"
done

wait_exec $HOT "$FX/c_hot_alpha" || die "the profiled process ended before it exec'd c_hot_alpha"
ok "the profiled process exec'd c_hot_alpha"
# the comm label follows the exec (it was the shell's, sh, at attach)
comm_is_alpha() { $SC get $PORT /metrics "$T/metrics_exec.txt" >/dev/null && grep -q "^kiln_serve_samples_total{pid=\"$HOT\",comm=\"c_hot_alpha\"}" "$T/metrics_exec.txt"; }
if poll_until 300 comm_is_alpha; then ok "the comm label names the exec'd program"; else
	fail "the comm label of pid $HOT never became c_hot_alpha: $(grep "^kiln_serve_samples_total" "$T/metrics_exec.txt")"
fi

# go tool pprof, the reference reader and HTTP client, over the network
if command -v go >/dev/null; then
	mkdir -p "$T/gohome"
	HOME=$T/gohome GOCACHE=$T/gohome/cache PPROF_TMPDIR=$T/gohome GOFLAGS=-mod=mod \
		go tool pprof -top "http://127.0.0.1:$PORT/debug/pprof/profile?seconds=2" >"$T/pprof.txt" 2>"$T/pprof.err"
	check_eq "go tool pprof exit status" "$?" 0
	check_grep "go tool pprof -top lists the hot function" "$T/pprof.txt" "alpha_work"
	check_grep "the profile is of CPU" "$T/pprof.txt" "^Type: cpu"
	check_grep "go tool pprof saved the profile it fetched" "$T/pprof.err" "Saved profile in"
else
	say "SKIPPED part: go tool pprof (golang-go) is not installed"
fi

# the Prometheus started above returns the sample counter it scraped
if [ -n "$PPORT" ]; then
	$SC wait_port $PPORT 600 || die "prometheus did not open port $PPORT"
	q="/api/v1/query?query=kiln_serve_samples_total%7Bpid%3D%22$HOT%22%7D"
	prom_value() {
		$SC get $PPORT "$q" "$T/prom.json" >/dev/null &&
			python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1]) > 0 else 1)' "$T/prom.json" 2>/dev/null
	}
	if poll_until 600 prom_value; then
		ok "Prometheus returns kiln_serve_samples_total{pid=\"$HOT\"}: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["result"][0]["value"][1])' "$T/prom.json")"
	else
		fail "Prometheus never returned kiln's sample counter for pid $HOT: $(cat "$T/prom.json" 2>/dev/null)"
		tail -5 "$T/prometheus.log"
	fi
else
	say "SKIPPED part: prometheus is not installed"
fi

# bad clients: each gets its answer and the server goes on serving
check_eq "malformed request" "$($SC malformed $PORT)" 400
check_eq "1 MiB header" "$($SC huge $PORT)" 431
check_eq "unknown path" "$($SC get $PORT /no/such/page)" 404
check_eq "bad seconds" "$($SC get $PORT '/debug/pprof/profile?seconds=abc')" 400
check_eq "a slow client holds up no one" "$($SC slow_then_fast $PORT)" "fast 200 slow waiting"
flood=$($SC flood $PORT 150)
say "flood of 150 clients: $flood"
check_eq "every flooding client got 200 or 503" "$(echo "$flood" | tr ' ' '\n' | grep -Ev '^(200|503)=' | tr '\n' ' ')" ""
check_eq "still serving after the flood" "$($SC get $PORT /)" 200
$SC get $PORT /flame.svg "$T/flame.svg" >/dev/null
check_grep "the front page's flame graph has the hot function" "$T/flame.svg" "alpha_work"
$SC get $PORT "/flame.svg?pid=$HOT" "$T/flame_pid.svg" >/dev/null
check_grep "?pid= of the profiled process keeps its samples" "$T/flame_pid.svg" "alpha_work"
# the profile of a process not named with -p is not served (--all below)
check_eq "?pid= of a process not named with -p is refused" "$($SC get $PORT "/flame.svg?pid=1" "$T/flame_other.txt")" 403
check_grep "... saying why" "$T/flame_other.txt" "^process 1 was not named with -p \(nor started by one that was\); kiln serve serves any process only with --all$"
check_eq "... as is a profile that names it beside a named one" \
	"$($SC get $PORT "/debug/pprof/profile?seconds=1&pid=$HOT,1")" 403
check_eq "a bad pid=" "$($SC get $PORT '/debug/pprof/profile?pid=12x')" 400
"$KILN" serve -p "$HOT,x" >/dev/null 2>"$T/badp.err"
check_eq "a bad -p: usage status" "$?" 2
check_grep "... saying what -p takes" "$T/badp.err" "^kiln: -p takes process ids, like -p 1234 or -p 1234,5678 .*; got '$HOT,x'$"

# the profiled process exits in the middle of a profile's window
before=$(metric kiln_serve_samples_total)
$SC get $PORT '/debug/pprof/profile?seconds=4' "$T/exit.pb.gz" >"$T/exit.status" &
getter=$!
# the request is in the server (its window started) before samples are counted
poll_until 300 gmetric_gt kiln_serve_http_waiting 0 || fail "the profile request never reached the server"
before=$(metric kiln_serve_samples_total)
poll_until 300 metric_gt kiln_serve_samples_total $((before + 5)) || fail "no samples after the request"
kill -9 $HOT
wait $HOT 2>/dev/null
wait $getter
check_eq "profile across the exit: status" "$(cat "$T/exit.status")" 200
if command -v go >/dev/null; then
	HOME=$T/gohome GOCACHE=$T/gohome/cache PPROF_TMPDIR=$T/gohome go tool pprof -top "$T/exit.pb.gz" >"$T/exit.txt" 2>&1
	check_grep "profile across the exit lists the hot function" "$T/exit.txt" "alpha_work"
fi
# a function, so that each try asks again (an argument would be expanded once)
process_down() { [ "$(metric kiln_serve_process_up)" = 0 ]; }
poll_until 300 process_down || fail "kiln_serve_process_up stayed '$(metric kiln_serve_process_up)'"
check_eq "kiln serve survived its process" "$($SC get $PORT /metrics)" 200

# kill -9: every closed segment opens in kiln report, and the open one as cut short
kill -9 $KPID
wait $KPID 2>/dev/null
nseg=0
nsamples=0
# the oldest few, closed, and the newest, open when kiln died
for f in $(ls "$T"/segs/kiln-serve-*.kiln | head -4) $(ls "$T"/segs/kiln-serve-*.kiln | tail -1); do
	"$KILN" report --json --limit 0 "$f" >"$T/seg.json" 2>"$T/seg.err" || fail "kiln report '$f' failed: $(tail -1 "$T/seg.err")"
	nseg=$((nseg + 1))
	nsamples=$((nsamples + $(jq_ "$T/seg.json" 'j["samples"]')))
done
check_ge "segments after kill -9" "$(ls "$T"/segs/kiln-serve-*.kiln | wc -l)" 3
check_eq "segments kiln report opened" "$nseg" 5
check_ge "samples in them" "$nsamples" 10
# the child ran first, the exec'd program until the end: look for each
# from its side (how many segments each spans depends on the machine's load)
find_in_segments() {
	local name=$1 f
	shift
	for f in "$@"; do
		"$KILN" report "$f" >"$T/seg1.txt" 2>&1
		grep -q "$name" "$T/seg1.txt" && return 0
	done
	return 1
}
closed=$(ls "$T"/segs/kiln-serve-*.kiln | head -n -1)
if find_in_segments beta_work $closed; then ok "a closed segment names the child's hot function"; else
	fail "no closed segment names beta_work"
fi
check_no_grep "... and is whole" "$T/seg1.txt" "cut short"
if find_in_segments alpha_work $(echo "$closed" | tac); then ok "... and one names the exec'd program's"; else
	fail "no closed segment names alpha_work"
fi

# restart over the same directory with a small disk budget: the oldest go
sleep 1000 &
IDLE=$!
PIDS+=($IDLE)
before_bytes=$(du -cb "$T"/segs/kiln-serve-*.kiln | tail -1 | cut -f1)
# KILN_TEST_SERVE_CLOSE_GATE holds the first segment's close (symbols,
# end chunk, fsync, on the closer thread) until a line is written to it:
# the server must answer while that close is under way
mkfifo "$T/gate"
KILN_TEST_SERVE_CLOSE_GATE=$T/gate "$KILN" serve --listen 127.0.0.1:$PORT -p $IDLE --dir "$T/segs" --segment 0.2s \
	--max-disk 4K >"$T/serve2.out" 2>"$T/serve2.err" &
KPID=$!
PIDS+=($KPID)
$SC wait_port $PORT 300 || die "kiln serve did not restart on port $PORT"
closing() { $SC get $PORT /metrics "$T/mc.txt" >/dev/null && grep -Eq "^kiln_serve_segments_closing $1" "$T/mc.txt"; }
if poll_until 300 closing '[1-9]'; then
	check_eq "/ while a segment's close is held" "$($SC get $PORT /)" 200
	check_eq "/flame.svg while a segment's close is held" "$($SC get $PORT /flame.svg)" 200
	closing '[1-9]' && ok "/metrics answered while the close is held: $(grep '^kiln_serve_segments_closing' "$T/mc.txt")" ||
		fail "the held close ended by itself: $(grep '^kiln_serve_segments_closing' "$T/mc.txt")"
	timeout 60 sh -c 'echo go >"$0"' "$T/gate" || fail "the closer never opened the gate"
	poll_until 300 closing 0 || fail "segments still closing after the gate opened: $(grep '^kiln_serve_segments_closing' "$T/mc.txt")"
	ok "the held segments closed once the gate opened"
else
	fail "no segment closing seen in /metrics: $(grep kiln_serve_segments_closing "$T/mc.txt")"
fi
removed() { $SC get $PORT /metrics "$T/m2.txt" >/dev/null && grep -Eq '^kiln_serve_segments_removed_total [1-9]' "$T/m2.txt"; }
poll_until 300 removed || fail "no segment removed for the budget (had $before_bytes bytes)"
after_bytes=$(grep '^kiln_serve_segment_bytes ' "$T/m2.txt" | cut -d' ' -f2)
# each segment's metadata (its number, start, duration) names new strings;
# the compaction at each segment start drops what nothing names any more
strings_dropped() {
	$SC get $PORT /metrics "$T/m3.txt" >/dev/null && grep -Eq '^kiln_serve_table_dropped_total\{table="strings"\} [1-9]' "$T/m3.txt"
}
poll_until 300 strings_dropped || fail "no strings dropped at segment starts: $(grep kiln_serve_table "$T/m3.txt")"
ok "the profile's tables are compacted at each segment: $(grep -E '^kiln_serve_table_dropped_total\{table="strings"' "$T/m3.txt")"
check_grep "/metrics has the table sizes" "$T/m3.txt" '^kiln_serve_table_entries\{table="locations"\} [0-9]'
check_le "strings held after many segments" "$(grep -E '^kiln_serve_table_entries\{table="strings"' "$T/m3.txt" | cut -d' ' -f2)" 2000
check_le "bytes on disk after the restart" "$after_bytes" 8192
kill -TERM $KPID
wait $KPID
check_eq "kiln serve exit status after SIGTERM" "$?" 0

# --max-memory bounds everything serve holds, its recorder's rings too: a
# budget below what it needs before its first sample drops every sample
# (counted, reason memory) and the server goes on answering
"$FX/c_hot_alpha" 120000 >/dev/null &
HOT=$!
PIDS+=($HOT)
"$KILN" serve --listen 127.0.0.1:$PORT -p $HOT -F 99 --dir "$T/segs3" --max-memory 64K \
	>"$T/serve3.out" 2>"$T/serve3.err" &
KPID=$!
PIDS+=($KPID)
$SC wait_port $PORT 300 || die "kiln serve --max-memory 64K did not open port $PORT"
mem_dropped() { local v; v=$($SC metric "$PORT" kiln_serve_dropped_samples_total "$HOT\",comm=\"c_hot_alpha\",reason=\"memory"); [ -n "$v" ] && _cmp ">" "$v" 0; }
poll_until 300 mem_dropped || fail "no samples dropped for memory: $($SC get $PORT /metrics "$T/m4.txt"; grep -E 'dropped|memory' "$T/m4.txt")"
$SC get $PORT /metrics "$T/m4.txt" >/dev/null
ok "a small --max-memory drops samples: $(grep -E '^kiln_serve_dropped_samples_total.*reason="memory"' "$T/m4.txt")"
check_eq "samples kept within 64K" "$(metric kiln_serve_samples_total)" 0
check_grep "/metrics shows the budget" "$T/m4.txt" '^kiln_serve_memory_budget_bytes 65536$'
check_grep "/metrics shows the bytes counted" "$T/m4.txt" '^kiln_serve_memory_bytes [1-9][0-9]{5,}$'
check_eq "/ with the budget spent" "$($SC get $PORT /)" 200
check_eq "/flame.svg with the budget spent" "$($SC get $PORT /flame.svg)" 200
check_grep "kiln says the budget is too small" "$T/serve3.err" "max-memory 65536 is less than"
kill -TERM $KPID
wait $KPID
check_eq "kiln serve --max-memory 64K exit status after SIGTERM" "$?" 0

# --all, in a PID namespace of its own with a /proc of its own (on the whole
# machine it would attach to every process there is): the fixture runs
# there, named by no -p, and shows in /metrics and, asked for by ?pid=, in
# /debug/pprof/profile. kiln is the namespace's first process: when it
# dies (unshare --kill-child) the fixture goes with it.
UNS="--pid --fork --mount-proc --kill-child"
[ "$(id -u)" = 0 ] || UNS="--user --map-root-user $UNS"
if unshare $UNS true 2>/dev/null; then
	APORT=$($SC free_port)
	unshare $UNS sh -c '"$1" 120000 >/dev/null & echo $! >"$2.tmp" && mv "$2.tmp" "$2"
		exec "$3" serve --all --listen 127.0.0.1:$4 -F 99 --dir "$5" --segment 10s' \
		sh "$FX/c_hot_alpha" "$T/all.pid" "$KILN" "$APORT" "$T/allsegs" >"$T/all.out" 2>"$T/all.err" &
	APID=$!
	PIDS+=($APID)
	$SC wait_port $APORT 300 || die "kiln serve --all did not open port $APORT: $(tail -3 "$T/all.err")"
	NSPID=$(cat "$T/all.pid")
	allmetric_gt() { local v; v=$($SC metric "$APORT" kiln_serve_samples_total "$NSPID"); [ -n "$v" ] && _cmp ">" "$v" 0; }
	if poll_until 300 allmetric_gt; then
		ok "--all: the fixture (pid $NSPID in the namespace) has samples in /metrics"
	else
		fail "--all: no kiln_serve_samples_total{pid=\"$NSPID\"} in /metrics"
	fi
	check_eq "--all: ?pid= of a process not named is served" \
		"$($SC get $APORT "/debug/pprof/profile?seconds=1&pid=$NSPID" "$T/all.pb.gz")" 200
	if python3 -c 'import gzip,sys; sys.exit(0 if b"alpha_work" in gzip.open(sys.argv[1]).read() else 1)' "$T/all.pb.gz"; then
		ok "--all: its profile has the hot function"
	else
		fail "--all: no alpha_work in the profile of pid $NSPID"
	fi
	kill -9 $APID
	wait $APID 2>/dev/null
	check_no_grep "--all: no crash" "$T/all.err" "Sanitizer|runtime error"
else
	say "SKIPPED part: --all needs a PID namespace (unshare $UNS) and this machine refuses one"
fi
check_no_grep "no crash" "$T/serve.err" "Sanitizer|runtime error"
check_no_grep "no crash after restart" "$T/serve2.err" "Sanitizer|runtime error"
check_no_grep "no crash with a small budget" "$T/serve3.err" "Sanitizer|runtime error"
finish
