#!/bin/bash
# test_flame_browser.sh - opens kiln flame graphs from disk in headless
# Chromium (Debian's /usr/bin/chromium via playwright-core, installed by
# `make deps`): the frames of a real fixture with the right widths, hover,
# click to zoom and reset, Ctrl-F search; keyboard use, search and zoom
# kept over a reload, the view without script; languages; a flame chart on
# a time axis; a box of small frames opened (in kiln's colours, kept over
# a reload); a differential graph's colours, and none for noise (two runs
# of many frames included: no frame significant). One browser runs every group.
source "$(dirname "$0")/lib.sh"
BROWSER_DIR=$KILN_SRC/tests/e2e/browser
command -v node >/dev/null || skip "node is missing (make deps)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (make deps)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] || skip "playwright-core is not installed (make deps)"
setup
cd "$T" || die "cannot cd to $T"

# browser NAME ARGS...: runs the node test, its lines become ours
browser() {
	local name=$1
	shift
	node "$BROWSER_DIR/flame_test.js" "$@" >"$T/$name.log" 2>&1
	local rc=$?
	[ $rc = 77 ] && skip "$(grep SKIPPED "$T/$name.log")"
	while IFS= read -r line; do
		case $line in
		ok:*) ok "${line#ok: }" ;;
		FAIL:*) fail "${line#FAIL: }" ;;
		*) say "$line" ;;
		esac
	done <"$T/$name.log"
	[ $rc = 0 ] || [ "$FAILURES" -gt 0 ] || fail "$name: node exited $rc"
}

"$KILN" flame -q -F 499 -o rust.svg --record-output rust.kiln -- "$FX/calltree_nofp" 1200ms ||
	die "kiln flame -- calltree_nofp failed"
"$KILN" flame -q -F 499 -o inlined.svg --record-output inlined.kiln -- "$FX/inlined_nofp" 300ms ||
	die "kiln flame -- inlined_nofp failed"
"$KILN" flame -q -F 499 -o c.svg --record-output c.kiln -- "$FX/c_calltree" 1200ms ||
	die "kiln flame -- c_calltree failed"

# languages, told from the names alone as folded input has nothing else
printf '%s\n' 'main;myapp::Server::run;boost::asio::io_context::run;std::vector<int, std::allocator<int> >::push_back 5' \
	'main;myapp::Server::run;operator new(unsigned long) 2' >cpp.folded
printf '%s\n' 'java/lang/Thread.run;com/example/App.handle;java/util/HashMap.get 4' \
	'java/lang/Thread.run;Interpreter;do_syscall_64_[k] 1' >java.folded
printf '%s\n' 'std::rt::lang_start;app::main;app::run;serde_json::de::from_str 3' \
	'std::rt::lang_start;app::main;app::run::{{closure}};<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop 2' \
	'runtime.mcall;main.main 1' >rust.folded
for l in cpp java rust; do "$KILN" flame -q "$l.folded" -o "lang_$l.svg" || die "kiln flame $l.folded failed"; done

# a flame chart on one time axis, from perf script text with exact times:
# thread 11 runs 100 ms, sleeps 300 ms, runs 100 ms; thread 12 runs 500 ms
python3 - >chart.txt <<'PY'
def ev(comm, tid, t, leaf):
    print("%s 10/%d [000] %.6f: 1000000 cpu-clock:\n\t1002 %s+0x1 (/bin/app)\n\t1001 main+0x1 (/bin/app)\n" % (comm, tid, t, leaf))
for k in range(100):
    ev("sleeper", 11, 1.001 + k * 0.001, "work_a")
    ev("sleeper", 11, 1.401 + k * 0.001, "work_a")
for k in range(500):
    ev("busy", 12, 1.001 + k * 0.001, "work_b")
PY
"$KILN" flame -q --flamechart chart.txt -o chart.svg || die "kiln flame --flamechart failed"

# a box of 100 frames too narrow to draw (1.2 px each, --min-width 2) opens
{
	echo 'main;big 900'
	for i in $(seq 10 109); do echo "main;f$i;g$i 1"; done
} >box.folded
"$KILN" flame -q --min-width 2 box.folded -o box.svg || die "kiln flame box.folded failed"
"$KILN" flame -q --min-width 0 box.folded -o box_all.svg || die "kiln flame box.folded failed"

# a known change: leaf_a three times as expensive in NEW
"$KILN" flame c.kiln --folded >base.folded 2>/dev/null
awk '{ n = $NF; if ($0 ~ /;leaf_a /) n = n * 3; $NF = n; print }' base.folded >new.folded
"$KILN" flame --diff base.folded new.folded -o diff.svg 2>/dev/null || die "kiln flame --diff failed"
# noise: NEW is BASE with a couple of samples moved between leaves (what a
# second run of the same command gives): nothing is significant
awk '{ n = $NF; if ($0 ~ /;leaf_a /) n = n + 2; else if ($0 ~ /;leaf_b / && n > 2) n = n - 2; $NF = n; print }' \
	base.folded >noise.folded
"$KILN" flame --diff base.folded noise.folded -o noise.svg 2>/dev/null || die "kiln flame --diff (noise) failed"

# two runs of the same program with many frames: 2000 leaves, 50,000
# samples each from the same shares (a fixed seed, so the same every time);
# tested one by one at 95% about a hundred frames would look changed. Then
# the same with one leaf at twice and one at half its share.
python3 - <<'PY'
import random
def run(seed, planted):
    rng = random.Random(seed)
    leaves = ["main;m%d;m%d_f%d" % (m, m, f) for m in range(40) for f in range(50)]
    weights = [1.0 / (k % 50 + 1) for k in range(len(leaves))]
    if planted:
        weights[0] *= 2    # m0_f0
        weights[50] /= 2   # m1_f0
    counts = {}
    for leaf in rng.choices(leaves, weights, k=50000):
        counts[leaf] = counts.get(leaf, 0) + 1
    return "".join("%s %d\n" % (k, v) for k, v in sorted(counts.items()))
open("many_a.folded", "w").write(run(1, False))
open("many_b.folded", "w").write(run(2, False))
open("many_c.folded", "w").write(run(2, True))
PY
"$KILN" flame --diff many_a.folded many_b.folded -o many_noise.svg 2>/dev/null || die "kiln flame --diff (many) failed"
"$KILN" flame --diff many_a.folded many_c.folded -o many_planted.svg 2>/dev/null || die "kiln flame --diff (planted) failed"

# one browser for all: each group is MODE FILE NAMES...
browser all \
	graph rust.svg 'leaf_a$' 'leaf_b$' '^calltree::run$' + \
	keys rust.svg '^calltree::run::\{\{closure\}\}$' 'leaf_a$' 'leaf_b$' + \
	static rust.svg + \
	hover inlined.svg '^inlined::helper$' \
	'^[0-9,]+ samples?, .* \u2014 inlined::helper \[inlined\] \(Rust, yours\) in inlined_nofp at .*inlined\.rs:[0-9]+$' + \
	graph c.svg '^leaf_a$' '^leaf_b$' '^run$' + \
	lang lang_cpp.svg '^myapp::Server::run$=C++' '^boost::asio::io_context::run$=C++' '^std::vector<=C++' '^main$=C' + \
	lang lang_java.svg '^java/lang/Thread.run$=Java' '^com/example/App.handle$=Java' '^do_syscall_64_\[k\]$=kernel' + \
	lang lang_rust.svg '^app::run$=Rust, yours' '^app::run::\{\{closure\}\}$=Rust, yours' \
	'^serde_json::de::from_str$=Rust crate' '^std::rt::lang_start$=Rust std' '^<alloc::vec=Rust std' '^main.main$=Go' + \
	lang rust.svg '^calltree::leaf_b$=Rust, yours' '^std::rt::lang_start_internal$=Rust std' '^main$=C' + \
	chart chart.svg '^work_a$' '^work_b$' + \
	box box.svg '^\[100 small frames\]$' '^f[0-9]+$' box_all.svg + \
	diff diff.svg '^leaf_a$' '^leaf_b$' + \
	diffnoise noise.svg + \
	diffnoise many_noise.svg + \
	diff many_planted.svg '^m0_f0$' '^m1_f0$'
finish
