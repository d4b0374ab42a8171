# nts.awk: the words an NTS exchange's packets are labelled with, read
# from the captured bytes.
#
#	tcpdump -tt -nn -x --time-stamp-precision=nano -r X.pcap |
#	    awk -v ke=PORT -v ntp=PORT -f nts.awk
#
# For ladder.awk, a "say TIME LABEL..." line per packet that carries
# something: on the key establishment's TCP port ke, the TLS records in
# each segment; on the NTP port ntp, the NTS extension fields of each
# datagram.  Then, for the test, "rec TIME DIR NAME LENGTH" per TLS record
# (DIR c or s, the client's or the server's; LENGTH the record's, its
# five-byte header included, as the bytes on the wire add up) and "udp
# TIME DIR LEN UIDS COOKIES PLACEHOLDERS AUTHS NAK UID COOKIELEN AUTHLEN"
# per datagram (UID the unique identifier's bytes in hex, "-" if none;
# the lengths of the last cookie and authenticator fields, their
# four-byte headers included, 0 if none).
#
# TLS 1.3 encrypts all but its first messages: what a record carries is
# seen only while it is in the clear (ClientHello, ServerHello, the
# ChangeCipherSpec kept for middleboxes); every later record says
# "application data" outside whatever it holds.  Those are named by
# their order in their direction, and an alert by its size (19 bytes
# sealed: level, description, the inner type, the 16-byte tag): the
# server's first four, before the client's Finished, are its flight
# (EncryptedExtensions, Certificate, CertificateVerify, Finished, a
# record each); the client's first is its Finished, its second its
# NTS-KE request; the server's first after those its response.  A
# record may run over several segments: the bytes it still owes are
# skipped in the next one of that direction; a segment sent again is
# named so, and its bytes not read twice.  No tcpdump decoder is used
# (it knows neither NTS-KE on port 0 nor NTS).

function hex(s,	i, v)
{
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}

function byte(i)
{
	return hex(substr(B, 2 * i + 1, 2))
}

function u16(i)
{
	return byte(i) * 256 + byte(i + 1)
}

function u32(i)
{
	return u16(i) * 65536 + u16(i + 2)
}

# Whether sequence number a is at or after b, modulo 2^32.
function atafter(a, b)
{
	return ((a - b) % 4294967296 + 4294967296) % 4294967296 < 2147483648
}

# The port of tcpdump's ADDRESS.PORT.
function port(ep,	a, n)
{
	n = split(ep, a, ".")
	sub(/:$/, "", a[n])
	return a[n] + 0
}

BEGIN {
	split("EncryptedExtensions Certificate CertificateVerify Finished",
	    flight, " ")
}

# The name of a record: TYPE and LEN from its header, FIRST the first
# byte after it (a handshake message's type while it is in the clear).
function recname(d, type, len, first)
{
	if (type == 20)
		return "ChangeCipherSpec"
	if (type == 21)
		return "alert"
	if (type == 22) {
		if (first == 1)
			return "ClientHello"
		if (first == 2)
			return "ServerHello"
		return "handshake"
	}
	if (type != 23)
		return "record type " type
	if (len == 19)
		return "close_notify"
	sealed[d]++
	if (d == "c") {
		if (sealed[d] == 1)
			return "Finished"
		if (sealed[d] == 2)
			return "NTS-KE request"
		return "sealed record " sealed[d]
	}
	# The server's flight, before the client's Finished: one message a
	# record, in the order TLS 1.3 fixes when no client certificate is
	# asked for.
	if (!sealed["c"]) {
		if (sealed[d] <= 4)
			return flight[sealed[d]]
		return "sealed record " sealed[d]
	}
	if (++after == 1)
		return "NTS-KE response"
	return "sealed record " sealed[d]
}

# The packet read so far: its bytes in B.
function flush(	ihl, off, proto, plen, d, i, lab, type, len, n, t, fl,
    uid, ck, ph, au, nak, name)
{
	if (time == "" || B == "" || substr(B, 1, 1) != "4")
		return
	ihl = (byte(0) % 16) * 4
	proto = byte(9)
	plen = u16(2)
	if (proto == 6 && (sport == ke || dport == ke)) {
		d = sport == ke ? "s" : "c"
		off = ihl + int(byte(ihl + 12) / 16) * 4
		# A segment sent again (a loaded machine's loopback drops
		# too) carries no record that was not seen already.
		if (plen > off) {
			n = (u32(ihl + 4) + plen - off) % 4294967296
			if ((d in seqend) && atafter(seqend[d], n)) {
				print "say", time, "TCP: " (plen - off) \
				    " bytes sent again"
				return
			}
			seqend[d] = n
		}
		i = off
		lab = ""
		# Bytes of a record begun in an earlier segment.
		if (owe[d] > 0) {
			n = owe[d] < plen - i ? owe[d] : plen - i
			owe[d] -= n
			i += n
			lab = "(" n " more bytes of it)"
		}
		while (i + 5 <= plen) {
			type = byte(i)
			len = u16(i + 3)
			name = recname(d, type, len,
			    i + 5 < plen ? byte(i + 5) : -1)
			lab = lab (lab == "" ? "" : " + ") name " " (len + 5)
			print "rec", time, d, name, len + 5
			if (i + 5 + len > plen)
				owe[d] = i + 5 + len - plen
			i += 5 + len
		}
		if (lab != "")
			print "say", time, "TLS: " lab
		return
	}
	if (proto == 17 && (sport == ntp || dport == ntp)) {
		d = sport == ntp ? "s" : "c"
		i = ihl + 8 + 48
		uid = ck = ph = au = 0
		uidhex = "-"
		cklen = aulen = 0
		lab = ""
		while (i + 4 <= plen) {
			t = u16(i)
			fl = u16(i + 2)
			if (fl < 4)
				break
			if (t == 260) {
				uid++
				uidhex = substr(B, 2 * (i + 4) + 1,
				    2 * (fl - 4))
				name = "unique id"
			} else if (t == 516) {
				ck++
				cklen = fl
				name = "cookie"
			} else if (t == 772) {
				ph++
				name = "placeholder"
			} else if (t == 1028) {
				au++
				aulen = fl
				name = "authenticator"
			} else
				name = sprintf("field %04x", t)
			lab = lab " + " name " " fl
			i += fl
		}
		nak = byte(ihl + 8 + 12) == 78 && byte(ihl + 8 + 13) == 84 &&
		    byte(ihl + 8 + 14) == 83 && byte(ihl + 8 + 15) == 78
		print "udp", time, d, plen - ihl - 8, uid, ck, ph, au, \
		    nak + 0, uidhex, cklen, aulen
		print "say", time, "= header 48" lab \
		    (nak ? " (NTSN: a NAK)" : "")
	}
}

/^[0-9]/ {
	flush()
	time = $1
	B = ""
	sport = ($2 == "IP") ? port($3) : -1
	dport = ($2 == "IP") ? port($5) : -1
	next
}

/^\t0x/ {
	for (k = 2; k <= NF; k++)
		B = B $k
}

END {
	flush()
}
