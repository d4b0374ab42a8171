#!/bin/sh
# accesslog.t: -v's access log, a line per client, within its budget.
#
# A line says who, on which listener, in which protocol, with what result
# and how long after its arrival.  Under a load of 100,000 TCP exchanges
# and more datagrams, the lines logged in any one second stay within the
# budget log.h sets (read from it, so that the test follows the code), the
# ones left out are counted (the final stats line), each client's line is
# logged or counted dropped, never both, never neither, and a warning
# logged after the load is there whole.  Writing to what JOURNAL_STREAM
# names, as under systemd, the access lines have priority 6 (info) and
# the warning 4.  --log-rate 0 logs every client, --log-rate 10 drops
# past its burst.  Then each model writes the same four fields for a TCP
# client, a UDP one and an NTP one.  The bounds are
# counts read from the log and the counters: nothing here is timed.
. "$(dirname "$0")/../lib.sh"

lib_need awk python3

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"
[ -n "$STAMPBENCH" ] && [ -x "$STAMPBENCH" ] ||
    bail "STAMPBENCH is not an executable: '$STAMPBENCH'"

# The default budget, as log.h says it: a burst of a second's worth.
RATE=$(sed -n "s/^#define[ 	]*LOG_ACCESS_RATE[ 	]*\\([0-9]*\\).*/\\1/p" \
    "$TOP/src/log.h")
[ -n "$RATE" ] || bail "no LOG_ACCESS_RATE in src/log.h"
BURST=$RATE

# What a line holds: IP:PORT, then the four fields.
FIELDS='Client:(127\.0\.0\.[0-9]+|\[::1\]):[0-9]+ listener=(tcp|udp):[^ ]+ '
FIELDS=$FIELDS'proto=[a-z-]+ result=[a-z_]+ latency_us=([0-9]+|-)$'

# counter LOG NAME: the number after NAME in the last stats line of LOG.
counter()
{
	sed -n "s/.*stats: .*[ (]$2 \\([0-9]*\\).*/\\1/p" "$1" | sed -n '$p'
}

# bad_header PORT: a client that sends HTTP for a PROXY header: a warning
# (its reset, as stampd closes on what it did not read, is no matter).
bad_header()
{
	lib_timeout 20 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
s.shutdown(socket.SHUT_WR)
try:
    while s.recv(512):
        pass
except OSError:
    pass
' "$1"
}

# jport LOG PROTOCOL: the port of the TCP listener of PROTOCOL, as a
# stampd whose stderr is the journal's stream said it in LOG.
jport()
{
	sed -n "s/^<6>listening tcp 127\\.0\\.0\\.1:\\([0-9]*\\) $2\$/\\1/p" \
	    "$1"
}

# lines_beyond LOG N: LOG has more than N access lines.
lines_beyond()
{
	[ "$(grep -c 'stampd: Client:' "$1")" -gt "$2" ]
}

models=$(lib_models)
set -- $models
plan $(($# * 6 + 23))

# ---- the budget under load -----------------------------------------------

stampd_start -v --timestamps -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 \
    -l tcp:127.0.0.1:0/stamp+proxy || done_testing
LOG=$STAMPD_LOG
tport=$(stampd_port tcp 127.0.0.1 stamp)
uport=$(stampd_port udp 127.0.0.1 stamp)
pport=$(stampd_port tcp 127.0.0.1 stamp+proxy)
note "stamp on tcp $tport and udp $uport, +proxy on $pport;" \
    "the budget: $RATE lines a second after $BURST"

tcp=$(lib_timeout 300 "$STAMPBENCH" -q -n 100000 -c 16 127.0.0.1 "$tport" |
    sed -n 's/.* ok=\([0-9]*\) .*/\1/p')
udp=$(lib_timeout 300 "$STAMPBENCH" -q -u -n 20000 -c 16 127.0.0.1 \
    "$uport" | sed -n 's/.* ok=\([0-9]*\) .*/\1/p')
is "${tcp:-0}" 100000 "stampbench: 100000 TCP exchanges with -v"
ok "$([ "${udp:-0}" -gt 0 ]; echo $?)" "stampbench: $udp UDP exchanges"

# After the load, a warning.
bad_header "$pport"
lib_wait 5 grep -q 'PROXY header from' "$LOG"
stampd_stop
is $? 0 "stampd exits 0 on TERM"

re="^[0-9T:-]*Z stampd: tcp 127\\.0\\.0\\.1:$pport stamp+proxy: PROXY header"
re="$re from 127\\.0\\.0\\.1:[0-9]*: not a PROXY protocol header\$"
warn=$(grep -c "$re" "$LOG")
is "$warn" 1 "the warning after the load is logged whole, once" ||
    grep 'PROXY' "$LOG" | sed 's/^/# /'

lines=$(grep -c ' stampd: Client:' "$LOG")
dropped=$(counter "$LOG" 'access lines dropped')
rtcp=$(counter "$LOG" 'replies tcp')
rudp=$(counter "$LOG" 'udp')
bad=$(counter "$LOG" 'bad headers')
# A reply cut short, or a send that failed, has a line of its own too; a
# reset or an error after the reply (a drain) has none beside its ok.
odd=$(($(counter "$LOG" short) + $(counter "$LOG" reset) + \
    $(counter "$LOG" errors)))
note "served tcp $rtcp udp $rudp, bad headers $bad, short, reset or" \
    "error $odd; access lines $lines, dropped $dropped"
is "$bad" 1 "the client without a header is counted a bad header"
events=$((lines + ${dropped:-0}))
clients=$((rtcp + rudp + bad))
ok "$([ "$events" -ge "$clients" ] &&
    [ "$events" -le $((clients + odd)) ]; echo $?)" \
    "each client logged or counted dropped: $lines + $dropped for $clients"
ok "$([ "${dropped:-0}" -gt 0 ]; echo $?)" \
    "the load went over the budget: $dropped lines dropped"

# Lines a second, by their time stamps: at most the burst and the rate,
# doubled for the stamp's clock and the budget's turning apart.
most=$(grep ' stampd: Client:' "$LOG" | awk '{ n[$1]++ }
    END { for (s in n) if (n[s] > m) m = n[s]; print m + 0 }')
ok "$([ "$most" -le $((2 * (RATE + BURST))) ]; echo $?)" \
    "at most $((2 * (RATE + BURST))) access lines in a second: $most"

bad_lines=$(grep ' stampd: Client:' "$LOG" | grep -Evc " stampd: $FIELDS")
is "$bad_lines" 0 \
    "every access line carries listener, proto, result and latency" ||
    grep ' stampd: Client:' "$LOG" | grep -Ev "$FIELDS" |
    sed -n '1,5s/^/# /p'
said=$(sed -n 's/.* stampd: \([0-9]*\) access lines dropped: over .*/\1/p' \
    "$LOG" | awk '{ s += $1 } END { print s + 0 }')
ok "$([ "$said" -gt 0 ] && [ "$said" -le "${dropped:-0}" ]; echo $?)" \
    "the summaries say $said of the $dropped dropped"

# ---- --log-rate ----------------------------------------------------------

# rate_run RATE N: stampd -v --log-rate RATE, N TCP exchanges, stopped;
# then lines, dropped and clients (replies and the odd ones) are set.
rate_run()
{
	stampd_start -v --timestamps --log-rate "$1" -l tcp:127.0.0.1:0 ||
	    done_testing
	lib_timeout 300 "$STAMPBENCH" -q -n "$2" -c 16 127.0.0.1 \
	    "$(stampd_port tcp 127.0.0.1 stamp)" > /dev/null
	stampd_stop
	is $? 0 "--log-rate $1: stampd exits 0 on TERM"
	lines=$(grep -c ' stampd: Client:' "$STAMPD_LOG")
	dropped=$(counter "$STAMPD_LOG" 'access lines dropped')
	dropped=${dropped:-0}
	clients=$(counter "$STAMPD_LOG" 'replies tcp')
	odd=$(($(counter "$STAMPD_LOG" short) + \
	    $(counter "$STAMPD_LOG" reset) + $(counter "$STAMPD_LOG" errors)))
	note "--log-rate $1: served $clients, access lines $lines," \
	    "dropped $dropped"
	ok "$([ $((lines + dropped)) -ge "$clients" ] &&
	    [ $((lines + dropped)) -le $((clients + odd)) ]; echo $?)" \
	    "--log-rate $1: each client logged or counted dropped"
}

rate_run 0 5000
is "$dropped" 0 "--log-rate 0: no line dropped"
ok "$([ "$lines" -ge 5000 ]; echo $?)" \
    "--log-rate 0: a line for each of 5000 clients: $lines"

rate_run 10 3000
ok "$([ "$dropped" -gt 0 ]; echo $?)" \
    "--log-rate 10: lines dropped: $dropped"
most=$(grep ' stampd: Client:' "$STAMPD_LOG" | awk '{ n[$1]++ }
    END { for (s in n) if (n[s] > m) m = n[s]; print m + 0 }')
ok "$([ "$lines" -ge 10 ] && [ "$most" -le 40 ]; echo $?)" \
    "--log-rate 10: the burst of 10 logged, at most 40 in a second: $most"
"$STAMPD" --config /dev/null --log-rate 10 --check -v 2>&1 |
    grep -qx 'log-rate 10'
ok $? "--check -v prints log-rate 10"

# ---- under systemd's journal ---------------------------------------------

# JOURNAL_STREAM names the log's file as systemd names the journal's
# stream: each line then starts with its priority, as journald reads it.
JLOG=$LIB_TMP/journal.log
: > "$JLOG"
JOURNAL_STREAM=$(stat -c %d:%i "$JLOG")
export JOURNAL_STREAM
lib_spawn "$JLOG" "$STAMPD" -v -l tcp:127.0.0.1:0 \
    -l tcp:127.0.0.1:0/stamp+proxy
JPID=$LIB_PID
unset JOURNAL_STREAM
lib_wait 5 grep -q '^<6>listening tcp .* stamp+proxy$' "$JLOG" ||
    diag_file "$JLOG"
tport=$(jport "$JLOG" stamp)
pport=$(jport "$JLOG" 'stamp+proxy')
tcp=$(lib_timeout 300 "$STAMPBENCH" -q -n 10000 -c 16 127.0.0.1 "$tport" |
    sed -n 's/.* ok=\([0-9]*\) .*/\1/p')
is "${tcp:-0}" 10000 "journal: stampbench: 10000 TCP exchanges with -v"
bad_header "$pport"
lib_wait 5 grep -q 'PROXY header from' "$JLOG"
lib_stop "$JPID"
is $? 0 "journal: stampd exits 0 on TERM"
re="^<4>tcp 127\\.0\\.0\\.1:$pport stamp+proxy: PROXY header from"
re="$re 127\\.0\\.0\\.1:[0-9]*: not a PROXY protocol header\$"
is "$(grep -c "$re" "$JLOG")" 1 \
    "journal: the warning after the load is whole, at priority 4" ||
    diag_file "$JLOG"
n=$(grep -c '^<6>Client:' "$JLOG")
ok "$([ "$n" -gt 0 ] &&
    [ "$(grep 'Client:' "$JLOG" | grep -Evc "^<6>$FIELDS")" = 0 ]
    echo $?)" "journal: $n access lines, at priority 6, with the four fields"

# ---- every model, the same fields ----------------------------------------

for m in $models; do
	stampd_start -m "$m" $(lib_model_args "$m" -w 2) -v \
	    -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 -l udp:127.0.0.1:0/ntp ||
	    continue
	tport=$(stampd_port tcp 127.0.0.1 stamp)
	uport=$(stampd_port udp 127.0.0.1 stamp)
	nport=$(stampd_port udp 127.0.0.1 ntp)
	lib_timeout 20 "$STAMP" -q -p "$tport" 127.0.0.1 > /dev/null
	ok $? "$m: a TCP client is served"
	lib_timeout 20 "$STAMP" -q -u -p "$uport" 127.0.0.1 > /dev/null
	ok $? "$m: a UDP client is served"
	lib_timeout 20 "$STAMP" -q -P ntp --unsynced -p "$nport" 127.0.0.1 \
	    > /dev/null
	ok $? "$m: an NTP client is served"
	lib_wait 5 lines_beyond "$STAMPD_LOG" 2
	got=$(grep 'Client:' "$STAMPD_LOG" | grep -Ec -e \
	    "listener=tcp:127\\.0\\.0\\.1:$tport proto=stamp result=ok " -e \
	    "listener=udp:127\\.0\\.0\\.1:$uport proto=stamp result=ok " -e \
	    "listener=udp:127\\.0\\.0\\.1:$nport proto=ntp result=ok ")
	is "$got" 3 "$m: a line for each, naming its listener and protocol" ||
	    diag_file "$STAMPD_LOG"
	is "$(grep 'Client:' "$STAMPD_LOG" | grep -Evc "stampd: $FIELDS")" 0 \
	    "$m: each line carries the four fields" || diag_file "$STAMPD_LOG"
	stampd_stop
	is $? 0 "$m: exit 0"
done

done_testing
