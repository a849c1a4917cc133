#!/bin/bash
# test_heap_dlopen.sh - code of modules loaded with dlopen is named (issue
# 20, item 3; tests/fixtures/heap_dlopen_host.c and heap_dlopen_plug.c):
# a plugin allocates and leaks, is unloaded before exit, loaded again at
# another address and leaks again; both leaks' site is plug_init at its
# line in the plugin, with memcheck's classes. Python's _json extension
# module, loaded by import, is named in the sites whose stacks pass through it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
PLUG_SRC=$KILN_SRC/tests/fixtures/heap_dlopen_plug.c
cc -O2 -g -fPIC -shared -o "$T/libplug.so" "$PLUG_SRC" || die "cannot build the plugin"
cc -O2 -g -o "$T/host" "$KILN_SRC/tests/fixtures/heap_dlopen_host.c" -ldl || die "cannot build the host"
krun heap heap -q -n 50 -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/host" "$T/libplug.so"
check_no_crash heap
check_eq "exit status" "$RC" 0
read -r _ first second <"$T/heap.out"
check_ne "the plugin's second load address" "$second" "$first"
J=$T/heap.json
line=$(line_of "$PLUG_SRC" plug_alloc)
check_eq "the leaks' site: plug_init in the plugin, both loads" \
	"$(hj "$J" "sorted((s['site'], s['module'], s['definitely_lost_bytes'], s['leaked_blocks']) for s in d['by_leaked'] if s['definitely_lost_bytes'])")" \
	"[('plug_init $PLUG_SRC:$line', 'libplug.so', 3000, 2)]"
check_eq "no frame of any site is unknown" \
	"$(hj "$J" "[f for l in ('by_leaked', 'by_allocations') for s in d[l] for f in s['frames'] if '[unknown]' in f]")" "[]"
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "definitely lost" "$(cls definitely_lost)" "3000 2"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/host" "$T/libplug.so" >/dev/null 2>&1
	for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
		vg=$(valgrind_leak "$T/vg.log" "$k")
		check_eq "$k as memcheck" "$(cls "${k// /_}")" "${vg:-0 0}"
	done
else
	say "valgrind not installed: no comparison with memcheck"
fi

# python's _json: an extension module unless this python3 has it built in
PY=/usr/bin/python3 # Debian's, not a wrapper script on PATH
if [ ! -x "$PY" ]; then
	say "no $PY: the _json part is skipped"
elif ! "$PY" -c 'import _json, sys; sys.exit(0 if getattr(_json, "__file__", None) else 1)' 2>/dev/null; then
	say "$PY has _json built in: the _json part is skipped"
else
	krun py heap -q -n 200 -o "$T/py.kiln" --json "$T/py.json" -- "$PY" -c 'import json; json.dumps({"a":[1]*1000})'
	check_no_crash py
	check_eq "python3: exit status" "$RC" 0
	P=$T/py.json
	check_ge "python3: sites whose stack passes through _json" \
		"$(hj "$P" "sum(any('(_json.' in f or '_json.c:' in f for f in s['frames']) for s in d['by_allocations'])")" 1
	check_eq "python3: no frame of any site is unknown" \
		"$(hj "$P" "[f for s in d['by_allocations'] for f in s['frames'] if '[unknown]' in f]")" "[]"
fi
finish
