#!/bin/sh
# tests/soak/run.sh: the soak that `make soak` runs; TAP on stdout.
#
# Each model of SOAK_MODELS (event, prefork, threads, iterative) serves
# SOAK_SECS seconds (60 unless set) of mixed load at once: stampbench over
# TCP and over UDP (64 in flight each, 2 threads), and bench/hostile's
# clients that never read, send megabytes or a byte at a time, half-close,
# reset at every step, hold 200 connections, spray junk datagrams.  The
# prefork model meanwhile loses a worker to SIGKILL every KILL_EVERY
# seconds; the iterative model runs under valgrind, for a third of the
# time and an eighth of the concurrency (memcheck is slow).  Each run asserts:
# the daemon lived throughout and exits 0 on SIGTERM; every well-formed
# client got a valid reply or a clean refusal (stampbench bad=0, no error
# but refusals, resets and, over UDP, lost datagrams; hostile bad=0 and
# no timeout); its RSS grew by less than 10 % or 2 MB from warm-up to the
# end, and its open fds came back to what they were before the load, give
# or take 2.  A worker killed may take with it the one connection it was
# serving, which its client sees end without a byte: stampbench counts
# that as bad, so the prefork run allows one such reply per kill, and
# only that kind.  Under ASan (`make soak SAN=1 O=build/san`) the RSS
# bound is skipped, as ASan's quarantine keeps freed memory on purpose,
# and LeakSanitizer's verdict at exit is the exit status; valgrind, which
# cannot run an ASan build, is then skipped too, and iterative runs bare.

. "$(dirname "$0")/../lib.sh"

SOAK_SECS=${SOAK_SECS:-60}
SOAK_MODELS=${SOAK_MODELS:-event prefork threads iterative}
KILL_EVERY=${KILL_EVERY:-3}
HOSTILE=$STAMP_BUILD/bench/hostile
case $SOAK_SECS in
'' | *[!0-9]* | 0)
	bail "SOAK_SECS=$SOAK_SECS: want a whole number of seconds" ;;
esac
[ -x "$STAMPBENCH" ] || bail "STAMPBENCH is not an executable: '$STAMPBENCH'"
[ -x "$HOSTILE" ] || bail "no $HOSTILE: build it with make $HOSTILE"
# Every process started here ends within this, whatever happens.
LIB_LIFETIME=$((SOAK_SECS * 2 + 300))
export LIB_LIFETIME

ASAN=0
grep -aq __asan_init "$STAMPD" && ASAN=1
if [ $ASAN = 0 ] && ! command -v valgrind > /dev/null 2>&1; then
	bail "valgrind is missing (apt-get install valgrind)"
fi

# children PID: the pids whose parent is PID.
children()
{
	local f line rest

	for f in /proc/[0-9]*/stat; do
		{ read -r line < "$f"; } 2>/dev/null || continue
		# The name in parentheses may hold spaces: skip past it.
		rest=${line##*) }
		set -- $rest
		[ "$2" = "$PARENT" ] && echo "${f#/proc/}" | cut -d/ -f1
	done
}

# rss_kb PID...: the sum of their VmRSS.
rss_kb()
{
	local p sum=0 v

	for p; do
		v=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' \
		    "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

fds()
{
	ls "/proc/$1/fd" 2>/dev/null | wc -l | tr -d ' '
}

# field FILE KEY: the number after "KEY " or "KEY=" in FILE, or empty.
field()
{
	sed -n "s/.*[ (]$2[ =]\([0-9][0-9]*\).*/\1/p" "$1" | sed -n 1p
}

# bench_ok NAME FILE KILLS UDP: what stampbench saw is acceptable.
bench_ok()
{
	local name="$1" f="$2" kills="$3" udp="$4" good bad other why

	good=$(field "$f" ok)
	bad=$(field "$f" bad)
	other=$(field "$f" other)
	why=$(sed -n 's/^  first bad  //p' "$f")
	note "$name: $(sed -n 's/^  exchanges  //p' "$f")"
	[ -n "$why" ] && note "$name: first bad: $why"
	if [ -z "$good" ] || [ -z "$bad" ]; then
		ok 1 "$name: stampbench printed its counts"
		diag_file "$f"
		return
	fi
	ok $([ "$good" -gt 0 ]; echo $?) "$name: $good valid replies"
	if [ "$kills" -gt 0 ]; then
		ok $([ "$bad" -le "$kills" ]; echo $?) "$name: at most one cut \
reply per worker killed ($bad, $kills kills)"
		[ "$bad" -eq 0 ] || is "$why" "empty reply" "$name: and each \
was empty: the connection of a killed worker"
	else
		is "$bad" 0 "$name: no bad reply"
	fi
	is "${other:-0}" 0 "$name: no error but refusals, resets, timeouts"
	if [ "$udp" = 0 ]; then
		is "$(field "$f" timeout)" 0 "$name: no TCP client timed out"
	fi
}

# soak MODEL SECS KILLS VALGRIND WORKERS: one run.
soak()
{
	local model="$1" secs="$2" killing="$3" vg="$4" w="$5"
	local log="$LIB_TMP/$model.log" pre= i=0 n tcp udp tcpd udpd
	local pid dpid b1 b2 h dead=0 kills=0 next warm base_fds end_fds
	local rss0 rss1 st conc=64 thr=2 hc=8 tmo=5000 bound procs what

	what="$secs s"
	[ "$killing" = 1 ] && what="$what, SIGKILL a worker every $KILL_EVERY s"
	[ "$vg" = 1 ] && what="$what, under valgrind"
	note "---- $model: $what"
	if [ "$vg" = 1 ]; then
		pre="valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full
		    --log-file=$LIB_TMP/valgrind.%p"
		conc=8
		thr=1
		hc=2
		tmo=20000
	fi
	lib_spawn "$log" $pre "$STAMPD" -m "$model" \
	    $(lib_model_args "$model" -w "$w") \
	    -l tcp:127.0.0.1:0/stamp -l udp:127.0.0.1:0/stamp \
	    -l tcp:127.0.0.1:0/daytime -l udp:127.0.0.1:0/daytime
	pid=$LIB_PID
	while [ "$(grep -c ' listening ' "$log")" -lt 4 ] && [ $i -lt 300 ]; do
		lib_alive "$pid" || break
		sleep 0.1
		i=$((i + 1))
	done
	if ! ok $([ "$(grep -c ' listening ' "$log")" -ge 4 ]; echo $?) \
	    "$model: starts"; then
		diag_file "$log"
		lib_stop "$pid"
		return
	fi
	# timeout(1) runs it: the daemon is its one child.
	PARENT=$pid
	dpid=$(children | sed -n 1p)
	tcp=$(stampd_port tcp 127.0.0.1 stamp "$log")
	udp=$(stampd_port udp 127.0.0.1 stamp "$log")
	tcpd=$(stampd_port tcp 127.0.0.1 daytime "$log")
	udpd=$(stampd_port udp 127.0.0.1 daytime "$log")
	PARENT=$dpid
	i=0
	while [ "$(children | wc -l)" -lt "$([ "$model" = prefork ] &&
	    echo "$w" || echo 0)" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	base_fds=$(fds "$dpid")

	lib_spawn "$LIB_TMP/$model.tcp" "$STAMPBENCH" -d "$secs" -c $conc \
	    -t $thr -T $tmo 127.0.0.1 "$tcp"
	b1=$LIB_PID
	lib_spawn "$LIB_TMP/$model.udp" "$STAMPBENCH" -u -d "$secs" -c $conc \
	    -t $thr -T $tmo 127.0.0.1 "$udp"
	b2=$LIB_PID
	lib_spawn "$LIB_TMP/$model.hostile" "$HOSTILE" -d "$secs" -c $hc \
	    -T $tmo -P daytime 127.0.0.1 "$tcpd" "$udpd"
	h=$LIB_PID

	# Watch, kill, sample, until the load is over (bounded).
	warm=$(( secs / 6 < 5 ? secs / 6 : 5 ))
	next=$KILL_EVERY
	i=0
	rss0=
	while { lib_alive $b1 || lib_alive $b2 || lib_alive $h; } &&
	    [ $i -lt $((secs + 120)) ]; do
		sleep 1
		i=$((i + 1))
		if ! lib_alive "$dpid"; then
			dead=1
			break
		fi
		if [ $i -eq "$warm" ]; then
			rss0=$(rss_kb "$dpid" $(children))
			note "$model: after $warm s: RSS $rss0 kB"
		fi
		if [ "$killing" = 1 ] && [ $i -ge $next ] && [ $i -lt "$secs" ]
		then
			n=$(children | sed -n 1p)
			if [ -n "$n" ] && kill -KILL "$n" 2>/dev/null; then
				kills=$((kills + 1))
			fi
			next=$((i + KILL_EVERY))
		fi
	done
	ok $dead "$model: the daemon ran through the load"
	rss1=$(rss_kb "$dpid" $(children))
	lib_stop $b1
	lib_stop $b2
	lib_stop $h
	st=$?

	bench_ok "$model tcp" "$LIB_TMP/$model.tcp" $kills 0
	bench_ok "$model udp" "$LIB_TMP/$model.udp" 0 1
	note "$model: $(grep '^HOSTILE' "$LIB_TMP/$model.hostile")"
	if ! is "$st" 0 "$model: hostile: every well-formed client got a \
valid reply or a clean refusal"; then
		diag_file "$LIB_TMP/$model.hostile"
	fi
	if [ "$killing" = 1 ]; then
		ok $([ $kills -gt 0 ]; echo $?) "$model: $kills workers killed"
		i=0
		while [ "$(children | wc -l)" -lt "$w" ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		is "$(children | wc -l | tr -d ' ')" "$w" \
		    "$model: all $w workers are there again"
	fi

	if [ $dead = 0 ]; then
		if [ "$vg" = 1 ]; then
			skip "$model: RSS" "valgrind's own memory is in it"
		elif [ $ASAN = 1 ]; then
			skip "$model: RSS" \
			    "ASan's quarantine keeps freed memory"
		elif [ -z "$rss0" ]; then
			ok 1 "$model: RSS sampled after warm-up"
		else
			# Less than 10 % or 2 MB, whichever is more.
			bound=$((rss0 / 10 > 2048 ? rss0 / 10 : 2048))
			note "$model: RSS $rss0 kB after warm-up, $rss1 kB \
at the end"
			ok $([ $((rss1 - rss0)) -lt $bound ]; echo $?) \
			    "$model: RSS grew by $((rss1 - rss0)) kB, less \
than $bound kB"
		fi
		# Lingering connections close within --linger (1 s).
		i=0
		while end_fds=$(fds "$dpid") &&
		    [ $((end_fds - base_fds)) -gt 2 ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		note "$model: $base_fds fds before the load, $end_fds after"
		ok $([ $((end_fds - base_fds)) -le 2 ] &&
		    [ $((base_fds - end_fds)) -le 2 ]; echo $?) \
		    "$model: its fds are back to $base_fds, give or take 2 \
($end_fds)"
		kill -USR1 "$dpid"
		sleep 0.5
		note "$model: $(grep 'stats:' "$log" | tail -n 1)"
	fi

	# valgrind takes its time to exit: the leak check.
	kill -TERM "$pid"
	i=0
	while lib_alive "$pid" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	lib_stop "$pid"
	st=$?
	if ! is "$st" 0 "$model: SIGTERM: exit 0"; then
		diag_file "$log"
		for f in "$LIB_TMP"/valgrind.*; do
			[ -s "$f" ] && diag_file "$f"
		done
	fi
	if [ "$vg" = 1 ]; then
		procs=$(cat "$LIB_TMP"/valgrind.* 2>/dev/null | wc -l)
		if ! is "$(echo $procs)" 0 "$model: valgrind reported nothing"
		then
			for f in "$LIB_TMP"/valgrind.*; do
				diag_file "$f"
			done
		fi
	fi
	if grep -q 'Sanitizer\|runtime error' "$log"; then
		ok 1 "$model: no sanitizer report"
		diag_file "$log"
	fi
	rm -f "$LIB_TMP"/valgrind.*
}

what=
[ $ASAN = 1 ] && what=" (ASan build)"
note "soak: $SOAK_SECS s a model: $SOAK_MODELS$what"
for m in $SOAK_MODELS; do
	case $m in
	prefork)	soak prefork "$SOAK_SECS" 1 0 4 ;;
	iterative)
		s=$((SOAK_SECS / 3 < 10 ? 10 : SOAK_SECS / 3))
		if [ $ASAN = 1 ]; then
			skip "iterative under valgrind" \
			    "valgrind cannot run an ASan build"
			soak iterative "$s" 0 0 1
		else
			soak iterative "$s" 0 1 1
		fi
		;;
	*)		soak "$m" "$SOAK_SECS" 0 0 2 ;;
	esac
done
done_testing
