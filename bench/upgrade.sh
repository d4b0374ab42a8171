#!/bin/sh
# bench/upgrade.sh: the long runs of issue 14, and what a plain restart
# costs beside them.
#
#   make && sh bench/upgrade.sh          (O=build/clang for another build)
#
# 1. tests/sh/upgrade.t with the issue's numbers: for every model that
#    stampd --help lists (and event with --reuseport), stampbench -c 64
#    over TCP and over UDP for UPGRADE_SECS (20) seconds while stampd is
#    upgraded UPGRADE_TIMES (20) times with SIGUSR2; then the same load
#    while tests/sockhold.py, holding the sockets as systemd's socket unit
#    does, restarts it UPGRADE_RESTARTS (10) times.  Its asserts are the
#    done-when: 0 refused, 0 reset, 0 bad, 0 errors of any kind.
# 2. The control: the same load while the event model is restarted as an
#    init script without a socket unit does it, SIGTERM then a new stampd
#    binding the same ports, UPGRADE_RESTARTS times: what that refuses.
#
# Prints a table of every run's figures (ok, bad, errors, refused, reset,
# timeout, per transport) and exits 0 if every assert of part 1 held.
# Everything runs on 127.0.0.1, on ports the kernel picks; every process
# it starts is stopped by its pid.
TOP=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
STAMPD=${STAMPD:-$TOP/$O/stampd}
STAMP=${STAMP:-$TOP/$O/stamp}
STAMPBENCH=${STAMPBENCH:-$TOP/$O/stampbench}
UPGRADE_SECS=${UPGRADE_SECS:-20}
UPGRADE_TIMES=${UPGRADE_TIMES:-20}
UPGRADE_RESTARTS=${UPGRADE_RESTARTS:-10}
export STAMPD STAMP STAMPBENCH UPGRADE_SECS UPGRADE_TIMES UPGRADE_RESTARTS
for p in "$STAMPD" "$STAMP" "$STAMPBENCH"; do
	[ -x "$p" ] || { echo "bench/upgrade.sh: no $p: run make" >&2; exit 1; }
done
command -v prove > /dev/null || { echo "bench/upgrade.sh: no prove" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stampd-upgrade.XXXXXX") || exit 1
PIDS=
cleanup()
{
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# field FILE KEY: the number after "KEY " or "KEY=" in FILE, or empty.
field()
{
	sed -n "s/.*[ (]$2[ =]\([0-9][0-9]*\).*/\1/p" "$1" | sed -n 1p
}

# row RUN MODEL TRANSPORT FILE: one line of the table from a stampbench.
row()
{
	printf '| %-9s | %-9s | %-3s | %8s | %3s | %6s | %7s | %5s | %7s |\n' \
	    "$1" "$2" "$3" "$(field "$4" ok)" "$(field "$4" bad)" \
	    "$(field "$4" errors)" "$(field "$4" refused)" \
	    "$(field "$4" reset)" "$(field "$4" timeout)"
}

# ---- 1: the test, long ---------------------------------------------------

echo "STAMPD=$STAMPD UPGRADE_SECS=$UPGRADE_SECS" \
    "UPGRADE_TIMES=$UPGRADE_TIMES UPGRADE_RESTARTS=$UPGRADE_RESTARTS" \
    "prove -v tests/sh/upgrade.t"
start=$(date +%s)
prove -v --exec '' "$TOP/tests/sh/upgrade.t" > "$TMP/prove.out" 2>&1
rc=$?
echo "  $(tail -n 1 "$TMP/prove.out") in $(($(date +%s) - start)) s"
grep '^not ok' "$TMP/prove.out"

# ---- 2: the control, a plain restart ---------------------------------------

# wait_listening LOG N: at most 10 s for N "listening" lines in LOG.
wait_listening()
{
	i=0
	while [ "$(grep -c ' listening ' "$1")" -lt "$2" ] && [ $i -lt 100 ]
	do
		sleep 0.1
		i=$((i + 1))
	done
}

# stop PID: SIGTERM, at most 10 s, then SIGKILL; reaped.
stop()
{
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

"$STAMPD" -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 > "$TMP/plain.log" 2>&1 &
pid=$!
PIDS="$pid"
wait_listening "$TMP/plain.log" 2
T=$(sed -n 's/.* listening tcp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
    "$TMP/plain.log" | sed -n 1p)
U=$(sed -n 's/.* listening udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
    "$TMP/plain.log" | sed -n 1p)
"$STAMPBENCH" -c 64 -d "$UPGRADE_SECS" 127.0.0.1 "$T" > "$TMP/plain.tcp" \
    2>&1 &
b1=$!
"$STAMPBENCH" -u -c 64 -d "$UPGRADE_SECS" 127.0.0.1 "$U" > "$TMP/plain.udp" \
    2>&1 &
b2=$!
PIDS="$pid $b1 $b2"
gap=$(awk -v s="$UPGRADE_SECS" -v n="$UPGRADE_RESTARTS" \
    'BEGIN { print s / (n + 1) }')
n=0
while [ $n -lt "$UPGRADE_RESTARTS" ]; do
	sleep "$gap"
	stop "$pid"
	"$STAMPD" -l "tcp:127.0.0.1:$T" -l "udp:127.0.0.1:$U" \
	    >> "$TMP/plain.log" 2>&1 &
	pid=$!
	PIDS="$pid $b1 $b2"
	n=$((n + 1))
	wait_listening "$TMP/plain.log" $((2 * n + 2))
done
wait "$b1" "$b2"
stop "$pid"
PIDS=

# ---- the table ----------------------------------------------------------

echo
echo "| run       | model     |     |       ok | bad | errors | refused | reset | timeout |"
echo "|-----------|-----------|-----|---------:|----:|-------:|--------:|------:|--------:|"
sed -n 's/^# figure \([a-z]*\) \([a-z-]*\) \([a-z]*\) .*/\1 \2 \3/p' \
    "$TMP/prove.out" | while read -r run model tr; do
	grep "^# figure $run $model $tr " "$TMP/prove.out" |
	    sed 's/^# figure [^ ]* [^ ]* [^ ]* / /' > "$TMP/fig"
	label=$run
	[ "$run" = upgrade ] && label="USR2 x$UPGRADE_TIMES"
	[ "$run" = restart ] && label="held x$UPGRADE_RESTARTS"
	row "$label" "$model" "$tr" "$TMP/fig"
done
row "plain x$UPGRADE_RESTARTS" event tcp "$TMP/plain.tcp"
row "plain x$UPGRADE_RESTARTS" event udp "$TMP/plain.udp"
echo
echo "USR2: in-place upgrades (SIGUSR2); held: restarts under a socket" \
    "holder (tests/sockhold.py, as systemd's socket unit);"
echo "plain: SIGTERM and a new stampd binding the same ports, no socket" \
    "held (the control). stampbench -c 64, $UPGRADE_SECS s each."
exit $rc
