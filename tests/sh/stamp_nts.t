#!/bin/sh
# stamp_nts.t: stamp -P nts against an NTS server no one here wrote:
# chronyd, in the foreground, serving NTS-KE on port 4460 and NTP on port
# 123 of loopback with a certificate for localhost and 127.0.0.1 that a CA
# of this test signed (certtool).  The fixed ports are why the test runs in
# a network namespace of its own (unshare -n), where they are ours alone
# and no other host is reachable; chronyd runs as root there (-u root),
# with its files in the test's directory and no command socket, so that a
# chronyd serving this machine is neither seen nor touched.  Needs root.
#
# stamp takes chronyd's time authenticated when told to trust the CA, and
# refuses it with GnuTLS's reason for any other; a port where nothing
# listens, and one where nothing answers the handshake, fail within -t.
# stampbench -P nts and -P nts-ke load the same server, every exchange
# good, and refuse a server whose certificate they cannot trust.
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root: a network namespace and port 123"
	exit 0
fi
if [ -z "${STAMP_NTS_NETNS:-}" ]; then
	STAMP_NTS_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

lib_need ip ss chronyd certtool python3
if ! "$STAMP" -P nts -h > /dev/null 2>&1; then
	echo "1..0 # SKIP stamp was built without NTS (GnuTLS)"
	exit 0
fi
ip link set lo up || bail "ip link set lo up in the new namespace"

tmp=$LIB_TMP

# The CA and the server's certificate it signed; another CA, whose
# server certificate no one serves, for a CA that signed nothing here.
lib_nts_cert "$tmp" "stamp test CA" || {
	diag_file "$tmp/certtool.out"
	bail "certtool: the CA and the server's certificate"
}
lib_nts_cert "$tmp/other" "another CA" || {
	diag_file "$tmp/other/certtool.out"
	bail "certtool: the other CA"
}

# No helper processes (ntsprocesses 0): one pid to stop.  local stratum 3
# makes chronyd serve its time although it follows no source.  All of
# 127/8 is let in: stampbench connects from 127.0.0.1 upwards (--spread).
cat > "$tmp/chrony.conf" <<EOF
ntsserverkey $tmp/server.key
ntsservercert $tmp/server.pem
ntsport 4460
ntsprocesses 0
ntsdumpdir $tmp
port 123
local stratum 3
allow 127.0.0.0/8
allow ::1
driftfile $tmp/chrony.drift
pidfile $tmp/chronyd.pid
cmdport 0
bindcmdaddress /
EOF

# listening: chronyd's NTS-KE port accepts and its NTP port is bound.
listening()
{
	[ -n "$(ss -Hltn 'sport = :4460')" ] &&
	    [ -n "$(ss -Hlun 'sport = :123')" ]
}

lib_spawn "$tmp/chronyd.log" chronyd -u root -d -f "$tmp/chrony.conf"
chronyd=$LIB_PID
lib_wait 10 listening
ok $? "chronyd serves NTS-KE on 4460 and NTP on 123" || {
	diag_file "$tmp/chronyd.log"
	bail "no NTS server to ask"
}

# run ARGS...: stamp's exit status in $rc, its output in $tmp/out and
# $tmp/err.
run()
{
	lib_timeout 20 "$STAMP" "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"
	rc=$?
}

# is_rc WANT NAME
is_rc()
{
	[ "$rc" -eq "$1" ]
	ok $? "$2 (exit $rc)" && return 0
	diag "wanted exit $1; stdout and stderr:"
	diag_file "$tmp/out"
	diag_file "$tmp/err"
	return 1
}

run -P nts --ca "$tmp/ca.pem" 127.0.0.1
is_rc 0 "-P nts --ca CA 127.0.0.1: chronyd's time"
line='offset [-+][0-9.]+s delay [0-9.]+s from 127\.0\.0\.1:123 '
line=$line'\(ntp/udp, stratum 3, leap none, authenticated \(NTS\)\)$'
like "$(cat "$tmp/out")" "$line" \
    "the line says offset, delay, stratum and authenticated (NTS)"

run -v -P nts --ca "$tmp/ca.pem" -t 10 localhost
is_rc 0 "-P nts localhost: the certificate's name"
like "$(cat "$tmp/err")" 'certificate verified' \
    "-v says the certificate was verified"
like "$(cat "$tmp/err")" 'NTS-KE response of [0-9]+ bytes: 8 cookies' \
    "-v says the key establishment's response brought 8 cookies"
like "$(cat "$tmp/out")" 'authenticated \(NTS\)' \
    "localhost: authenticated (NTS)"

run -q -P nts --ca "$tmp/ca.pem" 127.0.0.1
is_rc 0 "-q -P nts"
like "$(cat "$tmp/out")" '^[0-9]+$' "-q prints the Unix time alone"

run -P nts --ca "$tmp/other/ca.pem" 127.0.0.1
is_rc 1 "a CA that did not sign the server's certificate: refused"
like "$(cat "$tmp/err")" \
    '^stamp: 127\.0\.0\.1:4460: TLS handshake: .*certificate.*' \
    "it says GnuTLS's reason for the handshake's failure"
[ ! -s "$tmp/out" ]
ok $? "and prints no time"

run -P nts --ca "$tmp/ca.pem" -t 10 127.0.0.2
is_rc 1 "a name the certificate does not carry: refused"
like "$(cat "$tmp/err")" 'TLS handshake: .*certificate' \
    "it says the certificate is why"

run -P nts -p 4461 --ca "$tmp/ca.pem" 127.0.0.1
is_rc 1 "-P nts where nothing listens fails"
like "$(cat "$tmp/err")" \
    '^stamp: 127\.0\.0\.1:4461: Connection refused$' "and says so"

# A listener that accepts (the kernel's backlog) and never speaks: the
# handshake waits for it only until -t's deadline.
lib_spawn "$tmp/mute.log" python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 4462))
s.listen(8)
print("listening", flush=True)
time.sleep(600)'
mute=$LIB_PID
lib_wait 10 grep -q listening "$tmp/mute.log" ||
    diag "the mute listener did not start"
run -P nts -p 4462 --ca "$tmp/ca.pem" -t 1 127.0.0.1
is_rc 1 "a server that never answers the handshake: given up at -t"
like "$(cat "$tmp/err")" \
    '^stamp: 127\.0\.0\.1:4462: TLS handshake: timed out after 1s$' \
    "it says the handshake timed out"
lib_stop "$mute"

run -P nts -u --ca "$tmp/ca.pem" 127.0.0.1
is_rc 2 "-P nts -u is a usage error"
run --ca "$tmp/ca.pem" -P ntp 127.0.0.1
is_rc 2 "--ca without -P nts is a usage error"
run -P nts --ca "$tmp/nothing.pem" 127.0.0.1
is_rc 1 "--ca naming no file fails"
like "$(cat "$tmp/err")" "^stamp: --ca $tmp/nothing.pem: " \
    "and names the file"

# bench ARGS...: stampbench -q, its exit status in $rc, its output in
# $tmp/bench.
bench()
{
	lib_timeout 60 "$STAMPBENCH" -q "$@" < /dev/null > "$tmp/bench" 2>&1
	rc=$?
}

bench -P nts --ca "$tmp/ca.pem" -n 2000 -c 8 -j 2 127.0.0.1
is "$rc" 0 "stampbench -P nts: every reply authenticated" ||
    diag_file "$tmp/bench"
like "$(cat "$tmp/bench")" \
    '^RESULT proto=nts transport=udp .* ok=2000 bad=0 errors=0 ' \
    "its RESULT line counts 2000 good replies"
bench -P nts-ke --ca "$tmp/ca.pem" -n 100 -c 4 127.0.0.1
is "$rc" 0 "stampbench -P nts-ke: every key establishment good" ||
    diag_file "$tmp/bench"
like "$(cat "$tmp/bench")" \
    '^RESULT proto=nts-ke transport=tls .* ok=100 bad=0 errors=0 ' \
    "its RESULT line counts 100"
bench -P nts --ca "$tmp/other/ca.pem" -n 10 127.0.0.1
is "$rc" 1 "stampbench -P nts with another CA: refused at setup"
like "$(cat "$tmp/bench")" \
    '^stampbench: NTS key establishment: .*certificate' \
    "it says the certificate is why"
bench -P nts-ke --ca "$tmp/other/ca.pem" -n 10 127.0.0.1
is "$rc" 1 "stampbench -P nts-ke with another CA: every one bad"
like "$(cat "$tmp/bench")" '^RESULT .* ok=0 bad=10 errors=0 ' \
    "its RESULT line counts 10 bad"

lib_stop "$chronyd"
ok $? "chronyd exits 0 on TERM" || diag_file "$tmp/chronyd.log"

done_testing
