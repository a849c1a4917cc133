#!/bin/bash
# test_agent_errno.sh - errno is unchanged by every successful allocator
# call, also with every fd in use and on a new thread
# (tests/fixtures/host_errno.c): the host's stdout, stderr, exit status and
# files are the same bare and under kiln heap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_errno
agent_scenario errno 1 "$T/host_errno"
finish
