#!/bin/sh
# nts_interop.t: clients no one here wrote take authenticated time from
# stampd's NTS (RFC 8915), in every model: chrony's chronyd -Q runs key
# establishment over TLS 1.3 with a CA and certificate this test makes with
# GnuTLS's certtool, then NTP with the cookies it got, and says how wrong
# the clock is; stamp -P nts does the same.  OpenSSL's s_client, a TLS
# stack of another hand, is refused when it offers TLS 1.2 only, and when
# it offers no ntske/1.
# stampd binds port 0 for both listeners and names its NTP port in the
# Port Negotiation record, which chronyd follows.  Needs root (chronyd,
# kept root with -u root so that it reads the test's private files).
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root: chronyd"
	exit 0
fi
. "$(dirname "$0")/../lib.sh"

lib_need chronyd certtool openssl awk

# The CA and a certificate for 127.0.0.1 it signed; stampd serves the
# chain (its certificate, then the CA's).
cd "$LIB_TMP" || bail "cd $LIB_TMP"
lib_nts_cert "$LIB_TMP" "stampd test CA" || {
	diag_file "$LIB_TMP/certtool.out"
	bail "certtool could not make the certificates"
}
cat server.pem ca.pem > chain.pem

offset_ok()
{
	awk -v x="$1" 'BEGIN { exit !(x ~ /^[-+]?[0-9.]+(e[-+]?[0-9]+)?$/ &&
	    x > -1 && x < 1) }'
}

# chronyd_nts KE_PORT WHAT: chronyd -Q, NTS with stampd on 127.0.0.1.
chronyd_nts()
{
	local out=$LIB_TMP/chronyd.out x

	lib_timeout 25 chronyd -Q -u root -f /dev/null -t "$(lib_scale 15)" \
	    "pidfile $LIB_TMP/chronyd.pid" 'cmdport 0' \
	    "ntstrustedcerts $LIB_TMP/ca.pem" \
	    "server 127.0.0.1 iburst nts ntsport $1 maxsamples 4" \
	    > "$out" 2>&1
	ok $? "$2: chronyd -Q synchronizes to stampd over NTS" ||
	    diag_file "$out"
	x=$(sed -n 's/.*System clock wrong by \([-+0-9.e]*\) seconds.*/\1/p' \
	    "$out")
	offset_ok "$x"
	ok $? "$2: chronyd finds the clock right to a second ($x s)" ||
	    diag_file "$out"
}

# refused KE_PORT WHAT OPTION...: openssl s_client with OPTION... fails
# its handshake with stampd.
refused()
{
	local port=$1 what=$2 out=$LIB_TMP/s_client.out

	shift 2
	lib_timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$LIB_TMP/ca.pem" "$@" < /dev/null > "$out" 2>&1
	[ $? != 0 ] && ! grep -q 'New, TLSv1.3' "$out"
	ok $? "$what" || diag_file "$out"
}

for m in $(lib_models); do
	stampd_start -m "$m" --local-stratum 8 \
	    --tls-cert "$LIB_TMP/chain.pem" --tls-key "$LIB_TMP/server.key" \
	    -l tcp:127.0.0.1:0/nts-ke -l udp:127.0.0.1:0/ntp
	ok $? "$m: stampd serves nts-ke and ntp" || continue
	ke=$(stampd_port tcp 127.0.0.1 nts-ke)
	chronyd_nts "$ke" "$m"
	# stamp, checked against chronyd by stamp_nts.t, against stampd.
	out=$LIB_TMP/stamp.out
	lib_timeout 20 "$STAMP" -P nts --ca "$LIB_TMP/ca.pem" -p "$ke" \
	    127.0.0.1 < /dev/null > "$out" 2>&1
	ok $? "$m: stamp -P nts takes stampd's time" || diag_file "$out"
	like "$(cat "$out")" 'stratum 8, leap none, authenticated \(NTS\)' \
	    "$m: authenticated (NTS), at the stratum stampd was told"
	refused "$ke" "$m: openssl s_client with TLS 1.2 only is refused" \
	    -tls1_2 -alpn ntske/1
	refused "$ke" "$m: openssl s_client without ALPN ntske/1 is refused" \
	    -tls1_3
	# Once refused, stampd still serves: the same chronyd again.
	lib_timeout 25 chronyd -Q -u root -f /dev/null -t "$(lib_scale 15)" \
	    "pidfile $LIB_TMP/chronyd.pid" 'cmdport 0' \
	    "ntstrustedcerts $LIB_TMP/ca.pem" \
	    "server 127.0.0.1 iburst nts ntsport $ke maxsamples 1" \
	    > /dev/null 2>&1
	ok $? "$m: and serves on after the refusals"
	stampd_stop
	is $? 0 "$m: stampd exits 0 on TERM"
done

done_testing
