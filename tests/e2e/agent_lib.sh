# shellcheck shell=bash
# agent_lib.sh - helpers for the tests that the heap agent never harms its
# host (test_agent_*.sh, sourced after lib.sh): each runs a host program
# (tests/fixtures/host_*.c) bare and under `kiln heap`, and compares what
# the host shows the world byte for byte: stdout, stderr, exit status and
# the files it writes in its working directory.
#
# KILN_AGENT_RUNS (default 5) repeats the scenarios that race; every run
# is bounded by `timeout` (AGENT_TIMEOUT seconds, default 60), so a hang
# fails instead of stalling the suite.

: "${KILN_AGENT_RUNS:=5}"
: "${AGENT_TIMEOUT:=60}"

# host_build NAME [CC ARGS...]: compiles tests/fixtures/NAME.c into $T/NAME
host_build() {
	local name=$1
	shift
	cc -O2 -g -pthread -o "$T/$name" "$KILN_SRC/tests/fixtures/$name.c" "$@" || die "cannot build $name.c"
}

# host_run DIR CMD...: runs CMD in DIR (made empty first) under timeout,
# keeping DIR/../DIR.out, .err, .rc (124 = timed out)
host_run() {
	local dir=$1
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && timeout -k 5 "$AGENT_TIMEOUT" "$@" >"$dir.out" 2>"$dir.err")
	echo $? >"$dir.rc"
}

# host_compare LABEL BARE_DIR HEAP_DIR: the host's stdout, stderr, exit
# status and files are the same in both runs
host_compare() {
	local label=$1 a=$2 b=$3 what
	for what in out err rc; do
		if cmp -s "$a.$what" "$b.$what"; then
			ok "$label: $what unchanged"
		else
			fail "$label: $what differs (bare, then under kiln heap)"
			diff <(head -c 2000 "$a.$what") <(head -c 2000 "$b.$what") | head -20 | sed 's/^/    | /'
		fi
	done
	if diff -r "$a" "$b" >"$b.files.diff" 2>&1; then
		ok "$label: files unchanged"
	else
		fail "$label: files differ"
		head -20 "$b.files.diff" | sed 's/^/    | /'
	fi
}

# agent_scenario LABEL RUNS CMD...: runs CMD bare once, then RUNS times
# under kiln heap, comparing each run with the bare one
agent_scenario() {
	local label=$1 runs=$2 i
	shift 2
	host_run "$T/$label.bare" "$@"
	for ((i = 1; i <= runs; i++)); do
		host_run "$T/$label.heap$i" "$KILN" heap -q -o "$T/$label.heap$i.kiln" -- "$@"
		host_compare "$label run $i" "$T/$label.bare" "$T/$label.heap$i"
	done
}
