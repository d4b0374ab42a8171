#!/bin/sh
# reuseport.t: --reuseport gives each event worker a socket of its own on
# the same port, for TCP and UDP, made before root becomes nobody (the
# kernel lets only one user into a SO_REUSEPORT group), and every socket
# is served: a worker whose socket nobody reads would lose its share.
. "$(dirname "$0")/../lib.sh"

lib_need ss getconf

plan 8
stampd_start -w 2 --reuseport -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
ok $? "stampd -w 2 --reuseport starts"
tport=$(stampd_port tcp 127.0.0.1 stamp)
uport=$(stampd_port udp 127.0.0.1 stamp)

n=$(lib_timeout 10 ss -ltnH "sport = :$tport" | wc -l)
is "$n" 2 "two TCP sockets listen on port $tport, one a worker"
n=$(lib_timeout 10 ss -lunH "sport = :$uport" | wc -l)
is "$n" 2 "two UDP sockets are bound to port $uport, one a worker"

# The kernel spreads clients by a hash of their address and port: many
# short-lived clients reach both sockets.
good=0
i=0
while [ $i -lt 40 ]; do
	lib_timeout 10 "$STAMP" -q -t "$(lib_scale 2)" -p "$tport" \
	    127.0.0.1 > /dev/null &&
	    good=$((good + 1))
	i=$((i + 1))
done
is "$good" 40 "40 TCP clients in a row all get a valid reply"
good=0
i=0
while [ $i -lt 40 ]; do
	lib_timeout 10 "$STAMP" -q -u -t "$(lib_scale 2)" -p "$uport" \
	    127.0.0.1 > /dev/null &&
	    good=$((good + 1))
	i=$((i + 1))
done
is "$good" 40 "40 UDP clients in a row all get a valid reply"

# STAMPD_PID is timeout(1), which runs stampd as its child.
pid=$(lib_children "$STAMPD_PID" once)
pid=${pid%% *}
[ -n "$pid" ] || pid=$STAMPD_PID

# ticks: the CPU time, in clock ticks, of stampd and its workers.
ticks()
{
	local p line rest sum=0

	for p in $pid $(lib_children "$pid"); do
		{ read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
		# After the name in parentheses, utime and stime are the
		# 12th and 13th fields.
		rest=${line##*) }
		# shellcheck disable=SC2086 # fields
		set -- $rest
		sum=$((sum + ${12} + ${13}))
	done
	echo $sum
}

# Idle, it must not spin on a socket it does not drain: a spinner uses a
# whole CPU, a waiter next to none, and the bound, half a CPU, tells the
# two apart however busy the machine (which only gives a spinner less).
# The window grows with STAMP_TIMEOUT_SCALE, for a finer measure.
secs=$(lib_scale 2)
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
note "idle for $secs s, stampd and its workers used $((t1 - t0)) ticks" \
    "of CPU, at $hz a second"
[ $((t1 - t0)) -lt $((hz * secs / 2)) ]
ok $? "idle for $secs s it uses $((t1 - t0)) ticks of CPU (< $((hz * \
    secs / 2)), half a CPU)"
[ "$(id -u)" != 0 ] ||
    like "$(grep Uid "/proc/$pid/status")" "65534" \
    "started as root, it serves as nobody"
[ "$(id -u)" = 0 ] || skip "not root: no privileges to drop"
lib_stop "$STAMPD_PID"
is $? 0 "SIGTERM: exit status 0"
done_testing
