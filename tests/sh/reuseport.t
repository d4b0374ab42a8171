#!/bin/sh
# reuseport.t: --reuseport gives each event worker a socket of its own on
# the same port, for TCP and UDP, made before root becomes nobody (the
# kernel lets only one user into a SO_REUSEPORT group), and every socket
# is served: a worker whose socket nobody reads would lose its share.
. "$(dirname "$0")/../lib.sh"

lib_need ss strace

plan 9
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
	lib_timeout 10 "$STAMP" -q -T udp -t "$(lib_scale 2)" -p "$uport" \
	    127.0.0.1 > /dev/null &&
	    good=$((good + 1))
	i=$((i + 1))
done
is "$good" 40 "40 UDP clients in a row all get a valid reply"

# STAMPD_PID is timeout(1), which runs stampd as its child.
pid=$(lib_children "$STAMPD_PID" once)
pid=${pid%% *}
[ -n "$pid" ] || pid=$STAMPD_PID

# traced PID: every thread of PID has a tracer.
traced()
{
	! grep -q '^TracerPid:[[:space:]]*0$' /proc/"$1"/task/*/status \
	    2>/dev/null
}

# Idle, it must not spin on a socket it does not drain.  With strace on
# stampd and its workers through an idle while (a wait, scaled, never an
# assertion on a time), a daemon that waits makes next to no call: a
# woken wait or so per thread.  One that spins makes a call every turn of
# its loop, thousands however little CPU a busy machine leaves it.
lib_spawn "$LIB_TMP/strace.err" strace -f -qq -e signal=none \
    -o "$LIB_TMP/strace.out" -p "$pid"
tracer=$LIB_PID
lib_wait 5 traced "$pid"
ok $? "strace attaches to stampd and its workers" ||
    diag_file "$LIB_TMP/strace.err"
sleep "$(lib_scale 2)"
lib_stop "$tracer" > /dev/null
calls=$(grep -vc -e 'resumed>' "$LIB_TMP/strace.out")
note "idle for $(lib_scale 2) s, stampd and its workers made $calls calls"
[ "$calls" -le 20 ]
ok $? "idle, it makes $calls calls (20 at most): it does not spin" || {
	sed 10q "$LIB_TMP/strace.out" > "$LIB_TMP/strace.head"
	diag_file "$LIB_TMP/strace.head"
}
[ "$(id -u)" != 0 ] ||
    like "$(grep Uid "/proc/$pid/status")" "65534" \
    "started as root, it serves as nobody"
[ "$(id -u)" = 0 ] || skip "not root: no privileges to drop"
lib_stop "$STAMPD_PID"
is $? 0 "SIGTERM: exit status 0"
done_testing
