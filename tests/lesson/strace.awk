# strace.awk: one program's socket calls, from strace(1), as lessoncap's
# "ev" lines (see tests/lesson/ladder.awk).
#
#	awk -v who=NAME -f strace.awk TRACE
#
# TRACE from strace -ttt -T [-f] -o: each line [PID] TIME CALL(...) =
# RESULT <SECONDS>.  Kept: the network calls, and read, write and close
# on a socket that socket() or accept made.  A call's return is its time
# plus its duration.  The label keeps the MSG_ flags but MSG_NOSIGNAL,
# and SHUT_WR.

function ret(t, d,	p, us)
{
	split(t, p, ".")
	us = p[2] + int(d * 1000000 + 0.5)
	return sprintf("%d.%06d", p[1] + int(us / 1000000), us % 1000000)
}

{
	if ($1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+\.[0-9]+$/)
		sub(/^[0-9]+ +/, "")
	t = $1
	line = $0
	sub(/^[^ ]+ +/, "", line)
	if (!match(line, /^[a-z0-9_]+\(/))
		next
	name = substr(line, 1, RLENGTH - 1)
	fd = substr(line, RLENGTH + 1)
	sub(/[^0-9].*/, "", fd)
	if (!match(line, /\) += -?[0-9]+( [A-Z]+)?/))
		next
	res = substr(line, RSTART, RLENGTH)
	sub(/^\) += /, "", res)
	n = split(res, rp, " ")
	tok = n > 1 ? rp[2] : rp[1]
	shown = n > 1 ? "-1 " rp[2] : rp[1]
	dur = 0
	if (match(line, /<[0-9.]+>$/))
		dur = substr(line, RSTART + 1, RLENGTH - 2)
	if (name == "socket") {
		if (rp[1] >= 0)
			sock[rp[1]] = 1
		next
	}
	if (name ~ /^(read|write|close)$/ && !(fd in sock))
		next
	if (name !~ /^(accept4?|connect|shutdown|read|write|close|send(to|msg|mmsg)?|recv(from|msg|mmsg)?)$/)
		next
	if (name ~ /^accept/ && rp[1] >= 0)
		sock[rp[1]] = 1
	if (name == "close")
		delete sock[fd]
	flags = ""
	rest = line
	while (match(rest, /(MSG_[A-Z]+|SHUT_[A-Z]+)/)) {
		f = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		if (f != "MSG_NOSIGNAL")
			flags = flags (flags == "" ? "" : "|") f
	}
	printf "ev %s %s %s %s=%s %s(%s) = %s\n", t, ret(t, dur), who, name, \
	    tok, name, flags, shown
}
