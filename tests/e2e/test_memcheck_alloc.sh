#!/bin/bash
# test_memcheck_alloc.sh - kiln memcheck's allocator (issue 11): --underflow
# puts the guard page before each block; --sample N guards about one
# allocation in N and passes the others to the real allocator; a million
# live blocks run under the default --max-guarded without running out of
# mappings or memory, with guard markers and with the mprotect fallback,
# and the summary says how many were not checked and why; C++'s new and
# delete are told apart from malloc and free (mismatched frees, with
# valgrind's verdict beside ours); a fork child keeps checking (see
# test_memcheck.sh); an exec is checked too, even with an environment of
# the program's own; a setuid target gets kiln's message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/memcheck_alloc.c
BIN=$T/memcheck_alloc
cc -O0 -g -o "$BIN" "$SRC" || die "cannot build $SRC"
ulimit -c 0
L() { line_of "$SRC" "$1"; }
F=memcheck_alloc.c
have_valgrind=0
command -v valgrind >/dev/null 2>&1 && have_valgrind=1

# --underflow: a read and a write just before a block fault at once, at
# their line, told against the block they precede
krun ur memcheck --underflow -- "$BIN" underflow_read
check_eq "--underflow: a read before the block stops the program" "$RC" 99
check_grep "--underflow: the read" "$T/ur.err" "^kiln memcheck: heap overflow: read at"
check_grep "--underflow: 1 byte before the block" "$T/ur.err" "is 1 bytes before a 64-byte block"
check_grep "--underflow: at its line" "$T/ur.err" "^    #0 0x[0-9a-f]* in underflow_read .*$F:$(L UNDER_READ)\$"
check_grep "--underflow: allocated at make's malloc" "$T/ur.err" "^    #0 0x[0-9a-f]* in make .*$F:$(L ALLOC)\$"
krun uw memcheck --underflow -- "$BIN" underflow_write
check_grep "--underflow: a write before the block, at its line" "$T/uw.err" "in underflow_write .*$F:$(L UNDER_WRITE)\$"
check_grep "--underflow: 4 bytes before" "$T/uw.err" "is 4 bytes before a 64-byte block"
# without it, the read goes unseen and the write is found at free
krun ur0 memcheck -- "$BIN" underflow_read
check_eq "no --underflow: the read before a block is not caught" "$RC" 0
krun uw0 memcheck -- "$BIN" underflow_write
check_grep "no --underflow: the write before a block is found at free" "$T/uw0.err" \
	"^kiln memcheck: heap overflow found at free: a write at"
check_grep "no --underflow: at the free's line" "$T/uw0.err" "in underflow_write .*$F:$(L UNDER_FREE)\$"

# --sample 4: a read past the end of each of 400 blocks is caught for
# about one in four (each seen block with its line); all without --sample
krun s4 memcheck --sample 4 --keep-going --json "$T/s4.json" -- "$BIN" past_ends
n=$(grep -c '^kiln memcheck: heap overflow: read at' "$T/s4.err")
check_between "--sample 4: some of the 400 reads past an end are caught ($n)" "$n" 40 200
check_grep "--sample 4: at their line" "$T/s4.err" "in past_ends .*$F:$(L PAST_END)\$"
check_grep "--sample 4: the summary says it sampled" "$T/s4.err" \
	"blocks guarded \\(about 1 in 4, --sample: errors and leaks are looked for in those only\\)"
# the blocks passed over go from malloc to free through the real allocator
# alone: only the sampled ones are tracked, and the mode never looks at
# the others' frees (it did for each before the bypass: about 300 here)
g=$(grep -o '"guarded": [0-9]*' "$T/s4.json" | grep -o '[0-9]*$')
check_between "--sample 4: only the sampled blocks are tracked ($g)" "${g:-0}" 40 200
check_grep "--sample 4: no free of a block passed over enters the mode" "$T/s4.json" '"foreign_frees": 0}'
krun s1 memcheck --keep-going -- "$BIN" past_ends
check_eq "no --sample: all 400 are caught" "$(grep -c '^kiln memcheck: heap overflow: read at' "$T/s1.err")" 400
# --sample's blocks come from a bounded pool of slots whose pages stay
# (no fault, no zeroing on reuse): 3000 guarded blocks freed one after the
# other use at most 257 addresses (256 freed ones wait closed; 3000 before
# the pool), calloc reads zeros in a reused slot, and a use after free of
# the last block is caught with its own allocation and free; with
# --quarantine 8192 one waits, and 2 slots serve some 1500 blocks each
for q in default 8192; do
	qa=()
	[ $q = default ] || qa=(--quarantine $q)
	krun slot_$q memcheck --sample 2 "${qa[@]}" -- "$BIN" slot_reuse
	d=$(sed -n 's/^distinct \([0-9]*\) .*/\1/p' "$T/slot_$q.out")
	# (at most: a block the C library freed before may take a slot too)
	check_between "--sample, quarantine $q: 3000 blocks in few slots (${d:-none})" "${d:-0}" 1 \
		"$([ $q = default ] && echo 257 || echo 2)"
	check_grep "--sample, quarantine $q: calloc reads zeros in a reused slot" "$T/slot_$q.out" " dirty 0\$"
	check_eq "--sample, quarantine $q: the use after free stops it" "$RC" 99
	check_grep "--sample, quarantine $q: as a use after free" "$T/slot_$q.err" "^kiln memcheck: use after free: read at"
	check_grep "--sample, quarantine $q: of the last block" "$T/slot_$q.err" "is 3 bytes inside a freed 20-byte block"
	check_eq "--sample, quarantine $q: the read at its line" \
		"$(grep -A1 '^  the read:' "$T/slot_$q.err" | sed -n 's/.* \([^ ]*:[0-9][0-9]*\)$/\1/p')" "$SRC:$(L UAF_LAST)"
	check_grep "--sample, quarantine $q: the last block's allocation" "$T/slot_$q.err" \
		"^    #0 0x[0-9a-f]* in make_last .*$F:$(L ALLOC_LAST)\$"
	check_grep "--sample, quarantine $q: the last block's free" "$T/slot_$q.err" \
		"^    #0 0x[0-9a-f]* in slot_reuse .*$F:$(L FREE_LAST)\$"
done
if [ $have_valgrind = 1 ]; then
	valgrind -q --log-file="$T/slot.vg" "$BIN" slot_reuse >/dev/null 2>&1
	check_grep "valgrind finds the use after free too" "$T/slot.vg" "Invalid read of size 1"
fi

# sampled, a clean threaded program runs unchanged
krun s0 memcheck --sample 0 -- "$BIN" many
check_eq "--sample 0 is a usage error" "$RC" 2
check_grep "and says the range" "$T/s0.err" "from 1 to"

# a million live blocks: the default --max-guarded leaves room (mappings,
# memory); the rest are served unchecked and the summary says so
for way in markers mprotect; do
	env=()
	[ $way = mprotect ] && env=(env KILN_MEMCHECK_MPROTECT=1)
	rm -f "$T/many.$way.rss"
	"${env[@]}" /usr/bin/time -f %M -o "$T/many.$way.rss" "$KILN" memcheck -- "$BIN" many \
		>"$T/many.$way.out" 2>"$T/many.$way.err"
	check_eq "$way: a million live blocks: the program's status" "$?" 0
	check_grep "$way: its result" "$T/many.$way.out" "^sum 500000500000\$"
	check_grep "$way: the summary says what was not checked and why" "$T/many.$way.err" \
		"^kiln memcheck: no errors in [0-9]* guarded blocks, [0-9]* not checked \\([0-9]* guarded blocks were live: --max-guarded\\)"
	check_le "$way: peak RSS under 1 GiB (KiB)" "$(tail -1 "$T/many.$way.rss")" 1048576
done
krun mg memcheck --max-guarded 1000 -- "$BIN" many
check_grep "--max-guarded 1000: 999000 blocks or so not checked" "$T/mg.err" \
	"not checked \\(1000 guarded blocks were live: --max-guarded\\)"
krun mg0 memcheck --max-guarded 0 -- "$BIN" many
check_eq "--max-guarded 0 is a usage error" "$RC" 2

# exec: the new image is checked, with the environment it had or with one
# of its own that left LD_PRELOAD out
for m in exec exec_clearenv; do
	krun $m memcheck -- "$BIN" $m
	check_eq "$m: the exec'd image's use after free stops it" "$RC" 99
	check_grep "$m: caught at its line" "$T/$m.err" "in uaf_read .*$F:$(L UAF_READ)\$"
done

# C++: new/delete against malloc/free and new[]/delete[]
CXX_SRC=$KILN_SRC/tests/fixtures/memcheck_mismatch.cc
CXX=$T/memcheck_mismatch
if c++ -O0 -g -o "$CXX" "$CXX_SRC" 2>"$T/cxx.log"; then
	CL() { line_of "$CXX_SRC" "$1"; }
	# mode | our headline | the free's line | the allocation's marker | valgrind's headline
	TABLE="new_free|mismatched free: free(0x[0-9a-f]*) of a block from new |NEW_FREE|NEW|Mismatched free\\(\\) / delete / delete \\[\\]
malloc_delete|mismatched free: delete(0x[0-9a-f]*) of a block from malloc |MALLOC_DELETE|MALLOC|Mismatched free\\(\\) / delete / delete \\[\\]
array_delete|mismatched free: delete(0x[0-9a-f]*) of a block from new\\[\\] |ARRAY_DELETE|NEW_ARRAY|Mismatched free\\(\\) / delete / delete \\[\\]
new_array_delete|mismatched free: delete\\[\\](0x[0-9a-f]*) of a block from new |NEW_ARRAY_DELETE|NEW|Mismatched free\\(\\) / delete / delete \\[\\]"
	while IFS='|' read -r mode head at alloc vg; do
		krun "$mode" memcheck -- "$CXX" "$mode"
		check_eq "$mode: stopped with the error status" "$RC" 99
		check_grep "$mode: the kind" "$T/$mode.err" "^kiln memcheck: ${head//(/\\(}"
		check_grep "$mode: the free at its line" "$T/$mode.err" "^    #0 0x[0-9a-f]* in main .*memcheck_mismatch.cc:$(CL "$at")\$"
		check_grep "$mode: the allocation at its line" "$T/$mode.err" "memcheck_mismatch.cc:$(CL "$alloc")\$"
		check_grep "$mode: the summary" "$T/$mode.err" "^kiln memcheck: 1 error \\(1 mismatched free\\)"
		if [ $have_valgrind = 1 ]; then
			valgrind -q --log-file="$T/$mode.vg" "$CXX" "$mode" >/dev/null 2>&1
			check_grep "$mode: valgrind finds it too" "$T/$mode.vg" "$vg"
		fi
	done <<<"$TABLE"
	# the families in the JSON report
	krun nf_json memcheck --json "$T/nf.json" -- "$CXX" new_free
	check_grep "--json: a mismatched free names both families" "$T/nf.json" \
		'"kind": "mismatched-free".*"families": {"alloc": "new", "free": "free"}'
	"$CXX" clean >"$T/cxx_clean.bare" 2>&1
	krun cxx_clean memcheck -- "$CXX" clean
	check_eq "C++ clean (aligned, nothrow, string, vector): status" "$RC" 0
	check_eq "C++ clean: stdout as without kiln" "$(cat "$T/cxx_clean.out")" "$(cat "$T/cxx_clean.bare")"
	check_eq "C++ clean: nothing on stderr" "$(cat "$T/cxx_clean.err")" ""
	krun cxx_s memcheck --sample 3 -- "$CXX" clean
	check_eq "C++ clean, sampled: stdout as without kiln" "$(cat "$T/cxx_s.out")" "$(cat "$T/cxx_clean.bare")"
	# the heap mode still sees every C++ allocation through malloc
	"$KILN" heap -q -o "$T/cxx.kiln" -- "$CXX" clean >"$T/cxx_heap.out" 2>"$T/cxx_heap.err"
	check_eq "kiln heap on C++: the program's status" "$?" 0
	check_eq "kiln heap on C++: its output" "$(cat "$T/cxx_heap.out")" "$(cat "$T/cxx_clean.bare")"
else
	say "no C++ compiler ($(head -1 "$T/cxx.log")): the mismatched frees are not checked"
fi

# setuid: the loader ignores LD_PRELOAD, and kiln says nothing was checked
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$T/suid" && chmod 755 "$T/suid"
	cp "$BIN" "$T/suid/prog" && chown nobody "$T/suid/prog" && chmod 4755 "$T/suid/prog"
	krun suid memcheck -- "$T/suid/prog" uaf_read
	if grep -q "the agent did not start" "$T/suid.err"; then
		ok "setuid: kiln says nothing was checked"
		check_grep "setuid: the program ran" "$T/suid.out" "^survived uaf_read\$"
		check_grep "setuid: the message names it" "$T/suid.err" "setuid"
	elif grep -q "^kiln memcheck:" "$T/suid.err"; then
		say "setuid did not take effect here (nosuid mount?): not checked"
	else
		fail "setuid: neither checked nor said so"
	fi
else
	say "not root: the setuid case is not checked"
fi

# the new options are in --help and the man page
krun help memcheck --help
for o in --sample --underflow --max-guarded; do
	check_grep "--help names $o" "$T/help.out" "$o"
	check_grep "kiln-memcheck.1 names $o" "$KILN_SRC/docs/man/kiln-memcheck.1" "$(sed 's/-/\\\\-/g' <<<"$o")"
done

finish
