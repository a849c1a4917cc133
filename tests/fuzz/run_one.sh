#!/bin/bash
# run_one.sh FUZZER SECONDS BUILD - runs one fuzzer from its seed corpus
# (tests/fuzz/corpus/NAME) and the corpus it grew in BUILD/corpus/NAME;
# a crash fails it and leaves the input in BUILD. `make fuzz` runs as many
# at once as there are cpus. Prints one line, or the log's tail on failure.
set -u
f=$1 secs=$2 build=$3
name=$(basename "$f")
log=$build/$name.log
mkdir -p "$build/corpus/$name"
if ! "$f" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/" \
	"$build/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
	tail -40 "$log"
	echo "fuzz: $name: failed (log: $log)"
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log")
if [ -z "$runs" ]; then
	tail -40 "$log"
	echo "fuzz: $name: no final statistics in the log"
	exit 1
fi
echo "fuzz: $name for ${secs}s: $runs inputs run, no crash"
