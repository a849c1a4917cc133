#!/bin/bash
# test_offcpu.sh - kiln offcpu, kiln record --wall, kiln report --pools and
# kiln timeline on offcpu.rs, whose threads measure their own blocked time
# (Instant around each blocking call) and print it: kiln's nanoseconds are
# compared with those totals, never with wall-clock expectations.
source "$(dirname "$0")/lib.sh"
setup
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ] ||
	skip "context-switch records of a command need perf_event_paranoid <= 1 or root"

# fixture_total FILE KEY: the fixture's own measured total (ns)
fixture_total() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# inclusive FOLDED FUNC: the value of every stack with FUNC in it
inclusive() {
	python3 - "$1" "$2" <<'PY'
import sys
tot = 0
for line in open(sys.argv[1]):
    stack, v = line.rstrip("\n").rsplit(" ", 1)
    if sys.argv[2] in stack.split(";"):
        tot += int(v)
print(tot)
PY
}
# within LABEL VALUE EXPECTED PCT: |VALUE - EXPECTED| <= PCT% of EXPECTED
within() {
	local lo hi
	lo=$(python3 -c "print(int($3 * (100 - $4) / 100))")
	hi=$(python3 -c "print(int($3 * (100 + $4) / 100))")
	check_between "$1" "$2" "$lo" "$hi"
}

# ---- one run of every case: pool, naps, pipe, lock ----
krun all offcpu -n 0 -o "$T/all.kiln" --timeline "$T/all.svg" -- "$FX/offcpu_nofp" all
check_eq "offcpu: exit status" "$RC" 0
check_no_crash all
out=$T/all.out
slept=$(fixture_total "$out" slept_ns)
long=$(fixture_total "$out" long_ns)
read_ns=$(fixture_total "$out" read_ns)
lock_ns=$(fixture_total "$out" lock_ns)
sleeps=$(fixture_total "$out" sleeps)
[ -n "$sleeps" ] && [ -n "$slept" ] && [ -n "$long" ] && [ -n "$read_ns" ] && [ -n "$lock_ns" ] ||
	die "the fixture did not print its totals: $(head -5 "$out")"

"$KILN" flame --folded "$T/all.kiln" >"$T/all.folded" 2>"$T/folded.err" || die "kiln flame --folded failed"
"$KILN" flame --folded --value blocks "$T/all.kiln" >"$T/all.count" 2>>"$T/folded.err" ||
	die "kiln flame --folded --value blocks failed"
# the flame graph's default value of an off-CPU profile is its nanoseconds
check_eq "flame draws offcpu ns by default" \
	"$("$KILN" flame --folded --value offcpu "$T/all.kiln" 2>/dev/null | md5sum)" "$(md5sum <"$T/all.folded")"
# The fixture measures each wait with its wake-up's wait for a cpu, which
# kiln counts as runnable: blocked + runnable is what it measured, and
# blocked alone is at least the sleeps themselves (40 ms each).
"$KILN" flame --folded --value runnable "$T/all.kiln" >"$T/all.run" 2>/dev/null || die "flame --value runnable failed"
offrun() { echo $(($(inclusive "$T/all.folded" "$1") + $(inclusive "$T/all.run" "$1"))); }
within "blocking_task blocked + runnable ns vs its measured sleep" "$(offrun offcpu::blocking_task)" "$slept" 10
check_between "blocking_task blocked ns: its sleeps, not the waits after" \
	"$(inclusive "$T/all.folded" offcpu::blocking_task)" $((sleeps * 39600000)) $((slept * 11 / 10))
within "long_block blocked + runnable ns vs measured" "$(offrun offcpu::long_block)" "$long" 10
within "read_pipe blocked + runnable ns vs measured" "$(offrun offcpu::read_pipe)" "$read_ns" 10
within "wait_lock blocked + runnable ns vs measured" "$(offrun offcpu::wait_lock)" "$lock_ns" 10

# ranked by time, not by count: 200 naps of 0.5 ms against 3 blocks of 100 ms
naps_ns=$(inclusive "$T/all.folded" offcpu::nap)
long_ns=$(inclusive "$T/all.folded" offcpu::long_block)
check_ge "naps outnumber the long blocks" "$(inclusive "$T/all.count" offcpu::nap)" \
	$(($(inclusive "$T/all.count" offcpu::long_block) * 20))
check_ge "the long blocks outweigh the naps (ns)" "$long_ns" $((naps_ns * 3 / 2))
# and so in the printed ranking
first=$(grep -n "offcpu::long_block" "$out" | head -1 | cut -d: -f1)
second=$(grep -n "offcpu::nap " "$out" | head -1 | cut -d: -f1)
[ -n "$first" ] && [ -n "$second" ] && [ "$first" -lt "$second" ] &&
	ok "long_block is listed above nap" || fail "long_block (line '$first') not above nap (line '$second')"

# reasons, as kiln offcpu lists them beside each stack
reason_of() { grep -E "  $2 +offcpu::$1 " "$out" >/dev/null && ok "reason of $1: $2" || fail "reason of $1 is not $2: $(grep "offcpu::$1 " "$out" | head -2)"; }
reason_of blocking_task sleep
reason_of read_pipe read
reason_of wait_lock lock
reason_of get_work condvar

# a switch copies 4 KiB of stack (kiln-offcpu(1)): enough for every stack
# of the fixture's code, each one unwound whole to its thread's entry (only
# the loader, preempted in its big frames at start-up, may be cut)
report_json "$T/all.kiln" "$T/all.json"
check_eq "offcpu: a switch copies 4 KiB of stack" "$(jq_ "$T/all.json" "j['meta']['offcpu_stack_size']")" 4096
check_eq "offcpu: no stack of the fixture's code cut at the copy" \
	"$(grep -c '^\[truncated\];.*offcpu::' "$T/all.count")" 0
check_ge "offcpu: the fixture's stacks unwound to their threads' entry" \
	"$(grep -cE '^(_start;|clone3;).*offcpu::' "$T/all.count")" 10
check_between "offcpu: the deepest whole unwind fit in the copy (bytes)" \
	"$(jq_ "$T/all.json" "j['meta']['offcpu_stack_reach']")" 64 4096
# the wake-up events take their filter once: the fixture's later threads
# get ids above the open end (a second only if ids wrapped meanwhile)
if [ "$(jq_ "$T/all.json" "j['meta'].get('offcpu_wake', '')")" = sched:sched_wakeup ]; then
	check_between "offcpu: wake-up filters set" "$(jq_ "$T/all.json" "j['meta'].get('offcpu_wake_filters', '')")" 1 2
fi

# ---- a stack deeper than the copy: cut, counted and said; whole with a bigger copy ----
krun deep offcpu -o "$T/deep.kiln" -- "$FX/offcpu_nofp" deep
check_eq "deep: exit status" "$RC" 0
report_json "$T/deep.kiln" "$T/deep.json"
# (a preemption while deep, on a loaded machine, cuts one more: at least 5,
# and the warning says as many as the profile counts)
deep_cut=$(jq_ "$T/deep.json" "j['meta']['offcpu_truncated_stacks']")
check_ge "deep: the 5 sleeps under 16 KiB of frames are cut, counted" "$deep_cut" 5
check_grep "deep: said, with the size that keeps them" "$T/deep.err" \
	"(^|[^0-9])$deep_cut of [0-9]+ off-CPU stacks were deeper than the 4096-byte stack copy of a switch.*--call-graph dwarf,65528"
# off_ns NAME FUNC: blocked + runnable ns of the stacks with FUNC in NAME.kiln
off_ns() {
	"$KILN" flame --folded "$T/$1.kiln" >"$T/$1.folded" 2>/dev/null &&
		"$KILN" flame --folded --value runnable "$T/$1.kiln" >"$T/$1.run" 2>/dev/null ||
		die "flame --folded of $1.kiln failed"
	echo $(($(inclusive "$T/$1.folded" "$2") + $(inclusive "$T/$1.run" "$2")))
}
within "deep: the cut stacks keep their time" "$(off_ns deep offcpu::dive)" "$(fixture_total "$T/deep.out" deep_ns)" 10
krun deep64 offcpu --call-graph dwarf,65528 -o "$T/deep64.kiln" -- "$FX/offcpu_nofp" deep
check_eq "deep, 64 KiB copy: exit status" "$RC" 0
report_json "$T/deep64.kiln" "$T/deep64.json"
check_eq "deep, 64 KiB copy: no stack cut" "$(jq_ "$T/deep64.json" "j['meta']['offcpu_truncated_stacks']")" 0
within "deep, 64 KiB copy: the sleeps' stacks reach deep_root" "$(off_ns deep64 offcpu::deep_root)" \
	"$(fixture_total "$T/deep64.out" deep_ns)" 10

# --min-block drops the naps (0.5 ms), keeps the long blocks (100 ms)
krun minb offcpu --min-block 20000000 -o "$T/minb.kiln" -- "$FX/offcpu_nofp" naps
check_eq "--min-block: exit status" "$RC" 0
"$KILN" flame --folded "$T/minb.kiln" >"$T/minb.folded" 2>/dev/null || die "flame --folded (--min-block) failed"
check_eq "--min-block: no nap left" "$(inclusive "$T/minb.folded" offcpu::nap)" 0
# blocked: the 3 sleeps of 100 ms, at most what the fixture measured (which
# includes the waits for a cpu after them)
check_between "--min-block: long blocks kept" "$(inclusive "$T/minb.folded" offcpu::long_block)" \
	297000000 $(($(fixture_total "$T/minb.out" long_ns) * 11 / 10))
check_ge "--min-block: dropped intervals counted" \
	"$(sed -nE 's/.*, ([0-9]+) shorter than --min-block dropped.*/\1/p' "$T/minb.err")" 150

# ---- a nap woken on a busy cpu: blocked until its wake-up, then runnable ----
# The fixture pins a napper and a spinner to one cpu, the napper never
# preempting on waking: each nap ends waiting for the cpu, for as long as
# the nap or more (up to a tick). Blocked is the naps themselves (0.5 ms and
# the timer's slack each, more where the host delays the vcpu's timer), the
# waits are runnable, and the two add up to what the fixture measured.
krun crowd offcpu -n 0 -o "$T/crowd.kiln" -- "$FX/offcpu_nofp" crowd
check_eq "crowd: exit status" "$RC" 0
c_naps=$(fixture_total "$T/crowd.out" crowd_naps)
c_ns=$(fixture_total "$T/crowd.out" crowd_ns)
[ -n "$c_naps" ] && [ -n "$c_ns" ] || die "the crowd fixture did not print its totals: $(head -5 "$T/crowd.out")"
"$KILN" flame --folded --value offcpu "$T/crowd.kiln" >"$T/crowd.folded" 2>/dev/null || die "flame --folded (crowd) failed"
"$KILN" flame --folded --value runnable "$T/crowd.kiln" >"$T/crowd.run" 2>/dev/null ||
	die "flame --folded --value runnable (crowd) failed"
c_blocked=$(inclusive "$T/crowd.folded" offcpu::nap)
c_runnable=$(inclusive "$T/crowd.run" offcpu::nap)
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le -1 ]; then
	check_grep "crowd: wake-ups read" "$T/crowd.err" "split at sched:sched_wakeup"
	# 0.5 ms each and the timer's slack (50 us), with room for a host that
	# delays the vcpu's timer; without wake-ups (or with only those a target
	# thread fires) the waits for the cpu land here and it reads 2-4x more
	check_between "crowd: naps blocked: the naps, not the waits after" "$c_blocked" \
		$((c_naps * 450000)) $((c_naps * 800000))
	check_ge "crowd: the naps' waits for the cpu are runnable" "$c_runnable" $((c_ns / 4))
	within "crowd: blocked + runnable vs the naps as measured" $((c_blocked + c_runnable)) "$c_ns" 15
else
	# every cpu's wake-ups are refused: intervals whole, and said so
	check_grep "crowd: wake-ups not read, said so" "$T/crowd.err" "wake-ups not read"
fi

# ---- pools: the blocking workers marked, parking not counted as blocking ----
"$KILN" report --pools --json "$T/all.kiln" >"$T/pools.json" 2>"$T/pools.err" || die "kiln report --pools failed"
pj() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=[x for x in j['pools'] if x['name']=='pool-worker'][0]; print($2)" "$1"; }
check_eq "pool: 4 workers" "$(pj "$T/pools.json" "len(p['workers'])")" 4
check_eq "pool: parks in get_work" "$(pj "$T/pools.json" "p['park_site']")" offcpu::get_work
check_eq "pool: top blocking stack" "$(pj "$T/pools.json" "p['stacks'][0]['label'].split(' ')[0]")" offcpu::blocking_task
check_between "pool: blocked in tasks vs the sleeps (measured: with the waits after)" \
	"$(pj "$T/pools.json" "p['blocked_ns']")" $((sleeps * 39600000)) $((slept * 11 / 10))
check_ge "pool: parked more than blocked" "$(pj "$T/pools.json" "p['parked_ns'] - p['blocked_ns']")" 0
check_grep "pool: verdict" "$out" "workers spent .* of their time blocked in tasks; top: offcpu::blocking_task"

# a pool without blocking tasks only parks: no verdict, next to no blocking
krun healthy offcpu -o "$T/healthy.kiln" --json -- "$FX/offcpu_nofp" pool 2 healthy
check_eq "healthy pool: exit status" "$RC" 0
"$KILN" report --pools --json "$T/healthy.kiln" >"$T/healthy.json" 2>/dev/null || die "report --pools (healthy) failed"
check_eq "healthy pool: no verdict" "$(pj "$T/healthy.json" "p['verdict']")" ""
check_eq "healthy pool: no worker blocked in tasks" "$(pj "$T/healthy.json" "p['blocking_workers']")" 0
# unnamed C threads all carry the process's name: the helper waiting in its
# own loop runs other code than the workers, so it is not one of them
krun helper offcpu -o "$T/helper.kiln" -- "$FX/c_pool_helper"
check_eq "pool beside a helper: exit status" "$RC" 0
"$KILN" report --pools --json "$T/helper.kiln" >"$T/helper.json" 2>/dev/null || die "report --pools (helper) failed"
hj() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=[x for x in j['pools'] if x['name']=='c_pool_helper']; print($2)" "$1"; }
check_eq "pool beside a helper: one pool" "$(hj "$T/helper.json" "len(j['pools'])")" 1
check_eq "pool beside a helper: the 3 workers, not the helper" "$(hj "$T/helper.json" "len(p[0]['workers'])")" 3
check_eq "pool beside a helper: parks in get_job" "$(hj "$T/helper.json" "p[0]['park_site']")" get_job
check_eq "pool beside a helper: no verdict" "$(hj "$T/helper.json" "p[0]['verdict']")" ""
krun parkalone report --park-frame park_worker "$T/healthy.kiln"
check_eq "report --park-frame without --pools: usage error" "$RC" 2
check_grep "report --park-frame without --pools: says to add --pools" "$T/parkalone.err" "add --pools"

# ---- the timeline: valid XML, its blocked lanes add up ----
python3 - "$T/all.svg" "$T/lanes.txt" <<'PY' || fail "timeline: not valid XML"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
with open(sys.argv[2], "w") as out:
    for g in root.iter(ns + "g"):
        if g.get("class") != "lane":
            continue
        off = [r for r in g.iter(ns + "rect") if r.get("class") == "off"]
        blocked = sum(int(r.get("data-ns")) for r in off if r.get("data-reason") != "runnable")
        out.write("%s %s %s\n" % (g.get("data-name"), blocked, sum(int(r.get("data-ns")) for r in off)))
PY
lane() { awk -v n="$1" '$1 == n { s += $2 } END { print s + 0 }' "$T/lanes.txt"; }
# blocked and runnable (the waits for a cpu the fixture measured too)
lane_off() { awk -v n="$1" '$1 == n { s += $3 } END { print s + 0 }' "$T/lanes.txt"; }
within "timeline: reader lane off the cpu vs measured read" "$(lane_off reader)" "$read_ns" 10
within "timeline: waiter lane off the cpu vs measured lock wait" "$(lane_off waiter)" "$lock_ns" 10
pool_lanes=$(($(lane pool-worker-1) + $(lane pool-worker-2) + $(lane pool-worker-3) + $(lane pool-worker-4)))
pool_off=$(pj "$T/pools.json" "p['blocked_ns'] + p['parked_ns']")
within "timeline: pool lanes vs the pool's off-CPU time" "$pool_lanes" "$pool_off" 1
"$KILN" timeline -o "$T/again.svg" "$T/all.kiln" 2>"$T/timeline.err" && cmp -s "$T/again.svg" "$T/all.svg" &&
	ok "kiln timeline draws what kiln offcpu --timeline drew" || fail "kiln timeline differs or failed: $(cat "$T/timeline.err")"

# ---- --wall: CPU samples and off-CPU time in one unit ----
record wall --wall -o "$T/wall.kiln" -- "$FX/offcpu_nofp" pool
slept_w=$(fixture_total "$T/wall.out" slept_ns)
"$KILN" flame --folded "$T/wall.kiln" >"$T/wall.folded" 2>/dev/null || die "flame --folded of --wall failed"
within "--wall: blocking_task wall ns vs measured sleep" "$(inclusive "$T/wall.folded" offcpu::blocking_task)" "$slept_w" 10
check_ge "--wall: quick tasks sampled on the cpu" \
	"$("$KILN" flame --folded --value cpu "$T/wall.kiln" 2>/dev/null | grep -c offcpu::spin)" 1
report_json "$T/wall.kiln" "$T/wall.json"
check_eq "--wall: reports default to wall" "$(jq_ "$T/wall.json" "j['value']['type']")" wall
# the header names both sources: -F is the CPU samples', every switch is taken
krun wallhdr report --limit 1 "$T/wall.kiln"
check_grep "--wall: header names both events" "$T/wallhdr.out" \
	"^event +cpu-clock at 997 Hz, and sched:sched_switch at every switch$"
krun offhdr report --limit 1 "$T/healthy.kiln"
check_grep "offcpu: header says every switch, no frequency" "$T/offhdr.out" "^event +sched:sched_switch, every switch$"

# ---- attach by pid: readiness is the target's exec ----
"$FX/offcpu_nofp" pool 8 >"$T/att.fixture" &
pid=$!
wait_exec $pid "$FX/offcpu_nofp" || die "offcpu_nofp ended before kiln attached"
krun att offcpu -p $pid -o "$T/att.kiln"
wait $pid
check_eq "attach: exit status" "$RC" 0
att_slept=$(fixture_total "$T/att.fixture" slept_ns)
"$KILN" report --pools --json "$T/att.kiln" >"$T/att.json" 2>/dev/null || die "report --pools (attach) failed"
check_eq "attach: top blocking stack" "$(pj "$T/att.json" "p['stacks'][0]['label'].split(' ')[0]")" offcpu::blocking_task
# kiln attached right after the exec: it sees at least most of the run, never more
check_between "attach: blocked in tasks vs measured sleep" "$(pj "$T/att.json" "p['blocked_ns']")" \
	$((att_slept / 2)) $((att_slept * 11 / 10))
finish
