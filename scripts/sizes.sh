#!/bin/bash
# scripts/sizes.sh: the house limits on size, checked rather than remembered.
#   no source file over 800 lines (except the documented encode/decode pair collector/block.c);
#   no function over 150 lines (except getopt tables' parsers and the CFA interpreter).
# Prints every breach and exits 1 if there is one. Functions are found by the project's layout
# (clang-format, Linux braces): a line "{" at column 0 opens a function body, "}" closes it.
set -u
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-800}
MAX_FUNC=${MAX_FUNC:-150}
# documented exceptions: file, or file:function
EXEMPT_FILES=" collector/block.c "
# parse_args: one getopt switch, a case per option
EXEMPT_FUNCS=" agent/cfi.c:run_program agent/options.c:parse_args "
bad=0
for f in $(git ls-files '*.c' '*.h' | grep -v -e '^vmlinux/' -e '^tests/'); do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$MAX_FILE" ] && [[ $EXEMPT_FILES != *" $f "* ]]; then
		echo "$f: $n lines (limit $MAX_FILE)"
		bad=1
	fi
	while read -r name len; do
		[[ $EXEMPT_FUNCS == *" $f:$name "* ]] && continue
		echo "$f: function $name is $len lines (limit $MAX_FUNC)"
		bad=1
	done < <(awk -v max="$MAX_FUNC" '
		/^[A-Za-z_].*\(/ { sig = $0 }
		/^\{/ { start = NR; name = sig; sub(/\(.*/, "", name); n = split(name, w, /[ *]+/); name = w[n] }
		/^\}/ && start { if (NR - start - 1 > max) print name, NR - start - 1; start = 0 }
	' "$f")
done
exit $bad
