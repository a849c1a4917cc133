#!/bin/bash
# check_format.sh - every C source of kiln is clang-format clean (.clang-format).
# `make format` fixes what this reports.
set -u
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "skipped: clang-format is not installed (make deps)"; exit 77; }
files=$(find src tests bench -name '*.[ch]' -not -path '*/corpus/*' -not -path '*/node_modules/*' | sort)
# One clang-format for many files: starting one per file took a minute
# on machines where a new process's pages are dear. It names each file
# it would change in a "file:line:col: error:" line.
err=$(echo "$files" | xargs clang-format --dry-run -Werror 2>&1 >/dev/null)
rc=$?
bad=$(echo "$err" | sed -nE 's/^([^:]+):[0-9]+:[0-9]+: error: .*clang-format-violations.*/\1/p' | sort -u)
if [ $rc != 0 ] && [ -z "$bad" ]; then
	echo "clang-format failed (status $rc):"
	echo "$err" | head -20
	exit 1
fi
for f in $bad; do
	echo "not clang-format clean: $f (run: clang-format -i $f)"
done
n=$(echo "$files" | wc -l)
nbad=$(echo -n "$bad" | grep -c . || true)
echo "$n files checked, $nbad not formatted"
[ "$nbad" = 0 ]
