#!/bin/bash
# test_lost_samples.sh - 200 busy threads on a 2-cpu machine, recorded at
# 997 Hz in DWARF mode (64 KiB of stack per sample): kiln's ring reader
# keeps up, under 1% of samples lost in each of 10 runs (it runs at
# real-time priority, rings are sized for the stack copy, and it drains
# them while it unwinds); as nobody, under 5% in the median of 3 runs (a short
# time slice instead of a priority, rings within the mlock limit). And when a ring does overflow - forced here by
# giving cpu 1's ring a single page, smaller than one sample, so every
# sample taken on cpu 1 is lost - record's summary and the report header
# say how many, on which cpu's ring, over which interval and on which
# threads.
source "$(dirname "$0")/lib.sh"
setup
[ "$(id -u)" = 0 ] || skip "the reader's real-time priority needs root or CAP_SYS_NICE; run as root"

# "kiln: wrote 'F' (N samples, M lost, ...": prints "N M"
counts() { sed -nE "s/^kiln: wrote '.*' \(([0-9]+) samples, ([0-9]+) lost,.*/\1 \2/p" "$1"; }

all_samples=0
all_lost=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	record run$i -o "$T/run$i.kiln" -- "$FX/c_manythreads" 200 4
	read -r samples lost < <(counts "$T/run$i.err")
	check_ge "run $i: samples of 200 threads x 4 ms at 997 Hz" "${samples:-0}" 400
	check_le "run $i: lost % (samples $samples, lost $lost)" \
		"$(python3 -c "print(round(100.0 * ${lost:-100} / max(1, ${samples:-0} + ${lost:-100}), 2))")" 1
	all_samples=$((all_samples + ${samples:-0}))
	all_lost=$((all_lost + ${lost:-0}))
done
say "10 runs: $all_samples samples kept, $all_lost lost"
check_eq "reader priority recorded" "$(sed -nE 's/.*"reader_priority": "([^"]*)".*/\1/p' <("$KILN" report --json "$T/run1.kiln"))" \
	"real-time (SCHED_FIFO)"

# As a normal user (nobody) the reader may not raise its priority, and its
# rings are as small as the mlock limit makes them: it asks for a short
# time slice instead, which EEVDF (Linux 6.12 on) serves first when it
# wakes. At its normal slice it lost 11-30% of these samples at load 100+;
# with the short one none in 5 runs (bench/lost_bench.sh).
# The bound is the release build's: the ASan build's reader does two to
# three times the work per sample (8-15% lost there in a clean-clone CI
# run), so it checks only the root part above.
kver=$(uname -r | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/')
if ldd "$KILN" 2>/dev/null | grep -q libasan; then
	say "the non-root part bounds the release build's reader: not run under ASan"
elif [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ] && command -v setpriv >/dev/null &&
	[ "${kver% *}" -gt 6 -o \( "${kver% *}" -eq 6 -a "${kver#* }" -ge 12 \) ]; then
	U=$T/nobody
	mkdir -p "$U" && chmod 777 "$U"
	# the median of 3 runs: one run's share is the scheduler's luck in a
	# few 100 ms windows (the test runs alone: tests/CMakeLists.txt)
	shares=""
	for i in 1 2 3; do
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$KILN" record -F 997 -o "$U/u$i.kiln" -- \
			"$FX/c_manythreads" 200 4 >"$U/u$i.out" 2>"$U/u$i.err"
		check_eq "as nobody, run $i: exit status" "$?" 0
		read -r samples lost < <(counts "$U/u$i.err")
		check_ge "as nobody, run $i: samples kept and lost add up to 200 threads x 4 ms" \
			"$((${samples:-0} + ${lost:-0}))" 400
		shares="$shares $(python3 -c "print(round(100.0 * ${lost:-100} / max(1, ${samples:-0} + ${lost:-100}), 2))")"
	done
	check_le "as nobody: median lost % of 3 runs ($shares)" \
		"$(python3 -c "import sys, statistics; print(statistics.median(map(float, sys.argv[1:])))" $shares)" 5
	check_eq "as nobody: reader priority recorded" \
		"$(sed -nE 's/.*"reader_priority": "([^"]*)".*/\1/p' <("$KILN" report --json "$U/u1.kiln"))" "short time slice"
else
	say "the non-root part needs perf_event_paranoid <= 2, setpriv and Linux 6.12 or later: not run"
fi

if [ "$(nproc)" -lt 2 ]; then
	finish
fi
# Threads pinned round-robin to the cpus (the fixture prints "tid cpu"):
# those on cpu 1 lose every sample, those on cpu 0 none.
KILN_TEST_RING_PAGES=1:1 record tiny -o "$T/tiny.kiln" -- "$FX/c_manythreads" 50 3 spread
check_eq "record exit status with a tiny ring" "$RC" 0
awk '$2 == 1 { print $1 }' "$T/tiny.out" | sort >"$T/cpu1.tids"
awk '$2 == 0 { print $1 }' "$T/tiny.out" | sort >"$T/cpu0.tids"
check_eq "threads pinned to cpu 1" "$(wc -l <"$T/cpu1.tids")" 25
read -r samples lost < <(counts "$T/tiny.err")
check_ge "samples lost on cpu 1 (every one taken there)" "${lost:-0}" 25
check_ge "samples kept on cpu 0" "${samples:-0}" 25
check_grep "summary: lost per cpu ring and interval" "$T/tiny.err" \
	"^kiln: warning: $lost of $((samples + lost)) samples \([0-9.]+%\) were lost because a ring buffer was full: cpu 1 from [0-9.]+ s to [0-9.]+ s \([0-9]+\)"
check_no_grep "summary: no loss on cpu 0's ring" "$T/tiny.err" "full:.* cpu 0 from"
check_grep "summary: lost per thread" "$T/tiny.err" "by thread \(estimated .*\): c_manythreads tid [0-9]+ \([0-9]+\)"

krun text report "$T/tiny.kiln"
check_eq "report exit status" "$RC" 0
check_grep "report header: lost per cpu ring and interval" "$T/text.out" \
	"^warning: $lost of $((samples + lost)) samples .* were lost because a ring buffer was full: cpu 1 from [0-9.]+ s to [0-9.]+ s"
check_grep "report header: lost per thread" "$T/text.out" "^warning: .*by thread .*c_manythreads tid [0-9]+ \([0-9]+\)"

report_json "$T/tiny.kiln" "$T/tiny.json"
check_eq "intervals are cpu 1's and add up to the lost samples" \
	"$(jq_ "$T/tiny.json" "sum(int(x.split(':')[3]) for x in j['meta']['lost_intervals'].split(',') if x.split(':')[0] == '1')")" "$lost"
jq_ "$T/tiny.json" "'\\n'.join(x.split(':')[0] for x in j['meta']['lost_threads'].split(','))" | sort >"$T/lost.tids"
# The per-thread numbers are estimates (a thread's counter against its kept
# samples): on a busy machine cpu 0's threads were given 0 to 9% of the
# loss (6 of 70 in a clean-clone run), never the bulk of it.
cpu0_lost=$(jq_ "$T/tiny.json" "sum(int(x.split(':')[1]) for x in j['meta']['lost_threads'].split(',') if x.split(':')[0] in set(open('$T/cpu0.tids').read().split()))")
check_le "lost samples put on threads pinned to cpu 0 (of $lost)" "$cpu0_lost" "$((lost / 5))"
# a thread short by no more than a period gets none (the estimate cannot
# tell a loss from the period after its last sample): most, not all, of
# cpu 1's 25 threads are named, and they carry the loss
check_ge "cpu 1's threads named as losing samples (of 25)" "$(comm -12 "$T/lost.tids" "$T/cpu1.tids" | wc -l)" 13
cpu1_lost=$(jq_ "$T/tiny.json" "sum(int(x.split(':')[1]) for x in j['meta']['lost_threads'].split(',') if x.split(':')[0] in set(open('$T/cpu1.tids').read().split()))")
check_ge "lost samples put on cpu 1's threads (of $lost)" "$cpu1_lost" "$((lost / 2))"
thr_lost=$(jq_ "$T/tiny.json" "sum(int(x.split(':')[1]) for x in j['meta']['lost_threads'].split(','))")
check_between "per-thread estimates add up to about the lost samples" "$thr_lost" "$((lost / 2))" "$lost"
finish
