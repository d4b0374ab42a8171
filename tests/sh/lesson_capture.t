#!/bin/sh
# lesson_capture.t: the lesson's packets, captured, checked and drawn.
#
# Each experiment of docs/stream-vs-datagram.md that a ladder diagram
# shows runs under tcpdump on lo, filtered on the ports it bound (port 0
# first, so the kernel picks them); the packets and the socket calls it
# printed go through tests/lesson/ladder.awk into one ordered list, which
# is asserted here as the doc tells it, and into an mscgen chart.  So a
# kernel that did otherwise fails this test rather than leave a picture
# that lies.  stampd's own exchanges are captured the same way, their
# calls read from strace(1) on stampd and on stamp; and one NTP exchange,
# whose timestamps are read from the captured bytes (tests/lesson/ntp.awk)
# but the client's receive time, which no packet carries.  Each chart is
# rendered here (SVG, to see that mscgen takes it); with LESSON_IMG set
# (make lesson), the IPv4 ones go there as .msc, .png and .svg.
. "$(dirname "$0")/../lib.sh"

lib_need tcpdump mscgen strace awk sort mkfifo

LESSON=$(cd "$(dirname "$0")/../lesson" && pwd)
CAP=${STAMP_BUILD:?run through make check}/tests/lesson/lessoncap
[ -x "$CAP" ] || bail "$CAP is not built (make check builds it)"
[ -n "$STAMP" ] && [ -x "$STAMP" ] || bail "STAMP is not an executable"
IMG=${LESSON_IMG:-}
V6=1
if ! ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	V6=0
fi

# ---- capturing -----------------------------------------------------------

# tcpdump_start NAME FILTER: tcpdump on lo into NAME.pcap, and wait until
# it says it listens; sets TCPDUMP.  -Z root: it must write in our
# directory; --immediate-mode: each packet is written as it comes.
tcpdump_start()
{
	lib_spawn "$1.tcpdump" tcpdump -i lo -nn -U --immediate-mode -Z root \
	    --time-stamp-precision=nano -w "$1.pcap" "$2"
	TCPDUMP=$LIB_PID
	lib_wait 5 grep -q 'listening on' "$1.tcpdump" && return 0
	diag "tcpdump did not start"
	diag_file "$1.tcpdump"
	return 1
}

# settled NAME: the capture holds packets, as many as at the last look.
SEEN=
settled()
{
	local n

	n=$(tcpdump -r "$1.pcap" -nn 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] && [ "$n" = "$SEEN" ] && return 0
	SEEN=$n
	return 1
}

# tcpdump_stop NAME: once the last packets are written, stop tcpdump by
# its pid and read the capture as text into NAME.txt.
tcpdump_stop()
{
	SEEN=
	lib_wait 5 settled "$1" || diag "the capture did not settle"
	lib_stop "$TCPDUMP" > /dev/null
	tcpdump -tt -nn --time-stamp-precision=nano -r "$1.pcap" \
	    > "$1.txt" 2> /dev/null
}

# draw NAME TITLE IMAGE [HSCALE]: NAME.ev and NAME.txt into NAME.msc and
# the words of NAME.seq, then SEQ (one line, a space at each end); the
# chart to SVG, and with LESSON_IMG to docs/img as IMAGE; HSCALE widens
# it for long labels.  Returns 1 if mscgen refuses it.
draw()
{
	awk -v seq="$1.seq" -v title="$2" -v hscale="${4:-}" \
	    -f "$LESSON/ladder.awk" \
	    -v left="client client1 client2 client3 sender stamp" \
	    "$1.ev" "$1.txt" > "$1.msc"
	SEQ=" $(tr '\n' ' ' < "$1.seq")"
	note "$2:" "$SEQ"
	mscgen -T svg -o "$1.svg" "$1.msc" > "$1.mscgen" 2>&1 || {
		diag_file "$1.mscgen"
		return 1
	}
	[ -n "$IMG" ] && [ "$FAM" = 4 ] || return 0
	cp "$1.msc" "$IMG/$3.msc" &&
	    mscgen -T png -o "$IMG/$3.png" "$IMG/$3.msc" &&
	    mscgen -T svg -o "$IMG/$3.svg" "$IMG/$3.msc"
}

# experiment NAME FAMILY: lessoncap NAME under a capture; its lines in
# $D.ev, the packets in $D.txt.  lessoncap waits for the go on a fifo
# until tcpdump listens on the ports it bound.
experiment()
{
	D=$LIB_TMP/$1.$2
	mkfifo "$D.go" || bail "mkfifo failed"
	exec 3<> "$D.go"
	# A background job's stdin is /dev/null: the fifo is opened inside.
	lib_spawn "$D.ev" sh -c 'exec "$@" < "$0"' "$D.go" "$CAP" "$1" "$2"
	pid=$LIB_PID
	if ! lib_wait 5 grep -q '^filter ' "$D.ev"; then
		diag_file "$D.ev"
		exec 3>&-
		return 1
	fi
	tcpdump_start "$D" "$(sed -n 's/^filter //p' "$D.ev")" || {
		exec 3>&-
		return 1
	}
	echo go >&3
	lib_wait 30 lib_gone "$pid"
	lib_stop "$pid"
	st=$?
	exec 3>&-
	tcpdump_stop "$D"
	[ $st = 0 ] && return 0
	diag "lessoncap $1 $2 exited $st"
	diag_file "$D.ev"
	return 1
}

# part N: the words of part N of SEQ (parts begin at each --).
part()
{
	printf '%s\n' "$SEQ" | awk -v n="$1" -v RS=' -- ' \
	    'NR == n + 1 { sub(/[ \n]*$/, ""); print " " $0 " " }'
}

# before WORD: SEQ up to the first WORD.
before()
{
	printf '%s\n' "${SEQ%% "$1" *}"
}

count()
{
	printf '%s\n' "$1" | tr ' ' '\n' | grep -Ec -- "$2"
}

# ---- the lesson's experiments --------------------------------------------

for FAM in 4 6; do
	F=IPv$FAM
	if [ $FAM = 6 ] && [ $V6 = 0 ]; then
		skip "IPv6 captures" "lo has no ::1"
		continue
	fi

	# 1. The handshake is done before accept().
	experiment handshake $FAM
	ok $? "handshake $F: lessoncap ran under tcpdump"
	draw "$D" "handshake: connect() returns, accept() comes later" \
	    lesson-handshake
	ok $? "handshake $F: mscgen draws it"
	like "$SEQ" ' client:connect=0 client>server:S:0 server>client:SA:0 client>server:A:0 client:connect=0/ret ' \
	    "handshake $F: connect() sends SYN, gets SYN-ACK, sends ACK, returns"
	like "$SEQ" ' client:connect=0/ret server:accept=0 server:accept=0/ret ' \
	    "handshake $F: accept() comes after, and sends nothing"
	like "$SEQ" ' client:close=0 client>server:FA:0 .* server>client:FA:0 client>server:A:0 ' \
	    "handshake $F: each close() sends FIN, answered by ACK"

	# 7. The accept queue full: SYNs dropped, sent again.
	experiment queue $FAM
	ok $? "queue $F: lessoncap ran under tcpdump"
	draw "$D" "listen(1), no accept(): the third SYN meets a full queue" \
	    lesson-queue
	ok $? "queue $F: mscgen draws it"
	pre=$(before server:accept=0)
	like "$pre" ' client1>server:S:0 server>client1:SA:0 client1>server:A:0 .* client2>server:S:0 server>client2:SA:0 client2>server:A:0 ' \
	    "queue $F: backlog 1 takes two handshakes before any accept()"
	n=$(count "$pre" '^client3>server:S:0$')
	ok $(( n < 2 )) "queue $F: client 3's SYN is sent $n times before accept()"
	ok "$(count "$pre" '^server>client3:')" \
	    "queue $F: and gets no answer: dropped, not refused"
	like "$SEQ" ' server:accept=0/ret ([^ ]+ )*client3>server:S:0 server>client3:SA:0 client3>server:A:0 ' \
	    "queue $F: once accept() makes room, the next SYN gets in"

	# 8. FIN, or RST.
	experiment finrst $FAM
	ok $? "finrst $F: lessoncap ran under tcpdump"
	draw "$D" "close() after reading sends FIN; with bytes unread, RST" \
	    lesson-finrst
	ok $? "finrst $F: mscgen draws it"
	clean=$(part 1)
	unread=$(part 2)
	like "$clean" ' server:shutdown=0 server>client:FA:0 server:shutdown=0/ret ' \
	    "finrst $F: shutdown(SHUT_WR) sends the FIN"
	ok "$(count "$clean" '^server>client:R')" \
	    "finrst $F: the server that read everything sends no RST"
	like "$clean" ' client:recv=0 ' "finrst $F: the client reads end of stream"
	like "$unread" ' server:close=0 server>client:RA?:0 server:close=0/ret ' \
	    "finrst $F: close() with 100 bytes unread sends RST"
	ok "$(count "$unread" '^server>client:F')" \
	    "finrst $F: and no FIN"
	like "$unread" ' client:recv=ECONNRESET ' \
	    "finrst $F: the client's recv() fails with ECONNRESET"

	# 2. Bytes, or messages.
	experiment merge $FAM
	ok $? "merge $F: lessoncap ran under tcpdump"
	draw "$D" "three send() on a stream, three sendto() of datagrams" \
	    lesson-merge
	ok $? "merge $F: mscgen draws it"
	stream=$(part 1)
	dgram=$(part 2)
	is "$(count "$stream" '^sender>receiver:[A-Z]*:[1-9]')" 1 \
	    "merge $F: the three corked send()s leave as one segment"
	like "$stream" ' sender>receiver:PA:6 ' "merge $F: of 6 bytes"
	like "$stream" ' receiver:recv=6 ' "merge $F: and one recv() returns 6"
	like "$dgram" ' sender>receiver:udp:1 .*sender>receiver:udp:2 .*sender>receiver:udp:3 ' \
	    "merge $F: three sendto()s are three datagrams, 1, 2 and 3 bytes"
	is "$(count "$dgram" '^sender>receiver:udp:')" 3 \
	    "merge $F: and no more"
	like "$dgram" ' receiver:recvfrom=1 .*receiver:recvfrom=2 .*receiver:recvfrom=3 ' \
	    "merge $F: each recvfrom() returns one of them whole"

	# 1. ICMP port unreachable, heard by a connected socket only.
	experiment icmp $FAM
	ok $? "icmp $F: lessoncap ran under tcpdump"
	draw "$D" "a datagram to a port where nothing listens" lesson-icmp
	ok $? "icmp $F: mscgen draws it"
	unc=$(part 1)
	con=$(part 2)
	like "$unc" ' client>nobody:udp:2 ([^ ]+ )*nobody>client:icmp:0 ([^ ]+ )*client:recv=EAGAIN ' \
	    "icmp $F: unconnected: the ICMP comes back, recv() hears nothing"
	like "$con" ' client:connect=0 client:connect=0/ret ' \
	    "icmp $F: connect() on UDP sends nothing"
	like "$con" ' client>nobody:udp:2 ([^ ]+ )*nobody>client:icmp:0 ([^ ]+ )*client:recv=ECONNREFUSED/ret ' \
	    "icmp $F: connected: the ICMP is the ECONNREFUSED of recv()"
done

# ---- stampd's own exchanges ----------------------------------------------

# The iterative model: the lesson's loop, one process.
FAM=4
stampd_start -m iterative -l tcp:127.0.0.1:0/stamp -l udp:127.0.0.1:0/stamp
ok $? "stampd listens" || done_testing
P=$(stampd_port tcp 127.0.0.1 stamp)
U=$(stampd_port udp 127.0.0.1 stamp)
# stampd itself, not timeout(1) its parent.
daemon=$(cat "/proc/$STAMPD_PID/task/$STAMPD_PID/children" 2>/dev/null |
    tr ' ' '\n' | sed -n 1p)

traced()
{
	grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$1/status" 2> /dev/null
}

# ask NAME PORT FILTER [STAMP-ARG...]: stamp asks stampd under a capture,
# both under strace; the lines and packets into $D.ev and $D.txt.
ask()
{
	local name="$1" port="$2" filter="$3" tracer st

	shift 3
	D=$LIB_TMP/$name
	lib_spawn "$D.strace.log" strace -f -ttt -T -qq -o "$D.stampd" \
	    -e trace=accept4,accept,sendto,sendmsg,sendmmsg,recvfrom,recvmsg,recvmmsg,shutdown,close \
	    -p "$daemon"
	tracer=$LIB_PID
	lib_wait 5 traced "$daemon" || {
		diag "strace did not attach to $daemon"
		diag_file "$D.strace.log"
		return 1
	}
	tcpdump_start "$D" "$filter" || return 1
	# LeakSanitizer cannot work under ptrace: a SAN build's stamp would
	# fail at exit for that alone.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    lib_timeout 10 strace -ttt -T -qq -o "$D.stamp" \
	    -e trace=socket,connect,sendto,recvfrom,read,shutdown,close \
	    "$STAMP" -4 -p "$port" "$@" 127.0.0.1 > "$D.out" 2>&1
	st=$?
	tcpdump_stop "$D"
	lib_stop "$tracer" > /dev/null
	{
		echo "ent stampd 127.0.0.1 $port"
		echo "ent stamp 127.0.0.1 *"
		awk -v who=stamp -f "$LESSON/strace.awk" "$D.stamp"
		awk -v who=stampd -f "$LESSON/strace.awk" "$D.stampd"
	} > "$D.ev"
	[ $st = 0 ] && return 0
	diag "stamp exited $st"
	diag_file "$D.out"
	return 1
}

ask stampd-tcp "$P" "tcp port $P"
ok $? "stampd tcp: stamp asks under tcpdump and strace"
draw "$D" "stamp asks stampd over TCP (stampd -m iterative)" stampd-tcp
ok $? "stampd tcp: mscgen draws it"
like "$SEQ" ' stamp>stampd:S:0 ([^ ]+ )*stampd>stamp:SA:0 ([^ ]+ )*stamp>stampd:A:0 ([^ ]+ )*stampd:accept4=[0-9]+ ' \
    "stampd tcp: the handshake, then accept4()"
# The claim is in the packets alone: the reply's one segment carries the
# FIN, which only shutdown() makes, so send(MSG_MORE) sent nothing.  The
# calls' order is strace's own; a packet's place among the calls is not
# asserted beyond cause and effect (strace and tcpdump each stamp what
# they see when they get to it, and a loaded machine may let one lag).
like "$SEQ" ' stampd>stamp:FP?A:1[0-9] ' \
    "stampd tcp: send(MSG_MORE) sends nothing; shutdown() sends reply and FIN in one segment"
like "$SEQ" ' stampd:sendto=[0-9]+ ([^ ]+ )*stampd:sendto=[0-9]+/ret ([^ ]+ )*stampd:shutdown=0 ([^ ]+ )*stampd>stamp:FP?A:1[0-9] ' \
    "stampd tcp: send(), its return, shutdown(), then that segment"
is "$(count "$SEQ" '^stampd>stamp:[A-Z]*:[1-9]')" 1 \
    "stampd tcp: the one segment with data"
ok "$(count "$SEQ" '^[a-z]+>[a-z]+:R')" "stampd tcp: no RST either way"
like "$SEQ" ' stampd:recvfrom=(EAGAIN|0) ([^ ]+ )*stampd:close=0 ' \
    "stampd tcp: the drain finds nothing unread, then close()"
like "$SEQ" ' stamp:recvfrom=12 .*stamp:recvfrom=0 .*stamp>stampd:FA:0 ' \
    "stampd tcp: stamp reads the 12 bytes, end of stream, and closes: FIN"

ask stampd-udp "$U" "udp port $U" -u
ok $? "stampd udp: stamp asks under tcpdump and strace"
draw "$D" "stamp asks stampd over UDP (stampd -m iterative)" stampd-udp
ok $? "stampd udp: mscgen draws it"
like "$SEQ" ' stamp:connect=0 stamp:connect=0/ret ' \
    "stampd udp: stamp's connect() sends nothing"
like "$SEQ" ' stamp>stampd:udp:0 ([^ ]+ )*stampd:recvmmsg=1 ([^ ]+ )*stampd>stamp:udp:12 ([^ ]+ )*stamp:recvfrom=12/ret ' \
    "stampd udp: an empty datagram asks, one of 12 bytes answers"
is "$(count "$SEQ" ':udp:')" 2 "stampd udp: two datagrams in all"

# ---- time over datagrams: one NTP exchange -------------------------------

# nsec SECONDS.NANOSECONDS: as one number of nanoseconds (0 if it is not
# one; the leading 1 keeps the digits from being read as octal).
nsec()
{
	case $1 in
	[0-9]*.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9])
		echo $(( ${1%.*} * 1000000000 + 1${1#*.} - 1000000000 ))
		;;
	*)
		echo 0
		;;
	esac
}

# clock SECONDS.NANOSECONDS: the time of day it is, UTC, to the ns.
clock()
{
	printf '%s.%s\n' "$(date -u -d "@${1%.*}" +%H:%M:%S)" "${1#*.}"
}

# earlier A B WHAT: A, a time, is not after B; says both if it is.
earlier()
{
	local a b

	a=$(nsec "$1")
	b=$(nsec "$2")
	[ "$a" != 0 ] && [ "$b" != 0 ] && [ "$a" -le "$b" ]
	ok $? "$3" || diag "  $1 is after $2"
}

# us NANOSECONDS: in microseconds, three decimals and a sign.
us()
{
	local n=$1 s=+

	[ "$n" -ge 0 ] || { s=-; n=$(( -n )); }
	printf '%s%d.%03d\n' "$s" $(( n / 1000 )) $(( n % 1000 ))
}

# The server as the doc runs it, in stampd's default model: the stratum
# given, for this machine's clock may be unsynchronized, and stamp
# refuses a server that says so.
stampd_start --local-stratum 8 -l udp:127.0.0.1:0/ntp
ok $? "ntp: stampd --local-stratum 8 listens" || done_testing
N=$(stampd_port udp 127.0.0.1 ntp)

# stamp asks under a capture.  t1, t2 and t3 are in the packets; t4, the
# reply's arrival as the client's kernel stamped it (SO_TIMESTAMPNS), is
# on none: strace reads it from the control data of stamp's recvmmsg().
# --seccomp-bpf stops stamp at that call alone, after t4 was taken, so
# the trace does not slow the exchange it looks at.
D=$LIB_TMP/stampd-ntp
tcpdump_start "$D" "udp port $N"
ok $? "ntp: tcpdump listens"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    lib_timeout 10 strace -f --seccomp-bpf -qq -e trace=recvmmsg \
    -o "$D.stamp" "$STAMP" -4 -P ntp -p "$N" 127.0.0.1 > "$D.out" 2>&1
st=$?
tcpdump_stop "$D"
is "$st" 0 "ntp: stamp -P ntp gets its answer under tcpdump and strace" ||
    diag_file "$D.out"
note "stamp:" "$(cat "$D.out")"
tcpdump -tt -nn -x --time-stamp-precision=nano -r "$D.pcap" 2> /dev/null |
    awk -f "$LESSON/ntp.awk" > "$D.ntp"
note "the NTP headers, decoded:" "$(cat "$D.ntp")"
# The request is the datagram to stampd's port, the reply the one from
# it; each line: TIME SRC DST LEN LI VN MODE STRATUM ORGHEX RECHEX XMTHEX
# ORG REC XMT, and dashes for what is missing.
req=$(awk -v p="$N" '{ n = split($3, a, ".") } a[n] == p' "$D.ntp" | sed 1q)
rep=$(awk -v p="$N" '{ n = split($2, a, ".") } a[n] == p' "$D.ntp" | sed 1q)
set -- $req - - - - - - - - - - - - - -
qtime=$1 qvn=$6 qmode=$7 qxmt=${11} t1=${14}
set -- $rep - - - - - - - - - - - - - -
rtime=$1 rli=$5 rvn=$6 rmode=$7 rstratum=$8 rorg=$9 t2=${13} t3=${14}
t4=$(sed -n 's/.*recvmmsg(.*tv_sec=\([0-9]*\), tv_nsec=\([0-9]*\)}.*) = 1$/\1 \2/p' \
    "$D.stamp" | awk 'NR == 1 { printf "%d.%09d\n", $1, $2 }')
[ -n "$t4" ] || { t4=-; diag_file "$D.stamp"; }
{
	echo "ent stampd 127.0.0.1 $N"
	echo "ent stamp 127.0.0.1 *"
	echo "note $t1 stamp stamp t1 t1 = $(clock "$t1")  stamp reads its clock"
	echo "say $qtime mode 3, transmit t1"
	echo "note $t2+ stampd stampd t2 t2 = $(clock "$t2")  the kernel's stamp"
	echo "note $t3 stampd stampd t3 t3 = $(clock "$t3")  stampd reads its clock"
	echo "say $rtime mode 4, origin t1, receive t2, transmit t3"
	echo "note $t4+ stamp stamp t4 t4 = $(clock "$t4")  the kernel's stamp"
	n1=$(nsec "$t1") n2=$(nsec "$t2") n3=$(nsec "$t3") n4=$(nsec "$t4")
	offset=$(( ((n2 - n1) + (n3 - n4)) / 2 ))
	delay=$(( (n4 - n1) - (n3 - n2) ))
	echo "note $t4+ stamp stampd result offset ((t2 - t1) + (t3 - t4)) / 2 = $(us $offset) us,   delay (t4 - t1) - (t3 - t2) = $(us $delay | tr -d +) us"
} > "$D.ev"
draw "$D" "stamp -P ntp asks stampd --local-stratum 8: one exchange, four timestamps" \
    stampd-ntp
ok $? "ntp: mscgen draws it"

# What was on the wire: one request, one reply, 48 bytes each.
is "$(count "$SEQ" '^stamp>stampd:udp:48$')" 1 \
    "ntp: one request of 48 bytes"
is "$(count "$SEQ" '^stampd>stamp:udp:48$')" 1 "ntp: one reply of 48 bytes"
is "$(count "$SEQ" ':udp:')" 2 "ntp: two datagrams in all"
is "$qmode $qvn" "3 4" "ntp: the request is a client's, mode 3, version 4"
is "$rmode $rvn $rstratum" "4 4 8" \
    "ntp: the reply is a server's, mode 4, version 4, stratum 8 as told"
like "$rli" '^[012]$' "ntp: its leap indicator is not 3 (unsynchronized)"
# The reply names the request it answers.
like "$rorg" '^[0-9a-f]{16}$' "ntp: the reply has an origin timestamp"
is "$rorg" "$qxmt" "ntp: the reply's origin is the request's transmit, t1, bit for bit"

# The four timestamps and the two times tcpdump saw, in the order that
# cause and effect gives them, on the one clock of this machine: a time
# is read before the packet that carries it leaves, and the kernel stamps
# an arrival no earlier than tcpdump sees the packet.  No duration is
# asserted.
earlier "$t1" "$qtime" "ntp: t1, stamp's transmit, was read before tcpdump saw the request"
earlier "$qtime" "$t2" "ntp: t2, stampd's receive, is no earlier than tcpdump saw the request"
earlier "$t2" "$t3" "ntp: t2 <= t3: stampd read its transmit after the request came"
earlier "$t3" "$rtime" "ntp: t3, stampd's transmit, was read before tcpdump saw the reply"
earlier "$rtime" "$t4" "ntp: t4, stamp's receive, is no earlier than tcpdump saw the reply"
like "$SEQ" ' stamp:t1 stamp>stampd:udp:48 stampd:t2 stampd:t3 stampd>stamp:udp:48 stamp:t4 ' \
    "ntp: and the chart has them in that order"

# printed WHAT: the number stamp printed after WHAT, in nanoseconds.
printed()
{
	local x s=

	x=$(sed -n "s/.* $1 \([-+]\{0,1\}[0-9]*\.[0-9]\{6\}\)s .*/\1/p" \
	    "$D.out")
	[ -n "$x" ] || { echo 999999999; return; }
	case $x in
	-*)
		s=-
		;;
	esac
	x=${x#[-+]}
	echo $(( $s (${x%.*} * 1000000 + 1${x#*.} - 1000000) * 1000 ))
}
# stamp's offset and delay are these four timestamps' own, to the
# microsecond it prints.
for what in offset delay; do
	eval "mine=\$$what"
	got=$(printed "$what")
	d=$(( got - mine ))
	ok $(( d < -1000 || d > 1000 )) \
	    "ntp: stamp's $what is the four timestamps': $(us "$got") us, $(us "$mine") us"
done
stampd_stop > /dev/null

# ---- keys over a stream, time over datagrams: NTS ------------------------

# stamp -P nts against stampd: the key establishment over TLS 1.3 on one
# port, then one authenticated NTP exchange on another, under one
# capture.  The certificates are made here (certtool, ECDSA); stamp
# trusts the CA that signed the server's.  TLS hides what its records
# carry: nts.awk reads their headers from the captured bytes, names them
# by their order and size, and the NTS fields of the datagrams.
lib_need certtool
"$STAMP" -P nts -h > /dev/null 2>&1 ||
    bail "stamp was built without NTS: sh tests/deps.sh installs GnuTLS"

lib_nts_cert "$LIB_TMP" "lesson CA"
ok $? "nts: certtool makes a CA and the server's certificate" || {
	diag_file "$LIB_TMP/certtool.out"
	done_testing
}

stampd_start --local-stratum 8 -l tcp:127.0.0.1:0/nts-ke \
    --tls-cert "$LIB_TMP/server.pem" --tls-key "$LIB_TMP/server.key" \
    -l udp:127.0.0.1:0/ntp
ok $? "nts: stampd serves NTS-KE and NTP" || done_testing
K=$(stampd_port tcp 127.0.0.1 nts-ke)
N=$(stampd_port udp 127.0.0.1 ntp)

# whole NAME: the capture NAME.txt misses nothing of the exchange: a
# SYN, each direction's bytes with no gap in their sequence numbers (a
# segment sent again overlaps, it does not skip; tcpdump numbers each
# direction's bytes from 1), and two datagrams.
whole()
{
	awk '
	/Flags \[S\]/ { syn = 1 }
	/: UDP, length/ { udp++ }
	match($0, /seq [0-9]+:[0-9]+/) {
		split(substr($0, RSTART + 4, RLENGTH - 4), r, ":")
		if (!($3 in next_))
			next_[$3] = 1
		if (r[1] + 0 > next_[$3])
			gap = 1
		if (r[2] + 0 > next_[$3])
			next_[$3] = r[2] + 0
	}
	END { exit !(syn && !gap && udp == 2) }' "$1.txt"
}

# A loaded machine may starve tcpdump, whose kernel buffer then drops
# packets: the exchange is captured again, up to three times, until the
# capture is whole: judged by what it holds, not by tcpdump's count of
# drops, which on a busy machine stayed at 128 three tries running while
# the charts it left missed nothing.
D=$LIB_TMP/stampd-nts
try=1
cap=0
st=1
while :; do
	tcpdump_start "$D" "tcp port $K or udp port $N" || { cap=1; break; }
	lib_timeout 10 "$STAMP" -4 -P nts --ca "$LIB_TMP/ca.pem" -p "$K" \
	    127.0.0.1 > "$D.out" 2>&1
	st=$?
	tcpdump_stop "$D"
	whole "$D" && break
	[ $try -lt 3 ] || break
	diag "nts: the capture misses packets: capturing again"
	diag_file "$D.tcpdump"
	try=$((try + 1))
done
ok $cap "nts: tcpdump listens"
whole "$D"
ok $? "nts: the capture is whole (try $try)" || {
	diag_file "$D.tcpdump"
	diag_file "$D.txt"
}
is "$st" 0 "nts: stamp -P nts gets authenticated time under tcpdump" ||
    diag_file "$D.out"
note "stamp:" "$(cat "$D.out")"
like "$(cat "$D.out")" 'authenticated \(NTS\)' "nts: and says it is NTS's"
stampd_stop > /dev/null
tcpdump -tt -nn -x --time-stamp-precision=nano -r "$D.pcap" 2> /dev/null |
    awk -v ke="$K" -v ntp="$N" -f "$LESSON/nts.awk" > "$D.nts"
note "the records and fields, from the bytes:" "$(grep -v '^say' "$D.nts")"
{
	echo "ent stampd 127.0.0.1 $K"
	echo "ent stampd 127.0.0.1 $N"
	echo "ent stamp 127.0.0.1 *"
	grep '^say ' "$D.nts"
} > "$D.ev"
draw "$D" "stamp -P nts asks stampd: keys over a stream, time in datagrams" \
    stampd-nts 2.1
ok $? "nts: mscgen draws it"

# recs DIR: the names of the records DIR sent, in order, one line.
recs()
{
	awk -v d="$1" '$1 == "rec" && $3 == d {
		for (i = 4; i < NF; i++)
			printf " %s", $i
	}
	END { print " " }' "$D.nts"
}
like "$SEQ" '^ stamp>stampd:S:0 stampd>stamp:SA:0 stamp>stampd:A:0 ' \
    "nts: the TCP handshake first"
like "$(recs c)" '^ ClientHello (ChangeCipherSpec )?Finished NTS-KE.request close_notify $' \
    "nts: the client's records: ClientHello, Finished, request, close_notify"
like "$(recs s)" '^ ServerHello (ChangeCipherSpec )?EncryptedExtensions Certificate CertificateVerify Finished NTS-KE.response close_notify $' \
    "nts: the server's: ServerHello, its flight, the response, close_notify"
# Either end may close first.  As a rule stampd does, its close_notify
# and FIN in one segment; should the client's close_notify come first,
# stampd's close() finds it unread and sends RST instead (section 8); and
# stamp may have sent its close_notify and FIN and closed before
# stampd's close_notify comes, which stamp's kernel answers with RST.
like "$SEQ" ' (stampd>stamp|stamp>stampd):[FR][A-Z]*:[0-9]+ ' \
    "nts: a FIN or an RST ends the stream, from either end"
# The datagrams come once the response is read; the stream's close may
# still be on its way, beside them.
resp=$(awk '$1 == "rec" && $3 == "s" && $4 == "NTS-KE" { print $2; exit }' \
    "$D.nts")
udps=$(awk '$1 == "udp" { printf "%s %s\n", $2, $3 }' "$D.nts")
[ -n "$resp" ] && [ "$(echo "$udps" | wc -l)" = 2 ] &&
    echo "$udps" | awk -v r="$resp" 'NR == 1 && $2 != "c" { exit 1 }
	NR == 2 && $2 != "s" { exit 1 } $1 < r { exit 1 }'
ok $? "nts: then one datagram each way, after the key establishment's \
response" || diag "response at $resp; datagrams: $udps"
set -- $(awk '$1 == "udp" && $3 == "c"' "$D.nts") - - - - - - - - - - - -
qlen=$4 quid=$5 qck=$6 qph=$7 qau=$8 qid=${10} qcl=${11} qal=${12}
set -- $(awk '$1 == "udp" && $3 == "s"' "$D.nts") - - - - - - - - - - - -
rlen=$4 ruid=$5 rck=$6 rph=$7 rau=$8 rnak=$9 rid=${10} ral=${12}
is "$quid $qck $qau" "1 1 1" \
    "nts: the request: a unique identifier, a cookie, an authenticator"
is "$ruid $rau $rnak" "1 1 0" \
    "nts: the reply: its identifier and authenticator, no NAK"
ok $(( rlen > qlen )) \
    "nts: the reply ($rlen bytes) is no longer than the request ($qlen)"
like "$qid" '^[0-9a-f]{64,}$' \
    "nts: the request's unique identifier, 32 random bytes or more"
is "$rid" "$qid" "nts: the reply's is the request's, byte for byte"
# The fresh cookie: sealed in the reply's authenticator, which is longer
# than the request's by at least a cookie field.
case "$qcl$qal$ral" in
*[!0-9]*)
	qcl=1 qal=0 ral=0
	;;
esac
ok $(( ral - qal < qcl )) \
    "nts: its authenticator ($ral): the request's ($qal), a cookie ($qcl)"
# The KE response: its record, less the header (5) and the seal (17),
# is next protocol, AEAD and end of message (6 + 6 + 4), a port or a
# server's name, and the cookies, each a record as long as the cookie
# field (both a four-byte header and the cookie).
resp=$(awk '$1 == "rec" && $3 == "s" && / NTS-KE response / {
	print $NF; exit }' "$D.nts")
is "$(( (${resp:-0} - 5 - 17 - 16) / qcl ))" 8 \
    "nts: the KE response ($resp bytes) holds eight cookies of that size"

done_testing
