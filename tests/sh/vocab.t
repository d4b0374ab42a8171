#!/bin/sh
# vocab.t: stampd, stamp and stampbench speak one vocabulary (HACKING.md,
# Vocabulary).  A letter that two of them take has the same long name in
# each, read from their own --help, but for an old spelling, which says
# so there; the old spellings of the clients still work; both clients ask
# 127.0.0.1 unless told; stamp --json prints JSON that python3 reads, for
# a time and for a failure; the bash completion offers stampd's options
# and models.  One stampd on loopback, ports from the kernel, stopped by
# its pid.
. "$(dirname "$0")/../lib.sh"

lib_need python3 bash

TOP=$(cd "$(dirname "$0")/../.." && pwd)

# letters PROG: "LETTER LONG ARG" for each letter PROG's --help names, an
# old spelling left out.  A letter alone on its line takes the long name
# of a long-only line that says it is "the same as" it.
letters()
{
	"$1" --help | awk '
		match($0, /^ +-/) && RLENGTH <= 7 {
			left = $0
			sub(/^ +/, "", left)
			i = index(left, "  ")
			text = i > 0 ? substr(left, i) : ""
			if (i > 0)
				left = substr(left, 1, i - 1)
			if (text ~ /old spelling/)
				next
			n = split(left, w, /[ ,]+/)
			short = ""; long = ""; arg = "-"
			for (k = 1; k <= n; k++)
				if (w[k] ~ /^--/)
					long = substr(w[k], 3)
				else if (w[k] ~ /^-/)
					short = w[k]
				else
					arg = w[k]
			if (short != "" && !(short in name)) {
				name[short] = long
				want[short] = arg
				order[++m] = short
			}
			if (short == "" &&
			    match(text, /the same as -[a-zA-Z0-9]/))
				same[substr(text, RSTART + 12, 2)] = long
		}
		END {
			for (k = 1; k <= m; k++) {
				s = order[k]
				if (name[s] == "" && s in same)
					name[s] = same[s]
				print s, name[s], want[s]
			}
		}'
}

letters "$STAMPD" > "$LIB_TMP/stampd.letters"
letters "$STAMP" > "$LIB_TMP/stamp.letters"
letters "$STAMPBENCH" > "$LIB_TMP/stampbench.letters"
for p in stampd stamp stampbench; do
	note "$p: $(tr '\n' ' ' < "$LIB_TMP/$p.letters")"
done
# Every letter that two programs share, with its long names.
bad=$(awk '
	{ prog = FILENAME; sub(/.*\//, "", prog); sub(/\.letters$/, "", prog) }
	$1 in long && long[$1] != $2 {
		printf "%s: %s says --%s, %s --%s\n", $1, who[$1], long[$1],
		    prog, $2
		next
	}
	{ long[$1] = $2; who[$1] = prog; shared[$1]++ }
	END {
		for (l in shared)
			if (shared[l] > 1)
				s = s " " l
		print s > "/dev/stderr"
	}
    ' "$LIB_TMP/stampd.letters" "$LIB_TMP/stamp.letters" \
    "$LIB_TMP/stampbench.letters" 2> "$LIB_TMP/shared")
is "$bad" "" "a letter two programs take has one long name in all"
note "letters taken by more than one program:$(cat "$LIB_TMP/shared")"

# has_letter PROG LETTER LONG ARG: PROG's --help lists it so.
has_letter()
{
	grep -qxF -e "$2 $3 $4" "$LIB_TMP/$1.letters"
	ok $? "$1: $2 is --$3 $4"
}
has_letter stamp -t timeout DURATION
has_letter stampbench -t timeout DURATION
has_letter stamp -T transport NAME
has_letter stampbench -T transport NAME
has_letter stampd -u user NAME
has_letter stampd -w workers N
has_letter stampbench -w workers N
has_letter stampbench -n count N
has_letter stamp -n count N
for p in "$STAMP" "$STAMPBENCH"; do
	"$p" --help | grep -Eq -e '^  -u, --udp +the old spelling of -T udp'
	ok $? "${p##*/} --help: -u is the old spelling of -T udp"
done

stampd_start -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 -l udp:127.0.0.1:0/ntp \
    --local-stratum 2
ok $? "stampd starts on loopback" || bail "no stampd"
tport=$(stampd_port tcp 127.0.0.1 stamp)
uport=$(stampd_port udp 127.0.0.1 stamp)
nport=$(stampd_port udp 127.0.0.1 ntp)
T=$(lib_scale 5)

# ask NAME WANT-REGEX CMD...: CMD exits 0 and its stdout matches.
ask()
{
	local name="$1" re="$2" out

	shift 2
	out=$(lib_timeout 20 "$@" 2> "$LIB_TMP/err")
	ok $? "$name: exit 0" || diag_file "$LIB_TMP/err"
	like "$out" "$re" "$name: the reply"
}

# The new spellings, and the default host: 127.0.0.1, no resolver asked.
ask "stamp -p PORT, no host" "from 127\.0\.0\.1:$tport \(stamp/tcp\)" \
    "$STAMP" -t "${T}s" -p "$tport"
ask "stamp -T udp -t 5000ms" "from 127\.0\.0\.1:$uport \(stamp/udp\)" \
    "$STAMP" -T udp -t "$((T * 1000))ms" -p "$uport"
ask "stampbench -T udp -t 2s -w 2, no host" \
    "transport=udp threads=2 .* ok=50 " \
    "$STAMPBENCH" -q -T udp -t "${T}s" -w 2 -c 2 -n 50 -p "$uport"
# The old ones: read as before.
ask "stamp -u -t SECONDS (old)" "from 127\.0\.0\.1:$uport \(stamp/udp\)" \
    "$STAMP" -u -t "$T" 127.0.0.1 "$uport"
ask "stampbench -u -t 2 -T MS (old)" "transport=udp threads=2 .* ok=50 " \
    "$STAMPBENCH" -q -u -t 2 -T "$((T * 1000))" -c 2 -n 50 127.0.0.1 "$uport"
like "$(cat "$LIB_TMP/err")" "-t 2 is the old spelling of -w 2" \
    "stampbench -t 2: said to be the old -w 2"
like "$(cat "$LIB_TMP/err")" "-T [0-9]+ is the old spelling of -t [0-9]+ms" \
    "stampbench -T MS: said to be the old -t MSms"
ask "stampbench --timeout MS -j 2 --requests 50 (old)" "threads=2 .* ok=50 " \
    "$STAMPBENCH" -q --timeout "$((T * 1000))" -j 2 -c 2 --requests 50 \
    -p "$tport"

# json CHECK CMD...: CMD's stdout, each line a JSON object, passes the
# python3 expression CHECK on each (o); the exit status in $rc.
json()
{
	local check="$1"

	shift
	lib_timeout 20 "$@" > "$LIB_TMP/json" 2> "$LIB_TMP/err"
	rc=$?
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no output"
for line in lines:
    o = json.loads(line)
    assert eval("(" + sys.argv[2] + ")"), line
' "$LIB_TMP/json" "$check" 2> "$LIB_TMP/py"
}
keys='set(o) >= {"host", "server", "protocol", "transport", "time",
    "offset", "delay", "stratum", "leap", "authenticated", "error"}'

json "$keys and o[\"error\"] is None and o[\"protocol\"] == \"stamp\" and
    o[\"transport\"] == \"tcp\" and o[\"server\"] == \"127.0.0.1:$tport\" and
    isinstance(o[\"time\"], int) and -2 < o[\"offset\"] <= 1" \
    "$STAMP" --json -t "${T}s" -p "$tport"
ok $? "stamp --json over TCP: one object, the time and offset" ||
    { diag_file "$LIB_TMP/json"; diag_file "$LIB_TMP/py"; }
json "$keys and o[\"transport\"] == \"udp\" and o[\"error\"] is None" \
    "$STAMP" --json -T udp -t "${T}s" -p "$uport"
ok $? "stamp --json -T udp: one object" ||
    { diag_file "$LIB_TMP/json"; diag_file "$LIB_TMP/py"; }
json "$keys and o[\"protocol\"] == \"ntp\" and o[\"stratum\"] == 2 and
    o[\"delay\"] >= 0 and o[\"authenticated\"] is False and
    o[\"error\"] is None" \
    "$STAMP" --json -P ntp --unsynced -t "${T}s" -p "$nport"
ok $? "stamp --json -P ntp: stratum, delay, not authenticated" ||
    { diag_file "$LIB_TMP/json"; diag_file "$LIB_TMP/py"; }
# A port of ours that nobody reads: the kernel refuses at once.
cport=$(lib_free_port tcp)
json "$keys and o[\"time\"] is None and o[\"status\"] == 1 and
    \"refused\" in o[\"error\"]" \
    "$STAMP" --json -t "${T}s" -p "$cport"
ok $? "stamp --json, refused: an object with the error" ||
    { diag_file "$LIB_TMP/json"; diag_file "$LIB_TMP/py"; }
is "$rc" 1 "  ... and exit 1"
like "$(cat "$LIB_TMP/err")" "^stamp: 127\.0\.0\.1:$cport: Connection refused" \
    "  ... and the line on stderr as ever"

# complete WORD...: what the completion offers for the last WORD, the
# program's --help read through COMP_WORDS[0].
complete_words()
{
	bash -c '. "$1/contrib/completion/$2"; shift 2
	    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	    _stampd_complete; printf "%s\n" "${COMPREPLY[@]}"' \
	    complete "$TOP" "${1##*/}" "$@" 2>&1
}
is "$(complete_words "$STAMPD" --mo)" "--model" \
    "completion: stampd --mo offers --model"
is "$(complete_words "$STAMPD" -m "" | sort | tr '\n' ' ')" \
    "$(lib_models | sort | tr '\n' ' ')" \
    "completion: stampd -m offers every model"
is "$(complete_words "$STAMP" -T "" | tr '\n' ' ')" "tcp udp " \
    "completion: stamp -T offers tcp and udp (its own file)"
is "$(complete_words "$STAMPBENCH" --js)" "--json" \
    "completion: stampbench --js offers --json (its own file)"

stampd_stop
ok $? "stampd stops, exit 0"
done_testing
