#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# xsched: one entry point for the README's two commands.
#   bash tools/scripts/run.sh bench   install what is missing, build, run bench/queue_latency
#   bash tools/scripts/run.sh test    install what is missing, build and run the whole suite:
#                                     plain, ASan+UBSan, TSan (concurrent tests), fuzz smoke
# Extra arguments after "bench" go to queue_latency. Environment: XS_JOBS (parallel jobs).
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

base_pkgs=(build-essential cmake pkg-config liburing-dev libhwloc-dev)
peer_pkgs=(libboost-dev libck-dev libdpdk-dev gnuplot-nox)
test_pkgs=(clang libclang-rt-14-dev strace procps)

# Totals over every ctest pass, for the closing line.
passed=0 failed=0
tally() { # ctest output file
	local line n f
	line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -n 1 || true)
	n=$(sed -nE 's/.* failed out of ([0-9]+).*/\1/p' <<<"$line")
	f=$(sed -nE 's/.*passed, ([0-9]+) tests? failed.*/\1/p' <<<"$line")
	passed=$((passed + ${n:-0} - ${f:-0}))
	failed=$((failed + ${f:-0}))
}

configure() { # dir, extra cmake args...
	local dir=$1; shift
	cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$top/$dir.configure.log" 2>&1 ||
		{ cat "$top/$dir.configure.log"; exit 1; }
	echo "xsched: building $dir (log: $dir.build.log)" >&2
	cmake --build "$top/$dir" -j "$jobs" >"$top/$dir.build.log" 2>&1 ||
		{ tail -n 60 "$top/$dir.build.log"; exit 1; }
}

case "${1:-}" in
bench)
	shift
	need_pkgs "${base_pkgs[@]}" "${peer_pkgs[@]}"
	configure build -DXS_NATIVE=ON
	exec "$top/build/bench/queue_latency" "$@"
	;;
test)
	need_pkgs "${base_pkgs[@]}" "${peer_pkgs[@]}" "${test_pkgs[@]}"
	start=$(date +%s)
	echo "== plain build (gcc) =="
	configure build
	ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300 | tee "$top/build.ctest.log"
	tally "$top/build.ctest.log"
	echo "== ASan+UBSan build =="
	configure build-asan -DXS_SANITIZE=address -DXS_BUILD_BENCH=OFF
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 300 -LE 'slow|nosan' |
		tee "$top/build-asan.ctest.log"
	tally "$top/build-asan.ctest.log"
	echo "== TSan build (concurrent tests) =="
	configure build-tsan -DXS_SANITIZE=thread -DXS_BUILD_BENCH=OFF -DXS_BUILD_TOOLS=OFF
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
	tsan_rc=0
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "${tsan_pre[@]}" \
		ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 300 -L tsan |
		tee "$top/build-tsan.ctest.log" || tsan_rc=$?
	tally "$top/build-tsan.ctest.log"
	[ -z "$tsan_restore" ] || sysctl -qw vm.mmap_rnd_bits="$tsan_restore"
	[ "$tsan_rc" -eq 0 ] || exit "$tsan_rc"
	if [ -f "$top/tests/fuzz/CMakeLists.txt" ]; then
		echo "== clang build + fuzz smoke =="
		CC=clang configure build-fuzz -DXS_BUILD_FUZZ=ON -DXS_BUILD_BENCH=OFF
		ctest --test-dir build-fuzz --output-on-failure -j "$jobs" --timeout 600 -L fuzz |
			tee "$top/build-fuzz.ctest.log"
		tally "$top/build-fuzz.ctest.log"
	fi
	echo "xsched: whole suite finished in $(( $(date +%s) - start )) s"
	echo "suite: $passed passed, $failed failed"
	;;
*)
	echo "usage: $0 bench [queue_latency options] | test" >&2
	exit 2
	;;
esac
