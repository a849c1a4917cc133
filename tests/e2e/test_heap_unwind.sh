#!/bin/bash
# test_heap_unwind.sh - the agent's own unwinder (src/agent/agent_unwind.c)
# gives the stacks libunwind gives. With KILN_AGENT_VERIFY=1 the agent takes
# every stack both ways and prints, per process, "kiln-agent: verify: N
# stacks, M mismatches, F fallbacks ..." at exit. On the C and Rust heap
# fixtures, the heap benchmarks (a few rounds) and threaded programs: no
# mismatch, and hardly any stack left to libunwind (measured: none; the
# bound is 0.1% so that one odd libc stack does not fail the test, while a
# real regression, which hits every stack of some site, does). On
# tests/fixtures/heap_unwind.c, which builds the stacks it cannot take (a
# CFA expression): exactly those, while it takes the ones through signal
# frames, on the thread's stack and a sigaltstack. And after a
# plugin is unloaded and another mapped at its address, the stacks are
# still whole (libunwind 1.6's own cache goes stale there, so that part is
# checked on kiln's output, not against libunwind).
. "$(dirname "$0")/lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
FIX=$KILN_SRC/tests/fixtures

cc -O2 -g -o "$T/heap_leaks" "$FIX/heap_leaks.c" || die "cannot build heap_leaks.c"
cc -O2 -g -o "$T/heap_bench_c" "$FIX/heap_bench.c" || die "cannot build heap_bench.c"
cc -O2 -g -o "$T/heap_fork" "$FIX/heap_fork.c" || die "cannot build heap_fork.c"
cc -O2 -g -pthread -o "$T/heap_unwind" "$FIX/heap_unwind.c" -ldl || die "cannot build heap_unwind.c"
for i in 1 2; do
	cc -O2 -g -shared -fPIC -DPLUGIN=$i -o "$T/plugin$i.so" "$FIX/heap_unwind.c" || die "cannot build plugin $i"
done
HAVE_RUST=0
if command -v rustc >/dev/null 2>&1; then
	for f in heap_rust:heap_rust heap_bench:heap_bench_rs; do
		rustc -C opt-level=2 -g --crate-name "${f%%:*}" -o "$T/${f#*:}" "$FIX/${f%%:*}.rs" 2>"$T/rustc.err" ||
			die "cannot build ${f%%:*}.rs: $(head -5 "$T/rustc.err")"
	done
	HAVE_RUST=1
else
	say "rustc not installed: the Rust workloads are skipped"
fi

# verify_sum FILE: "stacks mismatches fallbacks unsupported offstack lines" summed
# over the agent's verify lines in FILE (one per traced process)
verify_sum() {
	python3 - "$1" <<'PY'
import re, sys
tot = [0] * 5
lines = 0
pat = re.compile(r"kiln-agent: verify: (\d+) stacks, (\d+) mismatches, (\d+) fallbacks "
                 r"\(no info \d+, unsupported (\d+), off stack (\d+)\)")
for line in open(sys.argv[1], errors="replace"):
    m = pat.search(line)
    if m:
        lines += 1
        tot = [a + int(b) for a, b in zip(tot, m.groups())]
print(*tot, lines)
PY
}

# verified NAME PROCS CMD...: runs kiln heap on CMD with KILN_AGENT_VERIFY=1;
# sets STACKS MISMATCHES FALLBACKS UNSUPPORTED OFFSTACK
verified() {
	local name=$1 procs=$2
	shift 2
	KILN_AGENT_VERIFY=1 krun "$name" heap -q -o "$T/$name.kiln" -- "$@"
	check_no_crash "$name"
	local lines
	read -r STACKS MISMATCHES FALLBACKS UNSUPPORTED OFFSTACK lines < <(verify_sum "$T/$name.err")
	check_eq "$name: a verify summary per process" "$lines" "$procs"
	check_eq "$name: stacks that differ from libunwind's" "$MISMATCHES" 0
	grep -h "verify: mismatch" "$T/$name.err" | head -3 | sed 's/^/    | /'
	grep -h 'kiln-agent: verify: [0-9]' "$T/$name.err" | sed "s/.*verify: /[$TEST_NAME] $name: /"
}

# ordinary NAME PROCS CMD...: a workload with nothing unusual on its stacks
ordinary() {
	verified "$@"
	check_ge "$1: stacks compared" "$STACKS" 10
	check_le "$1: stacks left to libunwind (per mille)" "$(python3 -c "print($FALLBACKS * 1000 / max($STACKS, 1))")" 1
}

ordinary c_leaks 1 "$T/heap_leaks"
ordinary c_bench 1 "$T/heap_bench_c" 2
ordinary c_fork 3 "$T/heap_fork" # a forked child and an exec'd one, at the same time as the parent
if [ $HAVE_RUST = 1 ]; then
	for mode in threads cache temps realloc aligned; do
		ordinary "rust_$mode" 1 "$T/heap_rust" "$mode"
	done
	ordinary rust_bench 1 "$T/heap_bench_rs" 2
fi

# heap_unwind: threads, deep recursion, a frame-pointer frame and the
# signal handler's allocations (through the signal frame, from the
# sigaltstack too) are taken; the CFA expression is not
verified unwind_paths 1 "$T/heap_unwind"
want_unsupported=$(sed -n 's/^expected unsupported //p' "$T/unwind_paths.out")
want_offstack=$(sed -n 's/^expected off stack //p' "$T/unwind_paths.out")
check_eq "unwind_paths: stacks left to libunwind" "$FALLBACKS" $((want_unsupported + want_offstack))
check_eq "unwind_paths: the CFA expression and the signal frames" "$UNSUPPORTED" "$want_unsupported"
check_eq "unwind_paths: allocations on the sigaltstack" "$OFFSTACK" "$want_offstack"
check_ge "unwind_paths: stacks compared" "$STACKS" 8000

# plugins: 3 x 100 allocations in plugin_alloc, called from plugin() in
# main, whichever plugin was mapped there; a rule cached for plugin 1 and
# kept after it was unloaded would unwind plugin 2's bigger frame wrong
krun plugins heap -q -o "$T/plugins.kiln" -- "$T/heap_unwind" "$T/plugin1.so" "$T/plugin2.so"
check_no_crash plugins
check_eq "plugins: exit status" "$RC" 0
if [ "$(sed -n 's/^plugin .* at //p' "$T/plugins.out" | sort -u | wc -l)" = 1 ]; then
	say "plugins: both plugins were mapped at the same address"
else
	say "plugins: the plugins were mapped at different addresses: the stale-rule case did not arise"
fi
"$KILN" report "$T/plugins.kiln" --tree --json -n 0 -m 0 >"$T/plugins.json" 2>"$T/plugins.report.err" ||
	die "kiln report on the plugins profile failed: $(head -3 "$T/plugins.report.err")"
whole=$(python3 - "$T/plugins.json" <<'PY'
import json, sys
tree = json.load(open(sys.argv[1]))["tree"]
def walk(node, path):
    n = 0
    if path[-2:] == ["main", "plugin"] and (node["name"] == "plugin_alloc" or node["name"].startswith("[unknown]")):
        n += node["total"]
    for c in node.get("children", []):
        n += walk(c, path + [node["name"]])
    return n
print(walk(tree, []))
PY
)
check_eq "plugins: plugin_alloc's allocations with whole stacks (main > plugin > plugin_alloc)" "$whole" 300
finish
