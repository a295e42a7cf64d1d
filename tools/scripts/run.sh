#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# xsched: one entry point for the README's two commands.
#   bash tools/scripts/run.sh bench   install what is missing, build in build-bench/ with
#                                     -march=native, run bench/queue_latency
#   bash tools/scripts/run.sh test    install what is missing, build and run the whole suite:
#                                     plain (build/), ASan+UBSan (build-asan/), TSan
#                                     (build-tsan/, concurrent tests), fuzz smoke (build-fuzz/)
# Extra arguments after "bench" go to queue_latency. Environment: XS_JOBS (parallel jobs).
# "test" runs every pass even when one fails and ends with one line: the totals
# of all passes (passed, failed, skipped) and the failed tests' names; its exit
# status is non-zero when anything failed. The shared build/ is never built
# with -march=native (the bench has its own folder), so a later
# `cmake --install build` installs a portable build.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
jobs=${XS_JOBS:-$(nproc)}

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "xsched: installing ${missing[*]}" >&2
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

base_pkgs=(build-essential cmake pkg-config liburing-dev libhwloc-dev libncurses-dev libmicrohttpd-dev)
peer_pkgs=(libboost-dev libck-dev libdpdk-dev gnuplot-nox)
test_pkgs=(clang libclang-rt-14-dev strace procps tmux curl prometheus)

# Totals over every ctest pass, for the closing line.
passed=0 failed=0 skipped=0
failed_names=()

# Add one pass's results: ctest's summary line gives the total and the
# failures (skipped tests count as passed there), the "did not run" list the
# skips, the "FAILED" list the names. A pass whose ctest failed without
# naming a test (no tests found, ctest itself broke) is a failure too.
tally() { # pass name, ctest output file, ctest exit status
	local pass=$1 log=$2 rc=$3 line n f s names
	line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1 || true)
	n=$(sed -nE 's/.* failed out of ([0-9]+).*/\1/p' <<<"$line")
	f=$(sed -nE 's/.*passed, ([0-9]+) tests? failed.*/\1/p' <<<"$line")
	s=$(sed -n '/^The following tests did not run:/,/^$/p' "$log" |
		grep -cE '^[[:space:]]+[0-9]+ - .* \((Skipped|Disabled)\)$' || true)
	passed=$((passed + ${n:-0} - ${f:-0} - ${s:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
	names=$(sed -n '/^The following tests FAILED:/,$p' "$log" |
		sed -nE 's/^[[:space:]]+[0-9]+ - (.*) \([^)]*\)$/\1/p')
	for f in $names; do failed_names+=("$pass:$f"); done
	if [ "$rc" -ne 0 ] && [ -z "$names" ]; then
		failed=$((failed + 1))
		failed_names+=("$pass:(ctest exit $rc)")
	fi
}

# Run one ctest pass (the command given, e.g. `env ... ctest ...`) with its
# output on the terminal and in <dir>.ctest.log, without ctest's "Internal
# ctest changing into directory" line; never stops the script.
pass_ctest() { # pass name, build dir, command...
	local pass=$1 dir=$2 rc; shift 2
	set +e
	"$@" 2>&1 | grep --line-buffered -v '^Internal ctest changing into directory' |
		tee "$top/$dir.ctest.log"
	rc=${PIPESTATUS[0]}
	set -e
	tally "$pass" "$top/$dir.ctest.log" "$rc"
}

# Configure and build @dir; 1 (and the log's tail) when either fails.
configure() { # dir, extra cmake args...
	local dir=$1; shift
	if ! cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" \
		>"$top/$dir.configure.log" 2>&1; then
		tail -n 60 "$top/$dir.configure.log"
		return 1
	fi
	echo "xsched: building $dir (log: $dir.build.log)" >&2
	if ! cmake --build "$top/$dir" -j "$jobs" >"$top/$dir.build.log" 2>&1; then
		tail -n 60 "$top/$dir.build.log"
		return 1
	fi
}

# A pass that could not be built counts as one failure, named after it.
build_failed() { # pass name, dir
	echo "xsched: $1 pass not run: building $2 failed (log: $2.build.log)" >&2
	failed=$((failed + 1))
	failed_names+=("$1:(build failed)")
}

case "${1:-}" in
bench)
	shift
	need_pkgs "${base_pkgs[@]}" "${peer_pkgs[@]}"
	# its own folder: build/ (tests, cmake --install) stays a portable build
	configure build-bench -DXS_NATIVE=ON -DXS_BUILD_TESTS=OFF || exit 1
	exec "$top/build-bench/bench/queue_latency" "$@"
	;;
test)
	need_pkgs "${base_pkgs[@]}" "${peer_pkgs[@]}" "${test_pkgs[@]}"
	start=$(date +%s)
	echo "== plain build (gcc) =="
	# XS_NATIVE=OFF explicitly: a build/ configured by an older run.sh bench
	# keeps -march=native in its cache otherwise
	if configure build -DXS_NATIVE=OFF; then
		pass_ctest plain build ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300
	else
		build_failed plain build
	fi
	echo "== ASan+UBSan build =="
	if configure build-asan -DXS_NATIVE=OFF -DXS_SANITIZE=address -DXS_BUILD_BENCH=OFF; then
		pass_ctest asan build-asan env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1 \
			ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 300 -LE 'slow|nosan'
	else
		build_failed asan build-asan
	fi
	echo "== TSan build (concurrent tests) =="
	if configure build-tsan -DXS_NATIVE=OFF -DXS_SANITIZE=thread -DXS_BUILD_BENCH=OFF -DXS_BUILD_TOOLS=OFF; then
		# The TSan runtimes of gcc 12 / clang 14 abort at start ("FATAL:
		# ThreadSanitizer: unexpected memory mapping") when the kernel randomises
		# mmap with more than 28 bits (vm.mmap_rnd_bits = 32 on many 6.x kernels).
		# Then run the tests with ASLR off: setarch -R needs no privilege and is
		# inherited by ctest's children; where the personality call is refused
		# (some container seccomp profiles), lower the sysctl as root, restore it after.
		tsan_pre=() tsan_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28) tsan_restore=""
		if [ "$tsan_bits" -gt 28 ]; then
			if setarch "$(uname -m)" -R true 2>/dev/null; then
				tsan_pre=(setarch "$(uname -m)" -R)
				echo "xsched: vm.mmap_rnd_bits=$tsan_bits: TSan tests run with ASLR off (setarch -R)" >&2
			elif [ "$(id -u)" -eq 0 ] && sysctl -qw vm.mmap_rnd_bits=28 2>/dev/null; then
				tsan_restore=$tsan_bits
				echo "xsched: vm.mmap_rnd_bits=$tsan_bits lowered to 28 for the TSan tests" >&2
			else
				echo "xsched: warning: vm.mmap_rnd_bits=$tsan_bits > 28 and ASLR cannot be turned off:" \
					"TSan may fail to start (as root: sysctl vm.mmap_rnd_bits=28)" >&2
			fi
		fi
		pass_ctest tsan build-tsan env TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			"${tsan_pre[@]}" ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 300 -L tsan
		[ -z "$tsan_restore" ] || sysctl -qw vm.mmap_rnd_bits="$tsan_restore"
	else
		build_failed tsan build-tsan
	fi
	if [ -f "$top/tests/fuzz/CMakeLists.txt" ]; then
		echo "== clang build + fuzz smoke =="
		if CC=clang configure build-fuzz -DXS_NATIVE=OFF -DXS_BUILD_FUZZ=ON -DXS_BUILD_BENCH=OFF; then
			pass_ctest fuzz build-fuzz ctest --test-dir build-fuzz --output-on-failure -j "$jobs" \
				--timeout 600 -L fuzz
		else
			build_failed fuzz build-fuzz
		fi
	fi
	echo "xsched: whole suite finished in $(( $(date +%s) - start )) s"
	if [ "$failed" -gt 0 ]; then
		echo "suite: $passed passed, $failed failed, $skipped skipped; failed: ${failed_names[*]}"
		exit 1
	fi
	echo "suite: $passed passed, $failed failed, $skipped skipped"
	;;
*)
	echo "usage: $0 bench [queue_latency options] | test" >&2
	exit 2
	;;
esac
