#!/bin/sh
# notify.t: stampd speaks systemd's notify protocol to a socket this test
# owns, as systemd would set it up (NOTIFY_SOCKET, WATCHDOG_USEC): READY=1
# once every listener is bound, STATUS= with the counters, STOPPING=1 at
# SIGTERM, RELOADING=1 and READY=1 again at an upgrade (SIGUSR2), and
# WATCHDOG=1 only while the serving loops turn.  And under
# journald (JOURNAL_STREAM names its stderr) each line carries a priority.
. "$(dirname "$0")/../lib.sh"

lib_need python3 stat
# Its SIGUSR2 runs the binary again as the user stampd drops to.
lib_stampd_reachable

plan 18

# listen SOCKET OUT: a notify socket; each message, when it came (ms since
# the epoch) and, for READY=1, how many listeners the log had then.
listen()
{
	lib_spawn "$LIB_TMP/listener.err" python3 -c '
import os, socket, sys, time
sock, out, log = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
open(out + ".ready", "w").close()
while True:
    m = s.recv(4096).decode()
    now = int(time.time() * 1000)
    with open(out, "a") as f:
        for line in m.split("\n"):
            extra = ""
            if line == "READY=1":
                try:
                    extra = " listening=%d" % open(log).read().count(" listening ")
                except OSError:
                    extra = " listening=0"
            f.write("%d %s%s\n" % (now, line, extra))
' "$1" "$2" "$LIB_TMP/stampd.log.now"
	LISTENER=$LIB_PID
	lib_wait 5 test -e "$2.ready"
}

# count KEY OUT [SINCE]: the lines KEY= in OUT, after SINCE (ms).
count()
{
	awk -v k="$1" -v t="${3:-0}" '$1 > t && index($2, k "=") == 1 { n++ }
	    END { print n + 0 }' "$2"
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

sock=$LIB_TMP/notify.sock
out=$LIB_TMP/notify.out
: > "$out"
listen "$sock" "$out"

# The log file stampd_start will use next, so that the listener can read
# it; stampd_start numbers its logs in order.
next_log()
{
	rm -f "$LIB_TMP/stampd.log.now"
	ln -s "$LIB_TMP/stampd.$((LIB_SEQ + 1)).log" "$LIB_TMP/stampd.log.now"
}

# event: READY, STATUS, WATCHDOG, STOPPING.
next_log
NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 \
    stampd_start -m event -w 2 -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
pid=$(cat "/proc/$STAMPD_PID/task/$STAMPD_PID/children" | tr -d ' ')
lib_wait 5 grep -q 'READY=1' "$out"
ok $? "event: READY=1 arrives"
like "$(grep 'READY=1' "$out")" "listening=2" \
    "event: after both listeners were bound and said so"
like "$(grep '^[0-9]* MAINPID=' "$out")" "MAINPID=$pid\$" \
    "event: MAINPID is the daemon's pid"
t0=$(now_ms)
sleep "$(lib_scale 2)"
n=$(count WATCHDOG "$out" "$t0")
[ "$n" -ge 4 ]
ok $? "event: WATCHDOG_USEC=400000: $n pings in 2 s (at least 4)"
kill -USR1 "$pid"
lib_wait 5 grep -q 'STATUS=accepted' "$out"
ok $? "event: SIGUSR1: STATUS= with the counters"
# SIGUSR2: an upgrade in place is a reload to systemd, not a stop; the new
# image says READY=1 again from the same pid, and feeds the watchdog on.
kill -USR2 "$pid"
lib_wait 5 sh -c "[ \$(grep -c 'READY=1' '$out') -ge 2 ]"
ok $? "event: SIGUSR2: READY=1 again from the new image"
is "$(count RELOADING "$out") $(count STOPPING "$out")" "1 0" \
    "event: SIGUSR2: RELOADING=1 first, and no STOPPING=1"
like "$(grep '^[0-9]* MAINPID=' "$out" | tail -n 1)" "MAINPID=$pid\$" \
    "event: SIGUSR2: the same MAINPID"
t0=$(now_ms)
sleep "$(lib_scale 1)"
n=$(count WATCHDOG "$out" "$t0")
[ "$n" -ge 2 ]
ok $? "event: SIGUSR2: the watchdog is fed on: $n pings in 1 s"
lib_stop "$STAMPD_PID"
is $? 0 "event: SIGTERM, exit 0"
[ "$(count STOPPING "$out")" -ge 1 ]
ok $? "event: STOPPING=1 at SIGTERM"
unset pid

# prefork: a worker stopped dead starves the watchdog; it resumes, and
# so do the pings.
: > "$out"
next_log
NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 \
    stampd_start -m prefork -w 2 -l tcp:127.0.0.1:0
pid=$(cat "/proc/$STAMPD_PID/task/$STAMPD_PID/children" | tr -d ' ')
lib_wait 5 grep -q 'WATCHDOG=1' "$out"
ok $? "prefork: the watchdog is fed"
worker=$(cat "/proc/$pid/task/$pid/children" | tr ' ' '\n' | sed -n 1p)
kill -STOP "$worker"
sleep 0.6
t0=$(now_ms)
sleep 1.2
is "$(count WATCHDOG "$out" "$t0")" 0 \
    "prefork: one worker stopped (SIGSTOP): no ping for 1.2 s"
kill -CONT "$worker"
t0=$(now_ms)
sleep 1
n=$(count WATCHDOG "$out" "$t0")
[ "$n" -ge 1 ]
ok $? "prefork: it goes on: $n pings in the next second"
lib_stop "$STAMPD_PID"
is $? 0 "prefork: SIGTERM, exit 0"
lib_stop "$LISTENER" > /dev/null

# journald: JOURNAL_STREAM names stderr: <N> priorities, the name once.
log=$LIB_TMP/journal.log
: > "$log"
lib_timeout 10 env JOURNAL_STREAM="$(stat -c '%d:%i' "$log")" "$STAMPD" \
    -l tcp:127.0.0.1:0 --backlog 0 2>> "$log"
is "$?" 2 "journald: a usage error still exits 2"
# A usage error is the option reader's, with the usage after it; what
# the daemon logs once it runs is a journal line each.
log=$LIB_TMP/journal2.log
: > "$log"
lib_timeout 10 env JOURNAL_STREAM="$(stat -c '%d:%i' "$log")" "$STAMPD" \
    -l tcp:127.0.0.1:0 --user no-such-user-here 2>> "$log" > /dev/null
like "$(grep 'no-such-user-here' "$log")" '^<3>[^<]*--user' \
    "journald: a fatal error is priority 3 (err), without the name"
is "$(grep -vc '^<[0-7]>' "$log")" 0 \
    "journald: every line has its priority ($(wc -l < "$log") lines)"
done_testing
