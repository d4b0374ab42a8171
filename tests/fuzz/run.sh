#!/bin/sh
# tests/fuzz/run.sh: build each parser's fuzz target with libFuzzer, run it.
#
#   sh tests/fuzz/run.sh                      every target, 60 s each
#   FUZZ_SECS=10 FUZZ_TARGETS="wire_stamp net_spec" sh tests/fuzz/run.sh
#
# Needs clang and its libFuzzer runtime (Debian 12: clang, libclang-rt-14-dev).
# The fuzzer writes what it learns to a working corpus under build/fuzz/corpus
# and only reads the seeds in tests/fuzz/corpus, so git's copy stays small.
# A crash, timeout or leak is copied into tests/fuzz/corpus/TARGET, where
# tests/unit/fuzz_replay.c keeps it as a regression test; the other targets
# still run, then the script exits 1.  Exit 2: nothing could be fuzzed.

cd "$(dirname "$0")/../.." || exit 2

CC=${FUZZ_CC:-clang}
SECS=${FUZZ_SECS:-60}
OUT=${FUZZ_OUT:-build/fuzz}
TARGETS=${FUZZ_TARGETS:-$(for f in tests/fuzz/*.c; do
	basename "$f" .c; done)}

case $SECS in
''|*[!0-9]*|0)
	echo "run.sh: FUZZ_SECS must be a positive number of seconds" >&2
	exit 2
	;;
esac

# The sources of src/ that a target's parser needs, by the target's prefix.
# PROXY v2 headers run to 536 bytes; NTP requests with extension fields
# (NTS's run to a few hundred) are judged field by field; everything else
# is short.
max_len() {
	case $1 in
	proxy)	echo 600 ;;
	ntp_*)	echo 600 ;;
	ntske_*) echo 1100 ;;
	nts_*)	echo 1100 ;;
	metrics_*) echo 1100 ;;
	*)	echo 256 ;;
	esac
}

sources() {
	case $1 in
	wire_*)	echo src/wire.c ;;
	net_*)	echo src/net.c src/wire.c src/util.c ;;
	util_*)	echo src/util.c ;;
	proxy)	echo src/proxy.c ;;
	metrics_*) echo src/metrics.c src/wire.c src/ntp.c ;;
	ntp_*)	echo src/ntp.c ;;
	ntske_*) echo src/ntske.c ;;
	nts_*)	echo src/nts.c src/siv.c ;;
	*)	return 1 ;;
	esac
}

# The libraries a target's sources link: NTS's cipher is GnuTLS's.
libs() {
	case $1 in
	nts_*)	echo -lgnutls ;;
	esac
}

# Copy an artifact into the seed corpus unless those bytes are there already.
keep() {
	for seed in "tests/fuzz/corpus/$1"/*; do
		if [ -f "$seed" ] && cmp -s "$2" "$seed"; then
			echo "already in the corpus as $seed"
			return
		fi
	done
	cp "$2" "tests/fuzz/corpus/$1/" &&
	    echo "copied to tests/fuzz/corpus/$1/$(basename "$2")"
}

# Where the fuzzer's report of a finding starts in its log.
report='==ERROR\|runtime error\|^fuzz_\|deadly signal\|ALARM\|out-of-memory'
failed=
summary=
for t in $TARGETS; do
	if [ ! -f "tests/fuzz/$t.c" ] || ! srcs=$(sources "$t"); then
		echo "run.sh: no fuzz target $t" >&2
		failed="$failed $t"
		continue
	fi
	mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t" "tests/fuzz/corpus/$t"
	rm -f "$OUT/artifacts/$t"/*
	echo "== $t: build"
	# shellcheck disable=SC2086 # srcs is a list of paths without spaces
	if ! $CC -std=c17 -D_GNU_SOURCE -g -O1 \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -DFUZZ_MAIN -Isrc -o "$OUT/$t" "tests/fuzz/$t.c" $srcs \
	    $(libs "$t"); then
		failed="$failed $t"
		continue
	fi
	echo "== $t: fuzz for $SECS s (log in $OUT/$t.log)"
	"$OUT/$t" -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=5 \
	    -rss_limit_mb=2048 -use_value_profile=1 -print_final_stats=1 \
	    -artifact_prefix="$OUT/artifacts/$t/" \
	    "$OUT/corpus/$t" "tests/fuzz/corpus/$t" >"$OUT/$t.log" 2>&1
	rc=$?
	status=$(grep -E '^#[0-9]+' "$OUT/$t.log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$t.log")
	summary="$summary$t: ${speed:-?} exec/s, ${status:-no status line}
"
	[ "$rc" -eq 0 ] && continue

	failed="$failed $t"
	echo "== $t: FAILED (exit $rc); the fuzzer's report:"
	sed -n "/$report/,\$p" "$OUT/$t.log" | head -n 80
	found=0
	for a in "$OUT/artifacts/$t"/*; do
		[ -f "$a" ] || continue
		found=1
		echo "== $t: input $a:"
		od -A d -c "$a" | head -n 20
		keep "$t" "$a"
	done
	[ "$found" -eq 1 ] || tail -n 20 "$OUT/$t.log"
done

printf '== summary\n%s' "$summary"
if [ -n "$failed" ]; then
	echo "== failed:$failed"
	exit 1
fi
echo "== every target ran $SECS s without a finding"
