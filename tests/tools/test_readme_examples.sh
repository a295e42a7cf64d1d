#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run the example commands of a Markdown file (README.md) against this build.
#
# usage: test_readme_examples.sh FILE.md BIN_DIR...
#
# Which blocks run: a fenced block (```sh, ```bash or ```) preceded by the
# marker line
#     <!-- readme-test -->
# (blank lines may stand between). The marker may list the exit statuses a
# command of that block may end with, for commands whose verdict depends on
# the host (xsched-doctor exits 1 when a check FAILs):
#     <!-- readme-test exit=0,1 -->
# Unmarked blocks are never run (install steps, the whole-suite command).
#
# How a block runs: one logical line at a time (a trailing backslash joins
# lines; blank and comment-only lines are skipped), each with bash -c, from a
# private temporary directory, with the BIN_DIRs first in PATH (so
# `xsched-topo` is this build's) and every "/tmp/" in the line rewritten to
# that private directory (socket paths of two runs never meet). A line ending
# in "&" starts in the background; the block waits for those at its end and
# checks their status too. Each command has 300 s. A failing line is reported
# with its file line number, the command and its output; the script then
# exits 1. No marked block at all: a CTest skip (77).
set -u
md=${1:?usage: test_readme_examples.sh FILE.md BIN_DIR...}
shift
for d in "$@"; do PATH="$d:$PATH"; done
export PATH
[ -r "$md" ] || { echo "readme-test: cannot read $md" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs-readme.XXXXXX")
bg_pids=()
cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

nblocks=0 ncmds=0 nfailed=0

allowed_has() { # status, comma list
	local s
	IFS=, read -ra s <<<"$2"
	for x in "${s[@]}"; do [ "$x" = "$1" ] && return 0; done
	return 1
}

report_fail() { # lineno, command, status, allowed, output file
	echo "readme-test: $md:$1: FAILED (exit $3, allowed $4): $2"
	echo "----- its output (last 60 lines) -----"
	tail -n 60 "$5"
	echo "--------------------------------------"
	nfailed=$((nfailed + 1))
}

# Run the logical line $2 (from file line $1); $3 = allowed statuses.
run_line() {
	local lineno=$1 line=$2 allowed=$3 out rc cmd
	line=${line//\/tmp\//$tmp\/}
	ncmds=$((ncmds + 1))
	out="$tmp/.out.$ncmds"
	if [[ $line =~ ^(.*[^&])\&[[:space:]]*(#.*)?$ ]]; then
		cmd=${BASH_REMATCH[1]}
		echo "readme-test: $md:$lineno: \$ $cmd &"
		( timeout 300 bash -c "$cmd" </dev/null >"$out" 2>&1; echo $? >"$out.rc" ) &
		bg_pids+=($!)
		bg_info+=("$lineno|$cmd|$allowed|$out")
		return
	fi
	echo "readme-test: $md:$lineno: \$ $line"
	timeout 300 bash -c "$line" </dev/null >"$out" 2>&1
	rc=$?
	if ! allowed_has "$rc" "$allowed"; then
		report_fail "$lineno" "$line" "$rc" "$allowed" "$out"
	fi
}

# The background commands of a block: wait, then check each.
finish_block() {
	local i info lineno cmd allowed out rc
	for i in "${!bg_pids[@]}"; do
		wait "${bg_pids[$i]}" 2>/dev/null
		IFS='|' read -r lineno cmd allowed out <<<"${bg_info[$i]}"
		rc=$(cat "$out.rc" 2>/dev/null || echo 255)
		if ! allowed_has "$rc" "$allowed"; then
			report_fail "$lineno" "$cmd &" "$rc" "$allowed" "$out"
		fi
	done
	bg_pids=()
	bg_info=()
}

pending="" in_block=0 logical="" start=0 n=0
bg_info=()
while IFS= read -r raw || [ -n "$raw" ]; do
	n=$((n + 1))
	if [ "$in_block" -eq 1 ]; then
		if [[ $raw =~ ^[[:space:]]*\`\`\`[[:space:]]*$ ]]; then
			[ -z "$logical" ] || run_line "$start" "$logical" "$allowed"
			logical=""
			finish_block
			in_block=0
			continue
		fi
		if [ -z "$logical" ]; then
			[[ $raw =~ ^[[:space:]]*(#.*)?$ ]] && continue
			start=$n
		fi
		if [[ $raw =~ ^(.*)\\$ ]]; then
			logical+="${BASH_REMATCH[1]} "
			continue
		fi
		logical+=$raw
		run_line "$start" "$logical" "$allowed"
		logical=""
		continue
	fi
	if [[ $raw =~ ^[[:space:]]*\<\!--[[:space:]]*readme-test([[:space:]]+exit=([0-9,]+))?[[:space:]]*--\>[[:space:]]*$ ]]; then
		pending=${BASH_REMATCH[2]:-0}
		continue
	fi
	if [ -n "$pending" ]; then
		if [[ $raw =~ ^[[:space:]]*\`\`\`(sh|bash|shell)?[[:space:]]*$ ]]; then
			in_block=1
			allowed=$pending
			pending=""
			nblocks=$((nblocks + 1))
		elif [[ ! $raw =~ ^[[:space:]]*$ ]]; then
			echo "readme-test: $md:$n: a readme-test marker must be followed by a fenced block"
			nfailed=$((nfailed + 1))
			pending=""
		fi
	fi
done <"$md"
if [ "$in_block" -eq 1 ]; then
	echo "readme-test: $md: the last marked block is not closed"
	nfailed=$((nfailed + 1))
fi

if [ "$nblocks" -eq 0 ] && [ "$nfailed" -eq 0 ]; then
	echo "SKIP: $md marks no example block (<!-- readme-test --> before a \`\`\`sh block)"
	exit 77
fi
echo "readme-test: $ncmds commands in $nblocks blocks, $nfailed failed"
[ "$nfailed" -eq 0 ]
