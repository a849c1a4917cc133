#!/bin/bash
# test_agent_exit_dtor.sh - the agent's exit path (libc's freeres, the leak
# scan) runs after every destructor of the host's libraries (issue 21,
# item 3): a library destructor still sees HOME, the locale and tzname and
# writes through wide stdio, byte for byte as without kiln; a C++ library's
# frees in its destructor are frees, not "still reachable" blocks; leak
# classes equal memcheck's (tests/fixtures/host_exit_dtor.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v c++ >/dev/null || skip "no C++ compiler (c++)"
SRC=$KILN_SRC/tests/fixtures/host_exit_dtor.c
cc -O2 -g -fPIC -shared -DHOST_EXIT_LIB -o "$T/libhost_exit_dtor.so" "$SRC" || die "cannot build the library"
c++ -x c++ -O2 -g -fPIC -shared -DHOST_EXIT_CXX -o "$T/libhost_exit_cxx.so" "$SRC" || die "cannot build the C++ library"
# --no-as-needed: the program calls neither library, it only loads them
cc -O2 -g -o "$T/host" "$SRC" -Wl,--no-as-needed -L"$T" -lhost_exit_dtor -lhost_exit_cxx -Wl,-rpath,"$T" ||
	die "cannot build the program"
export TZ=EST5EDT HOME=/kiln-home
"$T/host" >"$T/bare.out" 2>"$T/bare.err"
BARE_RC=$?
check_grep "bare run: the destructor sees HOME, the locale, tzname" "$T/bare.out" \
	'^lib fini: HOME=/kiln-home locale=C.UTF-8 tzname=\[EST,EDT\] saved=kept by the library$'
krun heap heap -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/host"
check_no_crash heap
check_eq "exit status unchanged" "$RC" "$BARE_RC"
if cmp -s "$T/bare.out" "$T/heap.out"; then ok "stdout byte for byte"; else
	fail "stdout differs"
	diff "$T/bare.out" "$T/heap.out" | sed 's/^/    | /'
fi
if cmp -s "$T/bare.err" "$T/heap.err"; then ok "stderr byte for byte"; else
	fail "stderr differs"
	diff "$T/bare.err" "$T/heap.err" | sed 's/^/    | /'
fi
J=$T/heap.json
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "definitely lost: main's leak" "$(cls definitely_lost)" "123 1"
check_eq "still reachable: none (the libraries freed theirs)" "$(cls still_reachable)" "0 0"
check_eq "possibly lost" "$(cls possibly_lost)" "0 0"
check_eq "indirectly lost" "$(cls indirectly_lost)" "0 0"
check_eq "not scanned" "$(cls not_scanned)" "0 0"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/host" >"$T/vg.out" 2>&1
	if cmp -s "$T/bare.out" "$T/vg.out"; then ok "valgrind's stdout matches"; else fail "stdout under valgrind differs"; fi
	check_eq "definitely lost as memcheck" "$(cls definitely_lost)" "$(valgrind_leak "$T/vg.log" "definitely lost")"
	vg_reach=$(valgrind_leak "$T/vg.log" "still reachable")
	check_eq "still reachable as memcheck" "$(cls still_reachable)" "${vg_reach:-0 0}"
else
	say "valgrind not installed: no comparison with memcheck"
fi
finish
