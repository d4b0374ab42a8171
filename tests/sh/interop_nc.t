#!/bin/sh
# interop_nc.t: OpenBSD netcat reads the stamp protocol as the lesson did,
# over TCP and UDP, IPv4 and IPv6, and ss(8) sees the sockets the lesson
# looked for with netstat.  The bytes are checked raw: digits, then CRLF.
. "$(dirname "$0")/../lib.sh"

lib_need nc ss od

CR=$(printf '\r')

# check_reply FILE T0 T1 WHAT: one line of digits ended by CRLF, a time
# read between T0 and T1.
check_reply()
{
	local line

	is "$(wc -l < "$1" | tr -d ' ')" 1 "$4: one line"
	# Without its digits, the reply must be exactly CR LF.
	is "$(tr -d '0-9' < "$1" | od -An -tx1 | tr -d ' ')" 0d0a \
	    "$4: the digits end in \\r\\n" || diag "$(od -c "$1")"
	line=$(sed -n 1p "$1")
	like "$line" "^[0-9]+$CR\$" "$4: the line matches ^[0-9]+\\r\$"
	within "${line%"$CR"}" "$2" "$3" "$4: the time is now"
}

if ! nc -h 2>&1 | grep -q OpenBSD; then
	ok 1 "nc is OpenBSD netcat (run tests/deps.sh)"
	done_testing
fi

stampd_start -l tcp:127.0.0.1:0/stamp -l udp:127.0.0.1:0/stamp \
    -l 'tcp:[::1]:0/stamp' -l 'udp:[::1]:0/stamp'
ok $? "stampd listens on TCP and UDP, 127.0.0.1 and ::1" || done_testing
P=$(stampd_port tcp 127.0.0.1 stamp)
U=$(stampd_port udp 127.0.0.1 stamp)
P6=$(stampd_port tcp ::1 stamp)
U6=$(stampd_port udp ::1 stamp)
note "ports: tcp $P udp $U tcp6 $P6 udp6 $U6"

out=$LIB_TMP/out
t0=$(date +%s)
lib_timeout 10 nc -N 127.0.0.1 "$P" < /dev/null > "$out"
ok $? "nc -N 127.0.0.1 $P exits 0"
t1=$(date +%s)
note "nc -N 127.0.0.1 $P: $(od -An -c "$out" | tr -s ' ')"
check_reply "$out" "$t0" "$t1" "tcp 127.0.0.1"

t0=$(date +%s)
printf x | lib_timeout 10 nc -u -w1 127.0.0.1 "$U" > "$out"
ok $? "printf x | nc -u -w1 127.0.0.1 $U exits 0"
t1=$(date +%s)
note "nc -u -w1 127.0.0.1 $U: $(od -An -c "$out" | tr -s ' ')"
check_reply "$out" "$t0" "$t1" "udp 127.0.0.1"

t0=$(date +%s)
lib_timeout 10 nc -6 -N ::1 "$P6" < /dev/null > "$out"
ok $? "nc -6 -N ::1 $P6 exits 0"
t1=$(date +%s)
note "nc -6 -N ::1 $P6: $(od -An -c "$out" | tr -s ' ')"
check_reply "$out" "$t0" "$t1" "tcp ::1"

t0=$(date +%s)
printf x | lib_timeout 10 nc -6 -u -w1 ::1 "$U6" > "$out"
ok $? "printf x | nc -6 -u -w1 ::1 $U6 exits 0"
t1=$(date +%s)
check_reply "$out" "$t0" "$t1" "udp ::1"

s=$(lib_timeout 10 ss -ltnH "sport = :$P")
like "$s" "^LISTEN .* 127\\.0\\.0\\.1:$P " \
    "ss -ltn shows 127.0.0.1:$P listening"
note "ss -ltnH 'sport = :$P': $s"
s=$(lib_timeout 10 ss -lunH "sport = :$U")
like "$s" "127\\.0\\.0\\.1:$U " "ss -lun shows 127.0.0.1:$U bound"
note "ss -lunH 'sport = :$U': $s"
s=$(lib_timeout 10 ss -ltnH "sport = :$P6")
like "$s" "^LISTEN .* \\[::1\\]:$P6 " "ss -ltn shows [::1]:$P6 listening"
if [ "$(id -u)" = 0 ]; then
	s=$(lib_timeout 10 ss -ltnpH "sport = :$P")
	like "$s" 'users:\(\("stampd",' "ss -ltnp: the socket is stampd's"
else
	skip "ss -ltnp: the socket is stampd's" "ss -p needs root"
fi

stampd_stop
is $? 0 "stampd exits 0 on TERM"

done_testing
