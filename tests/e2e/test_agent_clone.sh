#!/bin/bash
# test_agent_clone.sh - a child of a raw clone (no fork handlers) allocates
# as fast as its parent: each gets its own ring, nothing hangs
# (tests/fixtures/host_clone.c): the host's stdout, stderr, exit status and
# files are the same bare and under kiln heap, in each of KILN_AGENT_RUNS
# runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_clone
agent_scenario clone "$KILN_AGENT_RUNS" "$T/host_clone"
finish
