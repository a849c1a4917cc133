#!/bin/bash
# test_heap_rust_plugin.sh - a Rust library with its own #[global_allocator]
# loaded later with dlopen (issue 16): its allocator shim is diverted when
# it is loaded, so a C host's Rust plugin on an mmap allocator
# (tests/fixtures/heap_rust_plugin.rs) gives the same sites, temporaries
# and leak as the same plugin on System. A dlopen by bare name still
# searches the caller's RUNPATH (the agent's dlopen passes it on as a tail
# call, so the loader sees the program as the caller).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v rustc >/dev/null 2>&1 || skip "rustc not installed"
SRC=$KILN_SRC/tests/fixtures/heap_rust_plugin.rs
CFG='cfg(galloc, values("mmap", "count"))'
cc -O2 -g -o "$T/host" "$KILN_SRC/tests/fixtures/heap_rust_plugin_host.c" || die "cannot build the host"
plugin() { # NAME [CFG]
	rustc -C opt-level=2 -g --crate-type cdylib --crate-name heap_rust_plugin --check-cfg "$CFG" \
		${2:+--cfg "galloc=\"$2\""} -o "$T/$1.so" "$SRC" 2>"$T/$1.rustc" || die "cannot build $1: $(head -5 "$T/$1.rustc")"
}
plugin sys &
plugin mmp mmap &
wait
L() { echo "heap_rust_plugin.rs:$(line_of "$SRC" "$1")"; }

for p in sys mmp; do
	krun "$p" heap -o "$T/$p.kiln" --json "$T/$p.json" -- "$T/host" "$T/$p.so" 1000
	check_eq "$p: exit status" "$RC" 0
	check_grep "$p: output passes through" "$T/$p.out" "^plugin made 48000 bytes\$"
	J=$T/$p.json
	check_eq "$p: temporaries in the plugin" "$(hj "$J" "site('$(L PLUG_TEMP)', 'by_temporary')['temporary']")" 1000
	check_eq "$p: bytes in the plugin" "$(hj "$J" "site('$(L PLUG_TEMP)')['allocated_bytes']")" 48000
	check_eq "$p: the leak in the plugin" \
		"$(hj "$J" "site('$(L PLUG_LEAK)', 'by_leaked')['definitely_lost_bytes']")" 64
done
check_eq "mmp: the path" "$(hj "$T/mmp.json" "d['allocator']['path'], d['allocator']['global']")" \
	"('rust_shim', 'custom')"
check_eq "sys: the path" "$(hj "$T/sys.json" "d['allocator']['path'], d['allocator']['global']")" "('malloc', 'System')"

# dlopen("libplug_rp.so") from a host whose RUNPATH is $ORIGIN
cc -O2 -g -Wl,--enable-new-dtags,-rpath,'$ORIGIN' -o "$T/host_rp" "$KILN_SRC/tests/fixtures/heap_rust_plugin_host.c" ||
	die "cannot build the RUNPATH host"
cp "$T/mmp.so" "$T/libplug_rp.so"
krun runpath heap -o "$T/runpath.kiln" -- "$T/host_rp" libplug_rp.so 10
check_eq "runpath: the plugin is found by the caller's RUNPATH" "$RC" 0
check_grep "runpath: it ran" "$T/runpath.out" "^plugin made 480 bytes\$"
finish
