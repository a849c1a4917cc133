#!/bin/bash
# test_agent_fds.sh - the agent owns no file descriptor in its host: a host
# that closes every fd above stderr and reads and writes its own files
# through fds 3 and 4, while signal handlers allocate
# (tests/fixtures/host_fds.c): the host's stdout, stderr, exit status and
# files are the same bare and under kiln heap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_fds
agent_scenario fds 1 "$T/host_fds"
finish
