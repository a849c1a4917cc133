#!/bin/bash
# test_heap_static_cxx.sh - libstdc++'s exception pool in a program that
# links libstdc++ statically (issue 20, item 4): where the program exports
# __gnu_cxx::__freeres (-rdynamic; cc1 does), the agent calls it as
# valgrind does and the pool is freed; where it does not, the pool stays,
# still reachable, under valgrind too. Leak classes equal memcheck's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v g++ >/dev/null || skip "no g++"
SRC=$KILN_SRC/tests/fixtures/heap_static_cxx.cc
g++ -O2 -g -static-libstdc++ -rdynamic -o "$T/exported" "$SRC" || die "cannot build the exporting program"
g++ -O2 -g -static-libstdc++ -o "$T/hidden" "$SRC" || die "cannot build the program"
nm -D "$T/exported" | grep -q ' T _ZN9__gnu_cxx9__freeresEv$' || die "-rdynamic did not export __gnu_cxx::__freeres"
nm -D "$T/hidden" | grep -q '_ZN9__gnu_cxx9__freeresEv' && die "__gnu_cxx::__freeres is exported without -rdynamic"
ldd "$T/hidden" | grep -q 'libstdc++' && die "libstdc++ is linked dynamically"
for prog in exported hidden; do
	krun "$prog" heap -q -o "$T/$prog.kiln" --json "$T/$prog.json" -- "$T/$prog"
	check_no_crash "$prog"
	check_eq "$prog: exit status" "$RC" 0
done
cls() { hj "$T/$1.json" "'%d %d' % (d['leaks']['$2']['bytes'], d['leaks']['$2']['blocks'])"; }
check_eq "exported: the pool is freed" "$(cls exported still_reachable)" "0 0"
check_eq "hidden: the pool stays" "$(cls hidden still_reachable)" "72704 1"
for prog in exported hidden; do
	check_eq "$prog: definitely lost" "$(cls $prog definitely_lost)" "32 1"
	check_eq "$prog: indirectly lost" "$(cls $prog indirectly_lost)" "51 1"
done
if command -v valgrind >/dev/null; then
	for prog in exported hidden; do
		valgrind --leak-check=full --log-file="$T/$prog.vg" "$T/$prog" >/dev/null 2>&1
		for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
			vg=$(valgrind_leak "$T/$prog.vg" "$k")
			check_eq "$prog: $k as memcheck" "$(cls $prog "${k// /_}")" "${vg:-0 0}"
		done
	done
else
	say "valgrind not installed: no comparison with memcheck"
fi
finish
