#!/bin/sh
# haproxy.t: stampd behind a real HAProxy (Debian's), which puts a PROXY
# protocol header before every connection it relays: version 1
# (send-proxy), version 2 (send-proxy-v2), version 2 with TLVs
# (proxy-v2-options crc32c,unique-id), and version 2 LOCAL from its health
# checks.  stampd must log the client that haproxy saw, never haproxy's own
# connection to it: haproxy logs both (%ci:%cp and %bi:%bp), and the test
# holds stampd's log against haproxy's.  Then, without haproxy, headers that
# are missing, bad, cut short or sent by a peer not allowed: each connection
# is closed without a reply, logged and counted, and stampd goes on serving.
. "$(dirname "$0")/../lib.sh"

lib_need haproxy python3 ss od

HLOG=$LIB_TMP/haproxy.log
HT=$(lib_scale 5)	# haproxy's timeouts, in seconds
CFG=$LIB_TMP/haproxy.cfg
RELAYED=0		# connections haproxy relayed for us, so far

# wait_grep FILE ERE: at most 5 s (scaled) for a line of FILE to match ERE.
wait_grep()
{
	lib_wait 5 grep -Eq -- "$2" "$1"
}

# hex STRING: the bytes printf(1) makes of STRING, in hex.
hex()
{
	# shellcheck disable=SC2059 # the escapes are the point
	printf "$1" | od -An -v -tx1 | tr -d ' \n'
}

# client PORT HEX [SOURCE [open]]: connect to 127.0.0.1:PORT from SOURCE
# (127.0.0.1), send the bytes HEX, shut our side down unless "open", read
# until the server closes (10 s at most, scaled).  Prints our port, how it ended
# (eof, reset or timeout), the reply in hex ("-": none) and its digits
# when it is a stamp reply ("-": it is not).
client()
{
	lib_timeout 20 python3 -c '
import re, socket, sys
port, data, src, mode, patience = sys.argv[1:6]
s = socket.socket()
s.settimeout(float(patience))
s.bind((src, 0))
s.connect(("127.0.0.1", int(port)))
me = s.getsockname()[1]
got, end = b"", "eof"
try:
    s.sendall(bytes.fromhex(data))
    if mode != "open":
        s.shutdown(socket.SHUT_WR)
except OSError:
    pass	# closed on us already: the reads below say how
try:
    while True:
        b = s.recv(512)
        if not b:
            break
        got += b
except socket.timeout:
    end = "timeout"
except OSError:
    end = "reset"
m = re.fullmatch(rb"([0-9]+)\r\n", got)
print(me, end, got.hex() or "-", m.group(1).decode() if m else "-")
' "$1" "$2" "${3:-127.0.0.1}" "${4:-shut}" "$(lib_scale 10)"
}

# refused NAME PORT HEX [SOURCE [open]]: the connection is closed without
# a reply, and stampd's log names it with a reason.
refused()
{
	local name="$1" r port end reply

	shift
	r=$(client "$@")
	note "$name: $r"
	read -r port end reply _ <<-EOF
	$r
	EOF
	is "$reply" - "$name: no reply"
	like "$end" '^(eof|reset)$' "$name: closed by stampd"
	wait_grep "$STAMPD_LOG" "PROXY header from ${3:-127.0.0.1}:$port: "
	ok $? "$name: logged as a PROXY header refused" ||
	    diag_file "$STAMPD_LOG"
	REFUSED_LINE=$(grep -E "PROXY header from ${3:-127.0.0.1}:$port: " \
	    "$STAMPD_LOG")
}

# hap_lines N: haproxy logged at least N lines for connections.
hap_lines()
{
	[ "$(grep -c '^fe=' "$HLOG")" -ge "$1" ]
}

# hap_line N: the Nth line haproxy logged for a connection (5 s at most,
# scaled).
hap_line()
{
	lib_wait 5 hap_lines "$1"
	grep '^fe=' "$HLOG" | sed -n "${1}p"
}

# relayed WHAT: haproxy's log line for the connection just made names the
# client and haproxy's own connection to stampd; stampd's log must have
# the first and not the second.
relayed()
{
	local line cl via

	RELAYED=$((RELAYED + 1))
	line=$(hap_line "$RELAYED")
	note "haproxy: $line"
	cl=$(printf '%s\n' "$line" | sed -n 's/.* client=\([^ ]*\) .*/\1/p')
	via=$(printf '%s\n' "$line" | sed -n 's/.* via=\([^ ]*\) .*/\1/p')
	case $cl in
	*.*)	;;
	?*)	cl="[${cl%:*}]:${cl##*:}" ;;	# haproxy: "::1:40000"
	esac
	[ -n "$cl" ] && [ -n "$via" ] && [ "$cl" != "$via" ]
	ok $? "$1: haproxy logged the client ($cl) and itself ($via)" ||
	    diag_file "$HLOG"
	wait_grep "$STAMPD_LOG" "Client:$(printf '%s' "$cl" |
	    sed 's/[].[]/\\&/g') "
	ok $? "$1: stampd logged Client:$cl" || diag_file "$STAMPD_LOG"
	# Served as haproxy's: a health check that haproxy closed (result
	# reset) may have used the same port before, and is no such line.
	! grep -F "stampd: Client:$via " "$STAMPD_LOG" | grep -q ' result=ok'
	ok $? "$1: stampd did not serve it as haproxy's Client:$via"
	note "stampd: $(grep -F "Client:$cl" "$STAMPD_LOG")"
}

# stamp_via WHAT PORT HOST [ARG...]: stamp through haproxy gives the time.
stamp_via()
{
	local what="$1" port="$2" host="$3" t0 t1 out

	shift 3
	t0=$(date +%s)
	out=$(lib_timeout 20 "$STAMP" -q -t "$(lib_scale 5)" -p "$port" "$@" \
	    "$host")
	ok $? "$what: stamp -p $port $* $host exits 0"
	t1=$(date +%s)
	note "$what: stamp printed $out"
	within "$out" "$t0" "$t1" "$what: the time is now"
	relayed "$what"
}

# other_via WHAT PORT: a client from 127.0.0.2, a source haproxy sees and
# stampd must name, unlike haproxy's own 127.0.0.1.  It waits for the
# reply without shutting its side down first: haproxy drops a client that
# does so while it still connects to the server (its log says "CC").
other_via()
{
	local r port end reply digits t0 t1

	t0=$(date +%s)
	r=$(client "$2" "" 127.0.0.2 open)
	t1=$(date +%s)
	note "$1: $r"
	read -r port end reply digits <<-EOF
	$r
	EOF
	within "$digits" "$t0" "$t1" "$1: a stamp reply from 127.0.0.2:$port"
	relayed "$1"
	grep -Fq "stampd: Client:127.0.0.2:$port " "$STAMPD_LOG"
	ok $? "$1: the client is 127.0.0.2:$port, the port it had"
}

# stats_beyond N: stampd logged more than N stats lines.
stats_beyond()
{
	[ "$(grep -c ' stats: ' "$STAMPD_LOG")" -gt "$1" ]
}

# counter NAME: a counter that stampd prints on SIGUSR1 ("bad headers",
# "linger timeouts").  The signal goes to stampd, not to timeout(1) above.
counter()
{
	local n pid

	read -r pid _ < "/proc/$STAMPD_PID/task/$STAMPD_PID/children"
	n=$(grep -c ' stats: ' "$STAMPD_LOG")
	kill -USR1 "$pid"
	lib_wait 5 stats_beyond "$n"
	grep ' stats: ' "$STAMPD_LOG" | tail -n 1 |
	    sed -n "s/.*$1 \\([0-9]*\\).*/\\1/p"
}

# hap_config PORTS...: frontends on the ports, in the order v1, v2, v1
# over ::1, v2 over ::1, v2 with TLVs, time v1, time v2, health checks.
hap_config()
{
	local tlvs="proxy-v2-options crc32c,unique-id"
	local check="check check-send-proxy inter 200ms"

	cat > "$CFG" <<-EOF
	global
		maxconn 100
		nbthread 1
		log stderr format raw local0 info
	defaults
		mode tcp
		log global
		log-format "fe=%f client=%ci:%cp via=%bi:%bp end=%ts bytes=%B"
		timeout connect ${HT}s
		timeout client ${HT}s
		timeout server ${HT}s
		timeout check ${HT}s
	frontend v1
		bind 127.0.0.1:$1
		default_backend v1
	frontend v2
		bind 127.0.0.1:$2
		default_backend v2
	frontend v1six
		bind [::1]:$3
		default_backend v1
	frontend v2six
		bind [::1]:$4
		default_backend v2
	frontend tlv
		bind 127.0.0.1:$5
		unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
		default_backend tlv
	frontend time1
		bind 127.0.0.1:$6
		default_backend time1
	frontend time2
		bind 127.0.0.1:$7
		default_backend time2
	frontend health
		bind 127.0.0.1:$8
		default_backend health
	backend v1
		server stampd 127.0.0.1:$SP send-proxy
	backend v2
		server stampd 127.0.0.1:$SP send-proxy-v2
	backend tlv
		server stampd 127.0.0.1:$SP send-proxy-v2 $tlvs
	backend time1
		server stampd 127.0.0.1:$TP send-proxy
	backend time2
		server stampd 127.0.0.1:$TP send-proxy-v2
	backend health
		server stampd 127.0.0.1:$SP send-proxy-v2 $check
	EOF
}

# hap_start: haproxy on eight free ports, tried again on others (ten
# times at most) should one be taken before haproxy binds it; sets HPID
# and the ports.
hap_start()
{
	local try=0 p ports spec i r

	while [ $try -lt 10 ]; do
		try=$((try + 1))
		ports=
		spec=
		for i in 1 2 3 4 5 6 7 8; do
			p=$(lib_free_port tcp) || return 1
			case " $ports " in
			*" $p "*)	continue 2 ;;
			esac
			ports="$ports $p"
			spec="$spec t:$p"
		done
		# shellcheck disable=SC2086 # eight numbers
		set -- $ports
		PV1=$1 PV2=$2 PV1SIX=$3 PV2SIX=$4 PTLV=$5 PT1=$6 PT2=$7 PH=$8
		# shellcheck disable=SC2086
		hap_config $ports
		lib_spawn "$HLOG" haproxy -db -f "$CFG"
		HPID=$LIB_PID
		# shellcheck disable=SC2086 # eight words
		lib_own_ports "$HPID" "$HLOG" $spec
		r=$?
		[ $r = 0 ] && return 0
		[ $r = 2 ] || break
		note "haproxy: a port was taken, again with others"
	done
	lib_stop "$HPID"
	diag "haproxy did not listen on$ports:"
	diag_file "$HLOG"
	return 1
}

# ---- through haproxy -----------------------------------------------------

stampd_start -v -l tcp:127.0.0.1:0/stamp+proxy -l tcp:127.0.0.1:0/time+proxy
ok $? "stampd listens on stamp+proxy and time+proxy" || done_testing
SP=$(stampd_port tcp 127.0.0.1 stamp+proxy)
TP=$(stampd_port tcp 127.0.0.1 time+proxy)
note "stampd: stamp+proxy on $SP, time+proxy on $TP"

hap_config 1 2 3 4 5 6 7 8
out=$(haproxy -c -f "$CFG" 2>&1)
ok $? "haproxy -c accepts the configuration" || diag "$out"
hap_start
ok $? "haproxy listens on its eight frontends" || done_testing
note "haproxy: $(haproxy -v | sed -n 1p)" \
    "frontends v1 $PV1, v2 $PV2, v1 ::1 $PV1SIX, v2 ::1 $PV2SIX," \
    "v2+TLVs $PTLV, time v1 $PT1, time v2 $PT2, health $PH"

stamp_via "send-proxy" "$PV1" 127.0.0.1
other_via "send-proxy, from 127.0.0.2" "$PV1"
stamp_via "send-proxy over ::1 (TCP6)" "$PV1SIX" ::1
stamp_via "send-proxy-v2" "$PV2" 127.0.0.1
other_via "send-proxy-v2, from 127.0.0.2" "$PV2"
stamp_via "send-proxy-v2 over ::1 (TCP6)" "$PV2SIX" ::1
stamp_via "send-proxy-v2 with crc32c and unique-id TLVs" "$PTLV" 127.0.0.1
stamp_via "time, send-proxy" "$PT1" 127.0.0.1 -P time
stamp_via "time, send-proxy-v2" "$PT2" 127.0.0.1 -P time

# The health checks connect with a version 2 LOCAL header: stampd must
# take it and name haproxy itself.  They are all the Client lines beyond
# the connections relayed above.
# clients_beyond N: stampd logged more than N Client lines.
clients_beyond()
{
	[ "$(grep -c 'Client:' "$STAMPD_LOG")" -gt "$1" ]
}

lib_wait 5 clients_beyond $((RELAYED + 2))
n=$(grep -c 'Client:' "$STAMPD_LOG")
ok "$([ "$n" -gt $((RELAYED + 2)) ]; echo $?)" \
    "health checks (LOCAL) served: $((n - RELAYED)) Client lines beyond ours"
! grep -q 'is DOWN' "$HLOG"
ok $? "haproxy never saw stampd DOWN" || diag_file "$HLOG"
! grep -q 'PROXY header from' "$STAMPD_LOG"
ok $? "stampd refused none of haproxy's headers" || diag_file "$STAMPD_LOG"
is "$(counter 'bad headers')" 0 "stampd counts 0 bad headers"

lib_stop "$HPID"
note "haproxy stopped: exit $?"

# ---- without haproxy: headers missing, bad, cut short --------------------
# Each is closed without a reply, logged with its reason and counted as a
# bad header, as stampd(8) says.

refused "no header, FIN at once" "$SP" ""

# A silent client is not refused but let go after --linger (1 s), and
# counted as a linger timeout, as any client that keeps stampd waiting.
before=$(counter 'linger timeouts')
r=$(client "$SP" "" 127.0.0.1 open)
note "no header, the client waits: $r"
like "$r" '^[0-9]+ (eof|reset) - -$' \
    "no header, the client waits: closed without a reply"
is "$(counter 'linger timeouts')" $((before + 1)) \
    "no header, the client waits: counted as a linger timeout"
refused "a malformed v1 line" "$SP" "$(hex 'PROXY TCP4 1.2.3.4\r\n')"
like "$REFUSED_LINE" 'v1: the line ends too early' \
    "a malformed v1 line: the parser's reason is logged"
refused "HTTP instead of a header" "$SP" "$(hex 'GET / HTTP/1.0\r\n\r\n')"
like "$REFUSED_LINE" 'not a PROXY protocol header' \
    "HTTP instead of a header: the parser's reason is logged"
refused "the first 10 bytes of a v2 header" "$SP" \
    "$(hex '\r\n\r\n\0\r\nQUI')"
refused "a v2 UDP header" "$SP" \
    "$(hex '\r\n\r\n\0\r\nQUIT\n\041\022\0\014\1\2\3\4\5\6\7\10\1\2\3\4')"
like "$REFUSED_LINE" 'v2: a datagram transport' \
    "a v2 UDP header: the parser's reason is logged"
is "$(counter 'bad headers')" 5 "stampd counts 5 bad headers"

# A header sent directly by an allowed peer (loopback, the default) names
# a client no socket here has.
r=$(client "$SP" "$(hex "PROXY TCP4 192.0.2.7 127.0.0.1 4242 $SP\r\n")")
note "a direct v1 header: $r"
like "$r" '^[0-9]+ eof [0-9a-f]+ [0-9]+$' "a direct v1 header: served"
wait_grep "$STAMPD_LOG" 'Client:192\.0\.2\.7:4242 '
ok $? "a direct v1 header: stampd logged Client:192.0.2.7:4242"
# 2001:db8::1 port 8080 to ::1 port 1937.
a6=20010db8000000000000000000000001000000000000000000000000000000011f900791
r=$(client "$SP" "$(hex '\r\n\r\n\0\r\nQUIT\n\041\041\0\044')$a6")
note "a direct v2 TCP6 header: $r"
like "$r" '^[0-9]+ eof [0-9a-f]+ [0-9]+$' "a direct v2 TCP6 header: served"
wait_grep "$STAMPD_LOG" 'Client:\[2001:db8::1\]:8080 '
ok $? "a direct v2 TCP6 header: stampd logged Client:[2001:db8::1]:8080"

stamp_out=$(lib_timeout 20 "$STAMP" -q -t "$(lib_scale 5)" -p "$SP" \
    127.0.0.1 2> "$LIB_TMP/stamp.err")
ok "$([ -z "$stamp_out" ]; echo $?)" \
    "stamp straight to the +proxy listener gets no time"
like "$(cat "$LIB_TMP/stamp.err")" \
    "^stamp: 127\\.0\\.0\\.1:$SP: .*empty reply" \
    "and says it got an empty reply"
lib_alive "$STAMPD_PID"
ok $? "stampd still runs"

FIRST_PID=$STAMPD_PID
FIRST_LOG=$STAMPD_LOG

# ---- --proxy-from: who may send a header --------------------------------

stampd_start -v --proxy-from 127.0.0.9/32 -l tcp:127.0.0.1:0/stamp+proxy
ok $? "a second stampd, --proxy-from 127.0.0.9/32" || done_testing
SP9=$(stampd_port tcp 127.0.0.1 stamp+proxy)
line=$(hex "PROXY TCP4 198.51.100.3 127.0.0.1 5151 $SP9\r\n")
refused "a good header from 127.0.0.1, not allowed" "$SP9" "$line"
like "$REFUSED_LINE" 'proxy-from|allowed' \
    "not allowed: the reason names --proxy-from"
! grep -q 'Client:198\.51\.100\.3' "$STAMPD_LOG"
ok $? "not allowed: no Client line for the header's client"
r=$(client "$SP9" "$line" 127.0.0.9)
note "the same header from 127.0.0.9: $r"
like "$r" '^[0-9]+ eof [0-9a-f]+ [0-9]+$' "from 127.0.0.9: served"
wait_grep "$STAMPD_LOG" 'Client:198\.51\.100\.3:5151 '
ok $? "from 127.0.0.9: stampd logged Client:198.51.100.3:5151"
stampd_stop
is $? 0 "the second stampd exits 0 on TERM"

STAMPD_PID=$FIRST_PID
STAMPD_LOG=$FIRST_LOG
stampd_stop
is $? 0 "stampd exits 0 on TERM"

done_testing
