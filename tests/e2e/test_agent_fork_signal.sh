#!/bin/bash
# test_agent_fork_signal.sh - fork in a loop while a SIGALRM handler
# allocates: no deadlock between the agent's fork handlers and the handler
# (tests/fixtures/host_fork_signal.c): the host's stdout, stderr, exit
# status and files are the same bare and under kiln heap, in each of
# KILN_AGENT_RUNS runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_fork_signal
agent_scenario fork_signal "$KILN_AGENT_RUNS" "$T/host_fork_signal"
finish
