# ladder.awk: socket calls and captured packets, in one order, as a ladder.
#
#	awk -v seq=FILE -v title=TEXT [-v left="NAME..."] [-v hscale=N] \
#	    -f ladder.awk EVENTS PACKETS > X.msc
#
# EVENTS: what tests/lesson/lessoncap prints, or tests/lesson/strace.awk
# makes of strace(1): "ent NAME ADDRESS PORT" (PORT "*": any other port
# of ADDRESS), "ev ENTRY RETURN NAME TOKEN LABEL...", "sep TIME - - -
# LABEL...", "note TIME FROM TO TOKEN LABEL..." (a note at TIME across
# the columns FROM to TO, such as a timestamp read from a packet; TIME+
# puts it after the packets of that very time, as the kernel's stamp of
# a packet's arrival may be the time tcpdump saw it), "say TIME
# LABEL..." (more words for the label of the segment or datagram tcpdump
# saw at TIME).  PACKETS: tcpdump -tt -nn --time-stamp-precision=nano -r.
# Writes an mscgen(1) chart on stdout, one column per NAME, a row per
# packet or call in the order of their times, each with its time since
# the first; and to FILE the same rows as words for the test to match:
#	client:connect=0	a call begins (ENTRY), its result after "="
#	client:connect=0/ret	and returns (RETURN)
#	client>server:SA:0	a TCP segment, flags as tcpdump's letters
#				("." is written A), then its payload length
#	sender>receiver:udp:3	a UDP datagram of 3 bytes
#	nobody>client:icmp:0	ICMP port unreachable for a UDP datagram
#	stampd:t2		a note (FROM, then TOKEN)
#	--			a new part begins
# A SYN that the same port sends again, no SYN-ACK between, is drawn as
# lost.  Packets between ports no "ent" names are not shown.  The columns
# come in the order they were named, those in left (the clients) first.

function add(t, kind, from, to, tok, label,	p)
{
	n++
	# Rows of equal times keep their order, but a TIME+ goes last.
	AFTER[n] = sub(/\+$/, "", t)
	# Seconds since the first time read: a double keeps the
	# nanoseconds of that, not of seconds since 1970.
	split(t, p, ".")
	if (base == "")
		base = p[1]
	T[n] = (p[1] - base) + ("0." p[2])
	TS[n] = t
	K[n] = kind
	F[n] = from
	D[n] = to
	W[n] = tok
	L[n] = label
}

function entity(name, key)
{
	if (!(name in col)) {
		col[name] = ++ncol
		cols[ncol] = name
	}
	if (key != "")
		ports[name] = ports[name] (ports[name] == "" ? "" : ", ") key
}

# The NAME of ADDRESS.PORT as tcpdump writes it, or "".
function who(ep,	a)
{
	if (ep in ent)
		return ent[ep]
	a = ep
	sub(/\.[0-9]+$/, "", a)
	if ((a ".*") in ent)
		return ent[a ".*"]
	return ""
}

function flagwords(f,	w)
{
	w = ""
	if (f ~ /S/) w = w " SYN"
	if (f ~ /F/) w = w " FIN"
	if (f ~ /R/) w = w " RST"
	if (f ~ /P/) w = w " PSH"
	if (f ~ /\./) w = w " ACK"
	return substr(w, 2)
}

function q(s)
{
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return s
}

$1 == "ent" {
	ent[$3 "." $4] = $2
	entity($2, ($3 ~ /:/ ? "[" $3 "]" : $3) ":" \
	    ($4 == "*" ? "(its own port)" : $4))
	next
}

$1 == "say" {
	label = $0
	sub(/^[^ ]+ [^ ]+ /, "", label)
	say[$2] = label
	next
}

$1 == "note" {
	label = $0
	for (i = 1; i <= 5; i++)
		sub(/^[^ ]+ /, "", label)
	entity($3, "")
	entity($4, "")
	add($2, "note", $3, $4, $3 ":" $5, label)
	next
}

$1 == "ev" || $1 == "sep" {
	label = $0
	for (i = 1; i <= 5; i++)
		sub(/^[^ ]+ /, "", label)
	if ($1 == "sep") {
		add($2, "sep", "", "", "--", label)
		next
	}
	entity($4, "")
	add($2, "call", $4, $4, $4 ":" $5, label)
	add($3, "ret", $4, $4, $4 ":" $5 "/ret", label)
	next
}

# tcpdump: TIME IP|IP6 SRC > DST: ...
$2 == "IP" || $2 == "IP6" {
	src = $3
	dst = $5
	sub(/:$/, "", dst)
	len = 0
	if (match($0, /length [0-9]+/))
		len = substr($0, RSTART + 7, RLENGTH - 7) + 0
	if (match($0, /Flags \[[^]]*\]/)) {
		f = substr($0, RSTART + 7, RLENGTH - 8)
		if ((s = who(src)) == "" || (d = who(dst)) == "")
			next
		tf = f
		gsub(/\./, "A", tf)
		add($1, "tcp", s, d, s ">" d ":" tf ":" len, \
		    "[" f "] " flagwords(f) (len > 0 ? "  len " len : "") \
		    ($1 in say ? "  " say[$1] : ""))
		last[src] = $1
		next
	}
	if ($0 ~ /: UDP, length/) {
		if ((s = who(src)) == "" || (d = who(dst)) == "")
			next
		add($1, "udp", s, d, s ">" d ":udp:" len, "UDP  len " len \
		    ($1 in say ? "  " say[$1] : ""))
		udpfrom[dst] = s
		next
	}
	# ICMP about a UDP datagram: back to whoever sent it.
	if ($0 ~ /ICMP/ && match($0, /udp port [0-9]+/)) {
		a = src
		p = substr($0, RSTART + 9, RLENGTH - 9)
		if ((s = who(a "." p)) == "" || !((a "." p) in udpfrom))
			next
		d = udpfrom[a "." p]
		add($1, "icmp", s, d, s ">" d ":icmp:0", \
		    "ICMP port " p " unreachable")
	}
	next
}

END {
	# Insertion sort by time; equal times keep their order.
	for (i = 1; i <= n; i++)
		ord[i] = i
	for (i = 2; i <= n; i++) {
		k = ord[i]
		for (j = i - 1; j >= 1 && (T[ord[j]] > T[k] || \
		    (T[ord[j]] == T[k] && AFTER[ord[j]] > AFTER[k])); j--)
			ord[j + 1] = ord[j]
		ord[j + 1] = k
	}
	t0 = T[ord[1]]
	printf "# %s\n# Made by tests/lesson/ladder.awk from a capture; " \
	    "times in ms since the first row.\n", title
	printf "msc {\n  hscale = \"%s\", arcgradient = \"4\", " \
	    "wordwraparcs = \"false\";\n\n", hscale != "" ? hscale : \
	    (ncol > 3 ? "1.2" : "1.6")
	nl = split(left, lc, " ")
	for (c = 1; c <= ncol; c++)
		rank[cols[c]] = nl + c
	for (c = 1; c <= nl; c++)
		if (lc[c] in rank)
			rank[lc[c]] = c
	# Few columns: a selection sort will do.
	for (c = 1; c <= ncol; c++)
		for (x = c + 1; x <= ncol; x++)
			if (rank[cols[x]] < rank[cols[c]]) {
				y = cols[c]
				cols[c] = cols[x]
				cols[x] = y
			}
	for (c = 1; c <= ncol; c++)
		printf "  %s [label=\"%s%s\"]%s\n", cols[c], cols[c], \
		    ports[cols[c]] == "" ? "" : "\\n" ports[cols[c]], \
		    c < ncol ? "," : ";"
	printf "\n"
	for (x = 1; x <= n; x++) {
		i = ord[x]
		if (seq != "")
			print W[i] > seq
		ms = sprintf("%.3f ms", (T[i] - t0) * 1000)
		if (K[i] == "sep") {
			printf "  --- [label=\"%s\"];\n", q(L[i])
			continue
		}
		if (K[i] == "note") {
			printf "  %s note %s [label=\"%s  %s\"];\n", F[i], D[i], \
			    ms, q(L[i])
			continue
		}
		if (K[i] == "call" || K[i] == "ret") {
			# One box if nothing came between the call and its
			# return, else one for each.
			between = 0
			for (y = x + 1; y <= n; y++) {
				j = ord[y]
				if (K[i] == "call" && K[j] == "ret" && \
				    F[j] == F[i] && W[j] == W[i] "/ret")
					break
				if (K[j] == "tcp" || K[j] == "udp" || \
				    K[j] == "icmp")
					between = 1
			}
			label = L[i]
			if (K[i] == "call" && between) {
				sub(/ = [^=]*$/, "", label)
			} else if (K[i] == "ret") {
				if (!retshown[i])
					continue
				r = L[i]
				sub(/.* = /, "", r)
				label = L[i]
				sub(/\(.*/, "", label)
				label = label "() returns " r
			}
			if (K[i] == "call" && between)
				for (y = x + 1; y <= n; y++) {
					j = ord[y]
					if (K[j] == "ret" && F[j] == F[i] && \
					    W[j] == W[i] "/ret") {
						retshown[j] = 1
						break
					}
				}
			printf "  %s rbox %s [label=\"%s  %s\"];\n", F[i], F[i], \
			    ms, q(label)
			continue
		}
		arc = "=>"
		if (K[i] == "udp")
			arc = "->"
		if (K[i] == "icmp")
			arc = ":>"
		label = L[i]
		# A SYN sent again by the same port, no SYN-ACK between:
		# the first one was lost.
		if (K[i] == "tcp" && W[i] ~ /:S:/) {
			for (y = x + 1; y <= n; y++) {
				j = ord[y]
				if (K[j] == "tcp" && F[j] == D[i] && \
				    D[j] == F[i] && W[j] ~ /:SA:/)
					break
				if (K[j] == "tcp" && W[j] == W[i]) {
					arc = "-x"
					label = label ", no answer"
					break
				}
			}
		}
		printf "  %s %s %s [label=\"%s  %s\"];\n", F[i], arc, D[i], \
		    ms, q(label)
	}
	printf "}\n"
}
