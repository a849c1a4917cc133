#!/bin/bash
# test_export_views.sh - kiln export --format speedscope and --format chrome
# of real recordings, read back as the viewers read them
# (tests/e2e/views_check.py): a sampled profile per thread whose weights
# match kiln report's per-thread and hot-function shares, the call chain
# from main, timelines that nest; Chrome trace lanes per thread, nested
# complete events, and the hot function's share of the time. Then what an
# export refuses: a file it did not write, a profile without times as a
# trace, an unknown --value.
source "$(dirname "$0")/lib.sh"
setup
cd "$T" || die "cannot cd to $T"
CHECK="python3 $KILN_SRC/tests/e2e/views_check.py"

# worker-K burns K units (1/6, 2/6, 3/6 of the CPU), all in threads::spin;
# c_calltree: main -> run -> {leaf_a, leaf_b}, leaf_b two thirds
record thr -F 499 -o thr.kiln -- "$FX/threads_nofp" 100
record c -F 499 -o c.kiln -- "$FX/c_calltree" 400ms
report_json thr.kiln thr.json
report_json c.kiln c.json

# export NAME ARGS...: `kiln export ARGS`, fatal when it fails
export_ok() {
	local name=$1
	shift
	krun "$name" export "$@"
	[ "$RC" = 0 ] || {
		sed 's/^/    | /' "$T/$name.err"
		die "kiln export $* exited $RC"
	}
}
export_ok ss_thr --format speedscope --value cpu thr.kiln
export_ok ss_c --format speedscope --value cpu c.kiln
export_ok tr_thr --format chrome thr.kiln
export_ok tr_c --format chrome -o c-trace.json c.kiln
check_grep "export says what it wrote" "$T/ss_thr.err" "^kiln: wrote 'thr\.speedscope\.json' \(speedscope, [0-9]+ samples\)$"
[ -s thr.trace.json ] && ok "chrome's default output is thr.trace.json" || fail "no thr.trace.json"

v() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# speedscope: the threads fixture
$CHECK speedscope thr.speedscope.json thr.json threads::spin >ss_thr.txt || die "views_check.py failed on thr.speedscope.json"
check_eq "speedscope: \$schema" "$(v ss_thr.txt schema)" 1
# (the main thread only waits, but may be sampled doing so)
check_eq "speedscope: a sampled profile per worker thread" "$(v ss_thr.txt worker_profiles)" 3
check_eq "speedscope: a sampled profile per thread with samples" "$(v ss_thr.txt sampled_profiles)" \
	"$(v ss_thr.txt report_threads)"
check_eq "speedscope: a timeline per sampled thread" "$(v ss_thr.txt evented_profiles)" "$(v ss_thr.txt report_threads)"
check_eq "speedscope: weights sum to report's total (cpu ns)" "$(v ss_thr.txt total)" "$(v ss_thr.txt report_total)"
check_eq "speedscope: samples and weights agree" "$(v ss_thr.txt sampled_consistent)" 1
check_le "speedscope: threads' shares against report's (abs. error)" "$(v ss_thr.txt thread_share_error)" 0.001
check_between "speedscope: worker-3's share (3/6)" "$(v ss_thr.txt share_worker-3)" 0.38 0.62
check_between "speedscope: worker-1's share (1/6)" "$(v ss_thr.txt share_worker-1)" 0.06 0.28
check_eq "speedscope: the busiest thread opens first" "$(v ss_thr.txt active_is_busiest)" 1
check_eq "speedscope: timelines nest and close" "$(v ss_thr.txt evented_nested)" 1
hot=$(v ss_thr.txt hot_self_share)
check_between "speedscope: threads::spin's share as report's $(v ss_thr.txt report_hot_self_share)" "$hot" \
	"$(python3 -c "print($(v ss_thr.txt report_hot_self_share) - 0.01)")" \
	"$(python3 -c "print($(v ss_thr.txt report_hot_self_share) + 0.01)")"

# speedscope: c_calltree's chain and its hot leaf
$CHECK speedscope c.speedscope.json c.json leaf_b main,run,leaf_b >ss_c.txt || die "views_check.py failed on c.speedscope.json"
check_eq "speedscope: the chain main;run;leaf_b" "$(v ss_c.txt chain)" 1
rep=$(v ss_c.txt report_hot_self_share)
check_between "speedscope: leaf_b's share (report: $rep)" "$(v ss_c.txt hot_self_share)" \
	"$(python3 -c "print($rep - 0.01)")" "$(python3 -c "print($rep + 0.01)")"
check_between "speedscope: leaf_b is about two thirds" "$(v ss_c.txt hot_self_share)" 0.5 0.8
check_eq "speedscope: one thread, one timeline" "$(v ss_c.txt evented_profiles)" 1

# chrome trace: lanes, nesting, the hot function's time
$CHECK chrome thr.trace.json thr.json threads::spin >tr_thr.txt || die "views_check.py failed on thr.trace.json"
check_eq "chrome: one process named" "$(v tr_thr.txt process_names)" 1
check_eq "chrome: a lane per worker thread" "$(v tr_thr.txt worker_lanes)" 3
check_eq "chrome: a lane per thread with samples" "$(v tr_thr.txt thread_lanes)" "$(v tr_thr.txt report_threads)"
check_eq "chrome: lanes named as report's threads" "$(v tr_thr.txt lanes_named)" 1
check_eq "chrome: every slice in a named lane" "$(v tr_thr.txt x_in_lanes)" 1
check_eq "chrome: slices nest" "$(v tr_thr.txt x_nested)" 1
check_ge "chrome: threads::spin's share of the time" "$(v tr_thr.txt hot_time_share)" 0.85
$CHECK chrome c-trace.json c.json leaf_b >tr_c.txt || die "views_check.py failed on c-trace.json"
check_eq "chrome: slices nest (c_calltree)" "$(v tr_c.txt x_nested)" 1
rep=$(v tr_c.txt report_hot_total_share)
check_between "chrome: leaf_b's share of the time (report: $rep)" "$(v tr_c.txt hot_time_share)" \
	"$(python3 -c "print($rep - 0.08)")" "$(python3 -c "print($rep + 0.08)")"

# refusals: a file that is not an export; an own older export is replaced
echo "keep me" >notes.json
krun clobber export --format speedscope -o notes.json c.kiln
check_eq "a file not written by the export is kept (exit)" "$RC" 1
check_grep "... and says so" "$T/clobber.err" "^kiln: 'notes\.json' exists and is not a speedscope export; use --force"
check_eq "... untouched" "$(cat notes.json)" "keep me"
export_ok again --format chrome -o c-trace.json c.kiln
ok "an older chrome export is replaced without --force"
# a profile without times (pprof keeps none): speedscope without a
# timeline, and no trace
export_ok pb --format pprof -o c.pb.gz c.kiln
export_ok ss_pb --format speedscope -o pb.speedscope.json c.pb.gz
check_eq "speedscope of a pprof profile: no timeline" "$(python3 -c "import json; print(sorted({p['type'] for p in json.load(open('pb.speedscope.json'))['profiles']}))")" "['sampled']"
krun tr_pb export --format chrome -o pb.trace.json c.pb.gz
check_eq "a trace of a profile without times fails" "$RC" 1
check_grep "... and says why" "$T/tr_pb.err" "^kiln: cannot export 'c\.pb\.gz' as chrome: its samples have no times, .*; use --format speedscope or pprof$"
[ ! -e pb.trace.json ] && ok "... writing nothing" || fail "pb.trace.json was written"
krun badvalue export --format speedscope --value nosuch c.kiln
check_ne "an unknown --value fails" "$RC" 0
check_grep "... naming the values there are" "$T/badvalue.err" "^kiln: 'c\.kiln' has no value 'nosuch'; it has: samples, cpu$"
finish
