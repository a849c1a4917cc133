#!/bin/bash
# test_lost_samples.sh - 200 busy threads on a 2-cpu machine, recorded at
# 997 Hz in DWARF mode (64 KiB of stack per sample): kiln's ring reader
# keeps up, under 1% of samples lost in each of 10 runs (it runs at
# real-time priority, rings are sized for the stack copy, and it drains
# them while it unwinds); as nobody, every sample kept or counted as lost (the share lost is
# measured in bench/lost_bench.sh). And when a ring does overflow - forced here by
# giving cpu 1's ring a single page, smaller than one sample, so every
# sample taken on cpu 1 is lost - record's summary and the report header
# say how many, on which cpu's ring, over which interval and on which
# threads, also when the ring stayed full to the end (attached by pid).
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
# wakes. What it loses then depends on what else runs: none alone on a
# quiet machine, 30-45% in 2 of 3 runs beside one compile (a clean-clone CI
# run with another job on the machine). So the share lost is measured in
# bench/lost_bench.sh ("kiln as nobody"), and this checks what holds
# whatever the load: the recording works, every sample is kept or counted
# as lost, and the priority it got is recorded.
kver=$(uname -r | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/')
if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ] && command -v setpriv >/dev/null &&
	[ "${kver% *}" -gt 6 -o \( "${kver% *}" -eq 6 -a "${kver#* }" -ge 12 \) ]; then
	U=$T/nobody
	mkdir -p "$U" && chmod 777 "$U"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$KILN" record -F 997 -o "$U/u1.kiln" -- \
		"$FX/c_manythreads" 200 4 >"$U/u1.out" 2>"$U/u1.err"
	check_eq "as nobody: exit status" "$?" 0
	read -r samples lost < <(counts "$U/u1.err")
	check_ge "as nobody: samples kept ($samples) and lost ($lost) add up to 200 threads x 4 ms" \
		"$((${samples:-0} + ${lost:-0}))" 400
	lost_hdr=$("$KILN" report --json "$U/u1.kiln" | python3 -c 'import json, sys; print(json.load(sys.stdin)["lost"])' 2>/dev/null)
	check_eq "as nobody: the report's lost samples are the summary's" "${lost_hdr:-}" "${lost:-}"
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
cpu1_lost=$(jq_ "$T/tiny.json" "sum(int(x.split(':')[1]) for x in j['meta']['lost_threads'].split(',') if x.split(':')[0] in set(open('$T/cpu1.tids').read().split()))")
thr_lost=$(jq_ "$T/tiny.json" "sum(int(x.split(':')[1]) for x in j['meta']['lost_threads'].split(','))")
# Each exiting thread reports its count through each cpu's ring: on a
# loaded machine cpu 1's full ring drops some of those reports too (in
# one CI run under ASan 11 of its 25 threads' went; with two cpu hogs
# beside it, all 25), and those threads' losses cannot be told. The
# summary says how many; all the rest hold when none went.
unreported=$(jq_ "$T/tiny.json" "j['meta'].get('lost_threads_unreported', '0')")
if [ "$unreported" = 0 ]; then
	# a thread short by no more than a period gets none (the estimate
	# cannot tell a loss from the period after its last sample): most,
	# not all, of cpu 1's 25 threads are named, and they carry the loss
	check_ge "cpu 1's threads named as losing samples (of 25)" "$(comm -12 "$T/lost.tids" "$T/cpu1.tids" | wc -l)" 13
	check_ge "lost samples put on cpu 1's threads (of $lost)" "$cpu1_lost" "$((lost / 2))"
	check_between "per-thread estimates add up to about the lost samples" "$thr_lost" "$((lost / 2))" "$lost"
else
	say "$unreported threads' exit counts were lost with the samples: the estimates are partial"
	check_le "per-thread estimates add up to no more than the lost samples" "$thr_lost" "$lost"
	check_grep "summary: unreported threads named" "$T/tiny.err" "; $unreported threads?'?s? exit counts? w[a-z]+ lost with the samples"
fi

# A ring full to the end never says so itself: the kernel reports a loss
# with the next record that fits, and attached to a busy thread for a
# while nothing fits cpu 1's one page. The events' own counts tell; before
# they were read this said "0 samples, 0 lost".
taskset -c 1 "$FX/c_hot_alpha" 60000 >/dev/null &
hpid=$!
wait_cpu_ms "$hpid" 20
cpu0=$(proc_cpu_ms "$hpid")
KILN_TEST_RING_PAGES=1:1 record held -o "$T/held.kiln" -p "$hpid" --duration 1
cpu1=$(proc_cpu_ms "$hpid")
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null
check_eq "attached, every sample lost: exit status" "$RC" 0
read -r samples lost < <(counts "$T/held.err")
# one a millisecond of the thread's CPU; it had 1 s on its cpu, at least
# 50 ms of it however loaded the machine
check_between "attached, every sample lost: lost (the thread used $((cpu1 - cpu0)) ms around it)" "${lost:-0}" 50 \
	"$((cpu1 - cpu0 + 20))"
check_eq "attached, every sample lost: none kept" "${samples:-}" 0
check_grep "attached, every sample lost: the loss is cpu 1's" "$T/held.err" \
	"^kiln: warning: $lost of $lost samples \(100.0%\) were lost because a ring buffer was full: cpu 1 from "
check_no_grep "attached, every sample lost: not 'ran too briefly'" "$T/held.err" "too briefly"
report_json "$T/held.kiln" "$T/held.json"
check_eq "attached, every sample lost: the file's count is the summary's" "$(jq_ "$T/held.json" "j['lost']")" "$lost"
finish
