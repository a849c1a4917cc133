#!/bin/bash
# test_agent_early_calloc.sh - a library constructor that runs before the
# agent's calls calloc(1000, 100) and malloc(64) (tests/fixtures/
# host_early_calloc.c and host_early_calloc_lib.c): both come from the real
# allocator, so the host's stdout, stderr, exit status and files are the
# same bare and under kiln heap (malloc_usable_size included).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cc -O2 -g -shared -fPIC -o "$T/libhost_early.so" "$KILN_SRC/tests/fixtures/host_early_calloc_lib.c" ||
	die "cannot build host_early_calloc_lib.c"
host_build host_early_calloc -L"$T" -lhost_early -Wl,-rpath,"$T"
agent_scenario early_calloc 1 "$T/host_early_calloc"
check_grep "the early block's usable size is glibc's" "$T/early_calloc.heap1.out" "^early malloc\(64\): usable 72$"
finish
