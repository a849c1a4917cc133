#!/bin/bash
# test_agent_longjmp.sh - siglongjmp out of a SIGALRM handler that
# interrupted an allocator call, while another thread allocates: no
# deadlock, at run time or at exit (tests/fixtures/host_longjmp.c): the
# host's stdout, stderr, exit status and files are the same bare and under
# kiln heap, in each of KILN_AGENT_RUNS runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_longjmp
agent_scenario longjmp "$KILN_AGENT_RUNS" "$T/host_longjmp"
finish
