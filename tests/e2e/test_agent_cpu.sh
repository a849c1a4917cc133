#!/bin/bash
# test_agent_cpu.sh - CPU profiles without perf events (issue 17): the
# agent engine (libkiln-agent.so in its cpu mode).
# - under a seccomp filter that refuses perf_event_open (a launcher built
#   here, as Docker's default profile does), kiln record falls back to the
#   agent and says why in one line; the profile says which engine;
# - a Rust fixture (release, no frame pointers, 3 named threads): the hot
#   function's share (by innermost user-space frame) within 3 points of
#   the perf engine's, >= 99% of the samples' stacks reaching main or the
#   thread start, the threads named and their CPU split as the fixture
#   burns it;
# - hosts that use SIGPROF themselves, block every signal in a thread,
#   sleep in system calls, handle every real-time signal (the agent's
#   too: chained), fork, fork and exec: their output is the bare run's,
#   and the profile holds the children's functions;
# - as user nobody with --engine agent; -p cannot use the agent and says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
[ -e "$(dirname "$KILN")/libkiln-agent.so" ] || skip "libkiln-agent.so not built (KILN_AGENT=OFF)"
build_fixtures
host_build launch_noperf
host_build host_cpu_guest

# noperf NAME ARGS...: krun under the launcher's filter
noperf() {
	local name=$1
	shift
	"$T/launch_noperf" "$KILN" "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
}

# stats FILE.kiln: "hot% main% names split" from the report's JSON
stats() {
	report_json "$1" "$1.json"
	python3 - "$1.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
total = j["total"] or 1
# the hot function's share by its innermost user-space frame: the agent
# cannot see kernel frames, and time in the kernel on a frame's behalf
# lands on it (perf's kernel samples under load are scheduler noise)
def user_leaf(st):
    user = [f for f in st["frames"] if f.get("module") != "[kernel.kallsyms]"]
    return user[-1]["name"] if user else ""
hot = sum(st["value"] for st in j["stacks"] if user_leaf(st) == "threads::spin")
roots = {"main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone3", "clone", "__clone"}
n = sum(s["samples"] for s in j["stacks"])
rooted = sum(s["samples"] for s in j["stacks"] if s["frames"] and s["frames"][0]["name"] in roots)
ws = {t["name"]: t["value"] for t in j["threads"] if t["name"].startswith("worker-")}
wt = sum(ws.values()) or 1
split = ",".join("%.0f" % (100.0 * ws.get("worker-%d" % k, 0) / wt) for k in (1, 2, 3))
print("%.1f %.1f %s %s" % (100.0 * hot / total, 100.0 * rooted / max(n, 1), ",".join(sorted(ws)), split))
PY
}

# --- the fallback under seccomp ---------------------------------------------------
# 400 ms units, 2.4 s of CPU: the agent's CPU-time timers fire on the
# kernel's tick (4 ms here), about 600 samples; at 150 ms (about 220) the
# hot share's spread alone put the two engines 3 points apart in 1 run of 10
UNIT=400
noperf fb record -o "$T/fb.kiln" -- "$FX/threads_nofp" $UNIT
check_eq "fallback: exit status" "$RC" 0
check_grep "fallback: one line names seccomp and the agent engine" "$T/fb.err" \
	'^kiln: warning: perf_event_open refused by a seccomp filter.*agent engine'
check_eq "fallback: one such line" "$(grep -c 'agent engine' "$T/fb.err")" 1
[ -s "$T/fb.kiln" ] || die "no profile from the fallback run: $(tail -3 "$T/fb.err")"
read -r hot rooted names split <<<"$(stats "$T/fb.kiln")"
check_eq "fallback: engine in the profile" "$(jq_ "$T/fb.kiln.json" 'j["meta"].get("engine")')" agent
"$KILN" report "$T/fb.kiln" >"$T/fb.txt" 2>&1
check_grep "fallback: the report says the engine and what it cannot see" "$T/fb.txt" \
	'^engine +agent .*cannot see kernel frames, time spent blocked'
check_ge "fallback: stacks reaching main or the thread start (%)" "$rooted" 99
check_eq "fallback: threads named" "$names" "worker-1,worker-2,worker-3"
IFS=, read -r w1 w2 w3 <<<"$split"
check_between "fallback: worker-1's CPU share (1/6)" "$w1" 12 22
check_between "fallback: worker-2's CPU share (2/6)" "$w2" 28 39
check_between "fallback: worker-3's CPU share (3/6)" "$w3" 44 56

# the same fixture with the perf engine, where perf_event_open is allowed
if "$FX/c_probe" >/dev/null 2>&1; then
	record pf --engine perf -o "$T/pf.kiln" -- "$FX/threads_nofp" $UNIT
	read -r phot _ _ _ <<<"$(stats "$T/pf.kiln")"
	diff=$(python3 -c "print('%.1f' % abs($hot - $phot))")
	check_le "hot function share: agent $hot% vs perf $phot%, difference (points)" "$diff" 3
else
	say "perf_event_open not allowed here: no side-by-side with the perf engine"
fi

# -p: the agent cannot attach
noperf att record -o "$T/att.kiln" -p $$ --duration 1
check_eq "-p under seccomp: fails" "$RC" 1
check_grep "-p under seccomp: says the agent cannot attach and what would" "$T/att.err" \
	"agent engine cannot attach.*kiln record -- CMD"
krun attf record --engine agent -o "$T/attf.kiln" -p $$
check_eq "--engine agent -p: a usage error" "$RC" 2

# --- good guest: the host's output is the bare run's ------------------------------
for mode in sigprof blocked sleep fork rtall; do
	host_run "$T/$mode.bare" "$T/host_cpu_guest" $mode
	host_run "$T/$mode.agent" "$KILN" record -q --engine agent -o "$T/$mode.kiln" -- "$T/host_cpu_guest" $mode
	host_compare "$mode" "$T/$mode.bare" "$T/$mode.agent"
	check_no_grep "$mode: the host saw no harm" "$T/$mode.agent.out" ': no$'
	report_json "$T/$mode.kiln" "$T/$mode.json"
	check_ge "$mode: guest_burn's share (%)" \
		"$(jq_ "$T/$mode.json" 'sum(f["total_pct"] for f in j["functions"] if f["name"] == "guest_burn")')" 90
done
check_ge "fork: the forked child keeps sampling (child_burn's share, %)" \
	"$(jq_ "$T/fork.json" 'sum(f["total_pct"] for f in j["functions"] if f["name"] == "child_burn")')" 40

record fe --engine agent -o "$T/fe.kiln" -- "$FX/c_forkexec" 150 "$FX/calltree_nofp" 150ms
check_eq "fork+exec: the command's status" "$RC" 0
report_json "$T/fe.kiln" "$T/fe.json"
check_eq "fork+exec: the parent and the exec'd child, by name" \
	"$(jq_ "$T/fe.json" '" ".join(sorted(t["name"] for t in j["threads"] if t["samples"]))')" "c_forkexec calltree_nofp"
check_ge "fork+exec: the exec'd program's leaves (exec re-arms, %)" \
	"$(jq_ "$T/fe.json" 'sum(f["self_pct"] for f in j["functions"] if f["name"].startswith("calltree::leaf_"))')" 30

# --- as user nobody, the engine forced --------------------------------------------
if command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
	mkdir -p "$T/nobody" && chmod 777 "$T/nobody" && chmod o+x "$T"
	runuser -u nobody -- "$KILN" record --engine agent -o "$T/nobody/nb.kiln" -- "$FX/threads_nofp" 100 \
		>"$T/nb.out" 2>"$T/nb.err"
	check_eq "nobody: exit status" "$?" 0
	if [ -s "$T/nobody/nb.kiln" ]; then
		read -r nhot nrooted nnames _ <<<"$(stats "$T/nobody/nb.kiln")"
		check_ge "nobody: threads::spin's share (%)" "$nhot" 90
		check_ge "nobody: stacks reaching main or the thread start (%)" "$nrooted" 99
		check_eq "nobody: threads named" "$nnames" "worker-1,worker-2,worker-3"
	else
		fail "nobody: no profile: $(tail -3 "$T/nb.err")"
	fi
else
	say "no runuser or no user nobody: the unprivileged run is not tested"
fi

finish
