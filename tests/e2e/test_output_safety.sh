#!/bin/bash
# test_output_safety.sh - kiln never destroys a user's file (issue 22 items
# 1, 2, 3, 13) and says honestly what went wrong, with one exit status rule
# (items 11, 12, 15): a command that cannot start keeps the old profile; an
# old profile moves to FILE.old; a file that is not a profile needs -f; a
# full disk stops the command, says so and keeps what was written; a full
# disk under flame/collapse says "No space left on device" and leaves no
# empty file; 2 for usage errors, 1 for failures, the command's status.
source "$(dirname "$0")/lib.sh"
setup
cd "$T" || die "cd $T"

# same FILE A B: the two files have the same bytes
same() { cmp -s "$2" "$3" && ok "$1" || fail "$1: '$3' changed"; }
# no_tmp: no temporary file was left beside the outputs
no_tmp() {
	local left
	left=$(find "$T" -name '*.tmp.*' | head -3)
	[ -z "$left" ] && ok "$1: no temporary file left" || fail "$1: left $left"
}

krun base record -q -o base.kiln -- "$FX/c_calltree" 300ms
[ -s base.kiln ] || die "no profile to start from: $(cat base.err)"

# --- item 1: a command that cannot start keeps the profile
cp base.kiln profile.kiln
krun missing record -- ./no-such-binary
check_eq "record -- ./no-such-binary: status" "$RC" 127
same "record -- ./no-such-binary keeps profile.kiln" base.kiln profile.kiln
cp base.kiln exist.kiln
krun missing_o record -o exist.kiln -- ./no-such-binary
check_eq "record -o exist.kiln -- ./no-such-binary: status" "$RC" 127
same "record -o exist.kiln keeps it" base.kiln exist.kiln
krun noexec record -- /etc/passwd
check_eq "record -- /etc/passwd: status" "$RC" 126
same "record -- /etc/passwd keeps profile.kiln" base.kiln profile.kiln
cp base.kiln flamegraph.kiln
echo '<svg/>' >flamegraph.svg
krun flame_typo flame -- ./typo
check_eq "flame -- ./typo: status" "$RC" 127
same "flame -- ./typo keeps flamegraph.kiln" base.kiln flamegraph.kiln
check_eq "flame -- ./typo keeps flamegraph.svg" "$(cat flamegraph.svg)" '<svg/>'
cp base.kiln heap.kiln
krun heap_typo heap -- ./typo
check_eq "heap -- ./typo: status" "$RC" 127
same "heap -- ./typo keeps heap.kiln" base.kiln heap.kiln
no_tmp "commands that cannot start"
# one message and one status rule for a command that cannot be run, in
# every command that runs one (cmd_exec_error): 127 not found, 126 not
# executable, as a shell says
for cmd in record heap stat flame; do
	krun "nf_$cmd" "$cmd" -o "nf_$cmd.out" -- ./no-such-binary
	check_eq "$cmd -- ./no-such-binary: status" "$RC" 127
	check_grep "$cmd -- ./no-such-binary: the one message" "nf_$cmd.err" \
		"^kiln: cannot run './no-such-binary': no such file or command \(check the name and PATH\)$"
	krun "nx_$cmd" "$cmd" -o "nx_$cmd.out" -- /etc/passwd
	check_eq "$cmd -- /etc/passwd: status" "$RC" 126
	check_grep "$cmd -- /etc/passwd: the one message" "nx_$cmd.err" \
		"^kiln: cannot run '/etc/passwd': permission denied \(not executable, or on a noexec mount\)$"
done

# --- item 2: the old profile goes to .old; a foreign file needs -f
krun rerun record -q -- /bin/true
check_eq "record over a profile: status" "$RC" 0
same "the previous profile is profile.kiln.old" base.kiln profile.kiln.old
echo precious >p.kiln
krun foreign record -o p.kiln -- /bin/true
check_eq "record -o p.kiln (not a profile): status" "$RC" 1
check_grep "the refusal names -f" foreign.err "not a kiln profile.*-f"
check_eq "p.kiln is untouched" "$(cat p.kiln)" precious
krun forced record -q -f -o p.kiln -- /bin/true
check_eq "record -f -o p.kiln: status" "$RC" 0
check_eq "with -f the old file is p.kiln.old" "$(cat p.kiln.old)" precious
krun forced_reads report p.kiln
check_eq "with -f p.kiln is a profile" "$RC" 0
echo precious >h.kiln
krun heap_foreign heap -o h.kiln -- /bin/true
check_eq "heap -o h.kiln (not a profile): status" "$RC" 1
check_eq "h.kiln is untouched" "$(cat h.kiln)" precious
no_tmp "refusals"

# --- items 13 and 15 on /dev/full (no mount needed)
"$KILN" flame -o - base.kiln >/dev/full 2>full_svg.err
check_eq "flame -o - >/dev/full: status" "$?" 1
check_grep "flame -o - >/dev/full: message" full_svg.err "No space left on device"
"$KILN" flame --folded base.kiln >/dev/full 2>full_folded.err
check_eq "flame --folded >/dev/full: status" "$?" 1
check_grep "flame --folded >/dev/full: message" full_folded.err "No space left on device"
"$KILN" collapse base.kiln >/dev/full 2>full_collapse.err
check_eq "collapse >/dev/full: status" "$?" 1
check_grep "collapse >/dev/full: message" full_collapse.err "No space left on device"

# --- item 12: dwarf stack sizes as perf takes them
for v in dwarf,99999999 dwarf,65529 dwarf,100 dwarf,7 dwarf, dwarfx; do
	krun cg record --call-graph "$v" -- /bin/true
	check_eq "record --call-graph $v: status" "$RC" 2
done
check_grep "the message gives the range" cg.err "multiple of 8 from 64 to 65528"
krun cg_ok record -q -o cg.kiln --call-graph dwarf,65528 -- /bin/true
check_eq "record --call-graph dwarf,65528: status" "$RC" 0
krun cg_flame flame --call-graph dwarf,65529 -- /bin/true
check_eq "flame --call-graph dwarf,65529: status" "$RC" 2
krun cg_cargo cargo --call-graph dwarf,65529
check_eq "cargo kiln --call-graph dwarf,65529: status (before any build)" "$RC" 2

# --- item 15: 2 for usage errors everywhere, 1 for failures
for c in record report flame collapse stat heap annotate; do
	krun "bad_$c" "$c" --no-such-option
	check_eq "kiln $c --no-such-option: status" "$RC" 2
done
krun ev_record record -e nosuch -- /bin/true
check_eq "record -e nosuch: status" "$RC" 2
krun ev_stat stat -e nosuch -- /bin/true
check_eq "stat -e nosuch: status" "$RC" 2
krun re_focus flame --focus '(' base.kiln
check_eq "flame --focus '(': status" "$RC" 2
krun re_exclude flame --exclude '(' base.kiln
check_eq "flame --exclude '(': status" "$RC" 2
krun val_report report --value nosuch base.kiln
check_eq "report --value nosuch: status" "$RC" 2
krun val_flame flame --value nosuch base.kiln
check_eq "flame --value nosuch: status" "$RC" 2
krun nofile report no-such.kiln
check_eq "report no-such.kiln (a failure): status" "$RC" 1
krun status_passes record -q -o st.kiln -- "$FX/c_calltree" 10 7
check_eq "record passes the command's status" "$RC" 7

# --- item 11: another user's process is not a paranoid problem
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
	mkdir -p "$T/nobody" && chmod 777 "$T/nobody"
	runuser -u nobody -- "$KILN" record -o "$T/nobody/n.kiln" -p 1 >/dev/null 2>other.err
	check_eq "record -p 1 as nobody: status" "$?" 1
	check_grep "record -p 1 as nobody names the owner" other.err "not allowed to record process 1 \(owned by uid 0\); run as its owner or root"
	check_no_grep "record -p 1 as nobody: no paranoid advice" other.err "paranoid"
	[ ! -e "$T/nobody/n.kiln" ] && ok "record -p 1 as nobody leaves no file" || fail "record -p 1 as nobody left n.kiln"
	runuser -u nobody -- "$KILN" stat -p 1 >/dev/null 2>other_stat.err
	check_grep "stat -p 1 as nobody: the same rule" other_stat.err "not allowed to count process 1 \(owned by uid 0\)"
else
	say "skipped the other-user case: needs root and runuser"
fi

# --- items 3 and 13 on a full tmpfs
M=$T/full
mkdir -p "$M"
if ! mount -t tmpfs -o size=64k kiln-full "$M" 2>mount.err; then
	say "skipped the full-disk cases: cannot mount a tmpfs ($(cat mount.err))"
	finish
fi
trap 'umount "$M" 2>/dev/null' EXIT
# 0 bytes free: nothing starts, nothing is replaced, no empty file
cp base.kiln "$M/zero.kiln"
echo '<svg>old</svg>' >"$M/old.svg"
dd if=/dev/zero of="$M/fill" bs=4k count=64 2>/dev/null
krun zero record -o "$M/zero.kiln" -- "$FX/c_calltree" 300ms
check_eq "record on a full disk: status" "$RC" 1
check_grep "record on a full disk: message" zero.err "No space left on device"
same "record on a full disk keeps zero.kiln" base.kiln "$M/zero.kiln"
krun svg flame -o "$M/old.svg" base.kiln
check_eq "flame -o on a full disk: status" "$RC" 1
check_grep "flame -o on a full disk: message" svg.err "No space left on device"
check_no_grep "flame -o on a full disk: not Input/output error" svg.err "Input/output"
check_eq "flame -o on a full disk keeps the old SVG" "$(cat "$M/old.svg")" '<svg>old</svg>'
krun svg_new flame -o "$M/new.svg" base.kiln
[ ! -e "$M/new.svg" ] && ok "flame -o on a full disk leaves no empty SVG" || fail "left $(stat -c %s "$M/new.svg")-byte new.svg"
krun folded flame --folded -o "$M/x.folded" base.kiln
check_eq "flame --folded -o on a full disk: status" "$RC" 1
check_grep "flame --folded -o on a full disk: message" folded.err "No space left on device"
krun collapse collapse -o "$M/c.folded" base.kiln
check_eq "collapse -o on a full disk: status" "$RC" 1
check_grep "collapse -o on a full disk: message" collapse.err "No space left on device"
[ ! -e "$M/x.folded" ] && [ ! -e "$M/c.folded" ] && ok "no empty folded files" || fail "left an empty folded file"
# a little room: the command starts, the disk fills, kiln stops it and says so
rm -f "$M"/*
dd if=/dev/zero of="$M/fill" bs=4k count=14 2>/dev/null
krun some record -o "$M/some.kiln" -- "$FX/c_calltree" 20000ms
check_eq "record until the disk fills: status" "$RC" 1
check_grep "record until the disk fills: says why and what it did" some.err \
	"No space left on device; stopped the command \(SIGINT\) after [0-9.]+ s; the profile up to then is in"
krun some_report report "$M/some.kiln"
check_eq "the cut profile opens" "$RC" 0
check_grep "the cut profile is marked cut short" some_report.err "cut short"
check_ge "the cut profile is not empty (bytes)" "$(stat -c %s "$M/some.kiln")" 100
no_tmp "full disk"
finish
