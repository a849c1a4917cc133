#!/bin/bash
# test_agent_seccomp.sh - a host that forbids open and openat (seccomp)
# after the agent's constructor: the agent opens nothing while main runs
# (tests/fixtures/host_seccomp.c): the host's stdout, stderr, exit status
# and files are the same bare and under kiln heap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_seccomp
agent_scenario seccomp 1 "$T/host_seccomp"
finish
