#!/bin/bash
# test_serve_symbols.sh - kiln serve names code on its symbolizer thread,
# never on the loop that answers HTTP: with that thread held (the
# KILN_TEST_SERVE_SYMBOLIZE_GATE FIFO), /flame.svg and /debug/pprof/profile
# still answer, showing module+offset; once released, the flame graph names
# the hot function. Then the program is started again from the same binary
# (a new process): its hot function is named without reading any module
# again (kiln_serve_symbol_loads_total stays), the caches being keyed by
# build-id.
#
# The program is built static at test time, so every sample lies in one
# module (or the kernel): the load counter cannot move for a library first
# sampled late. Every wait is a bounded loop over a condition.
source "$(dirname "$0")/lib.sh"
setup

SC="python3 $E2E_DIR/serve_client.py"
PIDS=()
cleanup() {
	local p
	[ -n "$LAUNCHER" ] && for p in $(cat "/proc/$LAUNCHER/task/$LAUNCHER/children" 2>/dev/null); do kill -9 "$p"; done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

poll_until() {
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
gmetric() { $SC metric "$PORT" "$1" ""; }
gmetric_gt() { local v; v=$(gmetric "$1"); [ -n "$v" ] && _cmp ">" "$v" "$2"; }

# launch GO1 GO2: after a line on GO1, runs itself as `spin` (a new
# process, exec'd) until that is killed; after a line on GO2, again.
cat >"$T/restart_hot.c" <<'EOF'
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile unsigned long sink;
__attribute__((noinline)) static void restart_spin_work(void)
{
	for (;;)
		for (unsigned long i = 0; i < 100000; i++)
			sink += i * 7;
}
static void wait_line(const char *fifo)
{
	char c;
	int fd = open(fifo, O_RDONLY);
	if (fd >= 0) {
		(void)read(fd, &c, 1);
		close(fd);
	}
}
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spin"))
		restart_spin_work();
	if (argc < 4)
		return 2;
	for (int k = 2; k < 4; k++) {
		wait_line(argv[k]);
		pid_t c = fork();
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
			execl("/proc/self/exe", argv[0], "spin", (char *)0);
			_exit(127);
		}
		waitpid(c, NULL, 0);
	}
	return 0;
}
EOF
cc -O1 -g -static -o "$T/restart_hot" "$T/restart_hot.c" 2>"$T/cc.err" ||
	skip "cannot link a static program (libc.a missing?): $(head -1 "$T/cc.err")"

mkfifo "$T/go1" "$T/go2" "$T/gate"
"$T/restart_hot" launch "$T/go1" "$T/go2" >/dev/null 2>&1 &
LAUNCHER=$!
PIDS+=($LAUNCHER)

PORT=$($SC free_port)
KILN_TEST_SERVE_SYMBOLIZE_GATE=$T/gate "$KILN" serve --listen 127.0.0.1:$PORT -p $LAUNCHER -F 99 \
	--dir "$T/segs" --segment 10m --window 60s >"$T/serve.out" 2>"$T/serve.err" &
KPID=$!
PIDS+=($KPID)
$SC wait_port $PORT 300 || {
	cat "$T/serve.err"
	die "kiln serve did not open port $PORT"
}
echo go >"$T/go1"
children() { cat "/proc/$LAUNCHER/task/$LAUNCHER/children" 2>/dev/null | tr -d ' '; }

# the symbolizer thread holds its first batch at the gate
poll_until 300 gmetric_gt kiln_serve_symbolize_pending_locations 0 ||
	fail "no location waiting for the held symbolizer: '$(gmetric kiln_serve_symbolize_pending_locations)'"
check_eq "/flame.svg while symbolization is held" "$($SC get $PORT /flame.svg "$T/held.svg")" 200
check_no_grep "the held flame graph cannot name the hot function" "$T/held.svg" "restart_spin_work"
check_grep "it shows the module and offset instead" "$T/held.svg" "restart_hot\+0x"
check_eq "/debug/pprof/profile while symbolization is held" \
	"$($SC get $PORT '/debug/pprof/profile?seconds=1' "$T/held.pb.gz")" 200
check_eq "symbol loads while held" "$(gmetric kiln_serve_symbol_loads_total)" 0
gmetric_gt kiln_serve_symbolize_pending_locations 0 && ok "still held after both answers" ||
	fail "the symbolizer was not held: $(gmetric kiln_serve_symbolize_pending_locations) pending"

timeout 60 sh -c 'echo go >"$0"' "$T/gate" || fail "the symbolizer never opened the gate"
named() { $SC get $PORT "/flame.svg$1" "$T/named.svg" >/dev/null && grep -q restart_spin_work "$T/named.svg"; }
poll_until 300 named "" || fail "the flame graph never named the hot function after the release"
ok "after the release the flame graph names restart_spin_work"
loads1=$(gmetric kiln_serve_symbol_loads_total)
check_ge "symbol loads for the first run" "$loads1" 1

# the restart: the first process killed, the same binary started again
first=$(children)
[ -n "$first" ] || die "the launcher has no child running"
kill "$first"
echo go >"$T/go2"
second_started() { local c; c=$(children); [ -n "$c" ] && [ "$c" != "$first" ]; }
poll_until 300 second_started || die "the second run did not start"
second=$(children)
if poll_until 300 named "?pid=$second"; then
	ok "the restarted process (pid $second) has restart_spin_work named"
else
	fail "the restarted process's hot function is not named (pid $second): $(head -c 200 "$T/named.svg")"
fi
check_eq "symbol loads after the restart (the same binary: none)" "$(gmetric kiln_serve_symbol_loads_total)" "$loads1"
check_ge "symbol cache hits" "$(gmetric kiln_serve_symbol_cache_hits_total)" 1
check_ge "symbol cache entries" "$(gmetric kiln_serve_symbol_cache_entries)" 1
$SC get $PORT /metrics "$T/metrics.txt" >/dev/null
for fam in kiln_serve_symbol_cache_entries kiln_serve_symbol_loads_total kiln_serve_symbol_cache_hits_total \
	kiln_serve_symbol_cache_evictions_total kiln_serve_symbolize_pending_locations; do
	check_grep "/metrics has HELP and TYPE of $fam" "$T/metrics.txt" "^# TYPE $fam (counter|gauge)$"
done

kill -TERM $KPID
wait $KPID
check_eq "kiln serve exit status after SIGTERM" "$?" 0
check_no_grep "no crash" "$T/serve.err" "Sanitizer|runtime error"
finish
