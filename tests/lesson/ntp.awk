# ntp.awk: the NTP headers of captured datagrams, decoded from the bytes.
#
#	tcpdump -tt -nn -x --time-stamp-precision=nano -r X.pcap |
#	    awk -f ntp.awk
#
# tcpdump prints each packet's line, then its bytes from the IP header on
# in hex (-x).  For each UDP datagram of IPv4 or IPv6 whose payload holds
# at least the 48 bytes of an NTP header, one line:
#	TIME SRC DST LEN LI VN MODE STRATUM ORGHEX RECHEX XMTHEX ORG REC XMT
# TIME, SRC and DST as tcpdump wrote them; LEN the UDP payload's length;
# the header's leap indicator, version, mode and stratum; its origin,
# receive and transmit timestamps as the 16 hex digits on the wire, then
# as Unix times, seconds and nanoseconds ("-" for a zero timestamp), to
# be set beside tcpdump's own.  Read in NTP era 0, which ends in 2036;
# the captures are made now, so that is where they are.
# No tcpdump decoder is used: it knows NTP on port 123 only, and the
# lesson's stampd listens on port 0.

function hex(s,	i, v)
{
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}

# 16 hex digits of an NTP timestamp as Unix seconds.nanoseconds: the
# fraction in two halves, so that no product passes a double's 53 bits.
function unix(h,	s, ns)
{
	if (h == "0000000000000000")
		return "-"
	s = hex(substr(h, 1, 8)) - 2208988800
	ns = hex(substr(h, 9, 4)) * 1e9 / 65536 + \
	    hex(substr(h, 13, 4)) * 1e9 / 4294967296
	ns = int(ns + 0.5)
	if (ns >= 1e9) {
		s++
		ns -= 1e9
	}
	return sprintf("%d.%09d", s, ns)
}

function flush(	ip, off, p, n, b0, ts)
{
	if (head == "")
		return
	ip = substr(bytes, 1, 1)
	if (ip == "4")
		off = hex(substr(bytes, 2, 1)) * 4 * 2
	else
		off = 40 * 2
	# The UDP header, then the payload: two hex digits a byte.
	p = substr(bytes, off + 8 * 2 + 1)
	n = length(p) / 2
	if (proto == "udp" && n >= 48) {
		b0 = hex(substr(p, 1, 2))
		printf "%s %d %d %d %d %d", head, n, int(b0 / 64), \
		    int(b0 / 8) % 8, b0 % 8, hex(substr(p, 3, 2))
		for (ts = 24; ts <= 40; ts += 8)
			printf " %s", substr(p, ts * 2 + 1, 16)
		for (ts = 24; ts <= 40; ts += 8)
			printf " %s", unix(substr(p, ts * 2 + 1, 16))
		printf "\n"
	}
	head = ""
}

# A packet's line: TIME IP|IP6 SRC > DST: ...
$2 == "IP" || $2 == "IP6" {
	flush()
	dst = $5
	sub(/:$/, "", dst)
	head = $1 " " $3 " " dst
	proto = ($0 ~ /: UDP, length/) ? "udp" : "other"
	bytes = ""
	next
}

# Its bytes: "0x0010:  7f00 0001 ..."
$1 ~ /^0x[0-9a-f]+:$/ {
	for (i = 2; i <= NF; i++)
		bytes = bytes $i
	next
}

END {
	flush()
}
