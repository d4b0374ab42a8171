#!/bin/sh
# reuseport.t: --reuseport gives each event worker a socket of its own on
# the same port, for TCP and UDP, made before root becomes nobody (the
# kernel lets only one user into a SO_REUSEPORT group), and every socket
# is served: a worker whose socket nobody reads would lose its share.
. "$(dirname "$0")/../lib.sh"

plan 8
stampd_start -w 2 --reuseport -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
ok $? "stampd -w 2 --reuseport starts"
tport=$(stampd_port tcp 127.0.0.1 stamp)
uport=$(stampd_port udp 127.0.0.1 stamp)

n=$(ss -ltnH "sport = :$tport" | wc -l)
is "$n" 2 "two TCP sockets listen on port $tport, one a worker"
n=$(ss -lunH "sport = :$uport" | wc -l)
is "$n" 2 "two UDP sockets are bound to port $uport, one a worker"

# The kernel spreads clients by a hash of their address and port: many
# short-lived clients reach both sockets.
good=0
i=0
while [ $i -lt 40 ]; do
	timeout 10 "$STAMP" -q -t 2 -p "$tport" 127.0.0.1 > /dev/null &&
	    good=$((good + 1))
	i=$((i + 1))
done
is "$good" 40 "40 TCP clients in a row all get a valid reply"
good=0
i=0
while [ $i -lt 40 ]; do
	timeout 10 "$STAMP" -q -u -t 2 -p "$uport" 127.0.0.1 > /dev/null &&
	    good=$((good + 1))
	i=$((i + 1))
done
is "$good" 40 "40 UDP clients in a row all get a valid reply"

# STAMPD_PID is timeout(1), which runs stampd as its child.
pid=$(pgrep -P "$STAMPD_PID" | head -n 1)
[ -n "$pid" ] || pid=$STAMPD_PID

# Idle, it must not spin on a socket it does not drain.
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
[ $((t1 - t0)) -lt 20 ]
ok $? "idle for 2 s it uses $((t1 - t0)) ticks of CPU (< 20)"
[ "$(id -u)" != 0 ] ||
    like "$(grep Uid "/proc/$pid/status")" "65534" \
    "started as root, it serves as nobody"
[ "$(id -u)" = 0 ] || skip "not root: no privileges to drop"
lib_stop "$STAMPD_PID"
is $? 0 "SIGTERM: exit status 0"
done_testing
