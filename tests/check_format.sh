#!/bin/bash
# check_format.sh - every C source of kiln is clang-format clean (.clang-format).
# `make format` fixes what this reports.
set -u
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "skipped: clang-format is not installed (make deps)"; exit 77; }
files=$(find src tests bench -name '*.[ch]' -not -path '*/corpus/*' -not -path '*/node_modules/*' | sort)
bad=0
for f in $files; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not clang-format clean: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "$(echo "$files" | wc -l) files checked, $bad not formatted"
[ "$bad" = 0 ]
