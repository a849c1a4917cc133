#!/bin/bash
# test_flame_threads.sh - kiln flame draws folded stacks of a file of more
# than 1 MiB with two threads when it may use two cpus (the names
# interned on one, the tree built on the other); the SVG must be the one
# thread's to the byte: sorted mostly distinct stacks, the same lines
# shuffled (the tree goes back to packed subtrees), from a file and from a
# pipe (always one thread), and as folded output. KILN_FLAME_THREADS=1/2
# forces either path.
source "$(dirname "$0")/lib.sh"
[ -x "$KILN" ] || die "kiln binary '$KILN' not found or not executable (build it first)"
cd "$T" || die "no $T"

# 12,000 lines of 6 to 20 frames from 20,000 names under 16 roots (about
# 2.4 MB): the same file every run
awk 'BEGIN {
	x = 12345
	for (i = 0; i < 12000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		line = "main;app::worker_" (x % 16)
		n = 6 + int(x / 16) % 15
		for (d = 0; d < n; d++) {
			x = (x * 1103515245 + 12345) % 2147483648
			line = line ";crate_" (x % 10) "::m" (int(x / 10) % 50) "::f_" (int(x / 500) % 20000)
		}
		print line, 1 + int(x / 7) % 100
	}
}' | LC_ALL=C sort >sorted.folded
awk 'BEGIN {srand(7)} {print rand() "\t" $0}' sorted.folded | LC_ALL=C sort -k1,1 | cut -f2- >shuffled.folded
size=$(stat -c %s sorted.folded)
check_ge "input size (bytes, above the 1 MiB threshold)" "$size" 1048577

for f in sorted shuffled; do
	KILN_FLAME_THREADS=1 "$KILN" flame -q $f.folded -o $f-1.svg || fail "$f: one thread failed"
	KILN_FLAME_THREADS=2 "$KILN" flame -q $f.folded -o $f-2.svg || fail "$f: two threads failed"
	"$KILN" flame -q $f.folded -o $f-auto.svg || fail "$f: default failed"
	# from a pipe (the SVG says stdin): the default is one thread
	KILN_FLAME_THREADS=2 "$KILN" flame -q - -o $f-pipe2.svg <$f.folded || fail "$f: from a pipe failed"
	"$KILN" flame -q - -o $f-pipe1.svg <$f.folded || fail "$f: from a pipe failed"
	check_grep "$f: an SVG" $f-1.svg '</svg>'
	if cmp -s $f-pipe1.svg $f-pipe2.svg; then ok "$f: from a pipe, SVG of two threads identical to one's"; else
		fail "$f: from a pipe, SVG of two threads differs from one's"
	fi
	for other in 2 auto; do
		if cmp -s $f-1.svg $f-$other.svg; then ok "$f: SVG of '$other' identical to one thread's"; else
			fail "$f: SVG of '$other' differs from one thread's"
		fi
	done
	KILN_FLAME_THREADS=1 "$KILN" flame -q $f.folded -o $f-1.folded || fail "$f: folded, one thread failed"
	KILN_FLAME_THREADS=2 "$KILN" flame -q $f.folded -o $f-2.folded || fail "$f: folded, two threads failed"
	if cmp -s $f-1.folded $f-2.folded; then ok "$f: folded output identical"; else fail "$f: folded output differs"; fi
done
finish
