#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compile and link the C program of README.md (the fenced ```c block after the
# marker line <!-- readme-c -->) against this build's static library, with the
# project's warning flags, so the README's example cannot drift from the API.
#
# usage: test_readme_c.sh README.md CC LIBXSCHED_A INCLUDE_DIR... -- LIBS...
set -u
md=${1:?usage: test_readme_c.sh README.md CC LIB.a INCDIR... -- LIBS...}
cc=$2
lib=$3
shift 3
incs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do incs+=("-I$1"); shift; done
[ $# -gt 0 ] && shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs-readme-c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# the block: from the marker to the closing fence, without the fences
awk '/<!-- readme-c -->/ { m = 1; next }
     m == 1 && /^```c$/ { m = 2; next }
     m == 2 && /^```$/ { exit }
     m == 2 { print }' "$md" >"$tmp/readme.c"
if [ ! -s "$tmp/readme.c" ]; then
	echo "readme-c: no \`\`\`c block after <!-- readme-c --> in $md" >&2
	exit 1
fi
if ! "$cc" -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	"${incs[@]}" -o "$tmp/readme" "$tmp/readme.c" "$lib" "$@" 2>"$tmp/err"; then
	echo "readme-c: the README's C example does not build:" >&2
	cat -n "$tmp/readme.c" >&2
	cat "$tmp/err" >&2
	exit 1
fi
echo "readme-c: $(wc -l <"$tmp/readme.c") lines compiled and linked"
