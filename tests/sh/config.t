#!/bin/sh
#
# config.t: stampd's configuration files.
#
# A main file (--config) and the conf.d/*.conf beside it, read in the
# order of their names: --check passes a good pair and, with -v, prints
# what it makes; the command line wins (-l replaces the files' listeners);
# a bad line exits 2 naming FILE:LINE, whatever is wrong with it; a
# running stampd serves the listeners of its file, and SIGUSR2 reads the
# file again.  Under systemd's journal (JOURNAL_STREAM naming stderr) a
# usage error is one line at priority 3.  A root stampd whose user cannot
# run its binary says at start that upgrades would be refused.  Only
# loopback is bound, on ports the kernel picks; each daemon is stopped by
# its pid.

. "$(dirname "$0")/../lib.sh"

tmp=$LIB_TMP
conf=$tmp/stampd.conf
mkdir "$tmp/conf.d" || bail "mkdir conf.d"

# run ARGS...: stampd's exit status in $rc, its output in $tmp/out, err.
run() {
	lib_timeout 10 "$STAMPD" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# has FILE TEXT NAME: a line of FILE is TEXT, whole.
has() {
	grep -F -x -q -e "$2" "$1"
	ok $? "$3" || diag "no line '$2' in:" "$(cat "$1")"
}

# hasnt FILE TEXT NAME: no line of FILE is TEXT.
hasnt() {
	! grep -F -x -q -e "$2" "$1"
	ok $? "$3" || diag "a line '$2' in:" "$(cat "$1")"
}

cat > "$conf" <<EOF
# The main file.
listen tcp:127.0.0.1:0	# any port

workers 2
   nts-only
proxy-from 10.0.0.0/8
EOF
printf 'workers 3\nlinger 500 # a comment\n' > "$tmp/conf.d/10-mine.conf"
printf 'workers 4\n' > "$tmp/conf.d/20-later.conf"
# Neither hidden nor without .conf is read.
printf 'workers 9\n' > "$tmp/conf.d/.hidden.conf"
printf 'bogus\n' > "$tmp/conf.d/README"

run --config "$conf" --check
is "$rc" 0 "a good file with drop-ins: --check exits 0"
is "$(cat "$tmp/out")" "" "  ... and prints nothing without -v"

run --config "$conf" --check -v
is "$rc" 0 "--check -v exits 0"
has "$tmp/out" "# read $conf" "  ... names the main file"
has "$tmp/out" "# read $tmp/conf.d/10-mine.conf" "  ... and the drop-in"
has "$tmp/out" "listen tcp:127.0.0.1:0" "  ... the file's listener"
has "$tmp/out" "workers 4" "  ... the last drop-in wins (workers 4)"
has "$tmp/out" "linger 500" "  ... a value from the first drop-in"
has "$tmp/out" "nts-only" "  ... a flag alone on its line"
has "$tmp/out" "proxy-from 10.0.0.0/8" "  ... a repeatable option"
has "$tmp/out" "# tls-cert" "  ... an option not set, commented out"
has "$tmp/out" "udp-rate 50" "  ... a default, with its value"
hasnt "$tmp/out" "workers 9" "  ... a hidden drop-in is not read"
# What it prints reads back as a file, to the same.
cp "$tmp/out" "$tmp/printed.conf"
run --config "$tmp/printed.conf" --check -v
is "$rc" 0 "what --check -v printed is itself a good file"

run --config "$conf" --check -v -w 7 -l udp:127.0.0.1:0
is "$rc" 0 "the command line beside the file: exit 0"
has "$tmp/out" "workers 7" "  ... -w wins over the files"
has "$tmp/out" "listen udp:127.0.0.1:0" "  ... -l is the listener"
hasnt "$tmp/out" "listen tcp:127.0.0.1:0" "  ... and replaces the file's"

# bad TEXT WHY: a main file of TEXT, whose line 3 is wrong, exits 2 and
# names $tmp/bad.conf:3 on stderr, on one line.
bad() {
	printf '# a comment\n\n%s\n' "$1" > "$tmp/bad.conf"
	run --config "$tmp/bad.conf" --check
	is "$rc" 2 "'$1' ($2): exit 2"
	like "$(cat "$tmp/err")" "^stampd: $tmp/bad\\.conf:3: " \
	    "  ... names FILE:LINE, on one line"
}
bad "no-such-option 1" "an unknown option"
bad "work 2" "an abbreviation"
bad "--workers 2" "the dashes"
bad "workers" "a missing value"
bad "workers 0" "a value out of range"
bad "workers two" "not a number"
bad "workers 2 3" "two values"
bad "nts-only yes" "a value to a flag"
bad "listen tcp:nowhere" "a bad listener"
bad "check" "an option only for the command line"
bad "config /dev/null" "another file from a file"

printf 'workers 0\n' > "$tmp/conf.d/30-bad.conf"
run --config "$conf" --check
is "$rc" 2 "a bad drop-in: exit 2"
like "$(cat "$tmp/err")" "^stampd: $tmp/conf\\.d/30-bad\\.conf:1: --workers 0" \
    "  ... names the drop-in's FILE:LINE"
rm "$tmp/conf.d/30-bad.conf"
run --config "$conf" --check -w 5
is "$rc" 0 "an overridden line is read too: a good one passes"
printf 'workers 0\n' > "$tmp/conf.d/30-bad.conf"
run --config "$conf" --check -w 5
is "$rc" 2 "  ... and a bad one, overridden, is still refused"
rm "$tmp/conf.d/30-bad.conf"

run --config "$tmp/no-such.conf" --check
is "$rc" 2 "--config naming no file: exit 2"
like "$(cat "$tmp/err")" "no-such\\.conf: No such file" "  ... names it"

# journald: a usage error is one line, priority 3, a hint to --help.
: > "$tmp/journal"
lib_timeout 10 env JOURNAL_STREAM="$(stat -c '%d:%i' "$tmp/journal")" \
    "$STAMPD" --no-such-option 2>> "$tmp/journal"
is "$?" 2 "journal: a usage error exits 2"
is "$(wc -l < "$tmp/journal" | tr -d ' ')" 1 "  ... in one line"
like "$(cat "$tmp/journal")" \
    '^<3>unknown option --no-such-option; try stampd --help$' \
    "  ... at <3>, with the hint"
printf 'workers 0\n' > "$tmp/bad.conf"
: > "$tmp/journal"
lib_timeout 10 env JOURNAL_STREAM="$(stat -c '%d:%i' "$tmp/journal")" \
    "$STAMPD" --config "$tmp/bad.conf" --check 2>> "$tmp/journal"
is "$?" 2 "journal: a file's bad line exits 2"
like "$(cat "$tmp/journal")" "^<3>$tmp/bad\\.conf:1: --workers 0" \
    "  ... at <3>, naming FILE:LINE"

# A running stampd: the file's listener, then SIGUSR2 with a second one
# added by a drop-in.  As root it runs as root here (-u root): the
# upgrade's check reads the file as the user it runs as.
user=
[ "$(id -u)" = 0 ] && user="-u root"
printf 'listen tcp:127.0.0.1:0\nmodel event\nworkers 1\n' > "$conf"
rm -f "$tmp/conf.d"/*.conf
log=$tmp/run.log
# shellcheck disable=SC2086
lib_spawn "$log" "$STAMPD" --config "$conf" $user
spid=$LIB_PID
lib_wait 5 grep -q ' listening tcp ' "$log"
ok $? "serving the file's listener" || diag_file "$log"
port=$(stampd_port tcp 127.0.0.1 stamp "$log")
lib_ask "the file's listener" "$port"
dpid=$(lib_children "$spid" once | awk '{ print $1 }')
printf 'listen udp:127.0.0.1:0\n' > "$tmp/conf.d/10-more.conf"
kill -USR2 "$dpid"
lib_wait 10 grep -q 'upgraded: ' "$log"
ok $? "SIGUSR2: upgraded" || diag_file "$log"
lib_wait 5 grep -q ' listening udp ' "$log"
ok $? "  ... serves the drop-in's new listener" || diag_file "$log"
lib_ask "  ... the first listener still" "$port"
# A bad line: the upgrade is refused, and the old image serves on.
printf 'workers 0\n' > "$tmp/conf.d/20-bad.conf"
n=$(grep -c 'upgraded: ' "$log")
kill -USR2 "$dpid"
lib_wait 10 grep -q 'upgrade: .* --check: .*still serving' "$log"
ok $? "SIGUSR2 with a bad drop-in: the check refuses it" || diag_file "$log"
is "$(grep -c 'upgraded: ' "$log")" "$n" "  ... no upgrade"
lib_ask "  ... and the old image serves on" "$port"
# The listeners moved in the file: each keeps its socket, found by its
# address and not by its place in the list, and serves what the file says.
uport=$(stampd_port udp 127.0.0.1 stamp "$log")
rm -f "$tmp/conf.d"/*.conf
printf 'listen udp:127.0.0.1:%s\nlisten tcp:127.0.0.1:%s/daytime\n' \
    "$uport" "$port" > "$conf"
printf 'model event\nworkers 1\n' >> "$conf"
n=$(grep -c 'upgraded: ' "$log")
kill -USR2 "$dpid"
lib_wait 10 sh -c '[ "$(grep -c "upgraded: " "$1")" -gt "$2" ]' sh \
    "$log" "$n"
ok $? "SIGUSR2, the file's two listeners swapped: upgraded" ||
    diag_file "$log"
lib_ask "  ... the TCP socket serves daytime now" "$port" -P daytime
lib_ask "  ... the UDP socket is served still" "$uport" -u
lib_stop "$spid"
is $? 0 "SIGTERM: exit 0"
rm -f "$tmp/conf.d"/*.conf

# Root, running as nobody a binary nobody may not run (LIB_TMP is 0700):
# said at start, and it serves.
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	mkdir "$tmp/private" && cp "$STAMPD" "$tmp/private/stampd"
	lib_spawn "$tmp/private.log" "$tmp/private/stampd" \
	    -l tcp:127.0.0.1:0 --config /dev/null
	ppid=$LIB_PID
	lib_wait 5 grep -q ' listening tcp ' "$tmp/private.log"
	ok $? "a binary nobody cannot run: root's stampd serves as nobody" ||
	    diag_file "$tmp/private.log"
	like "$(grep -c 'SIGUSR2 upgrades will be refused' \
	    "$tmp/private.log")" '^1$' "  ... and says once, at start, that \
upgrades would be refused" || diag_file "$tmp/private.log"
	lib_stop "$ppid"
else
	skip "a binary nobody cannot run" "not root"
	skip "  ... upgrades would be refused" "not root"
fi

done_testing
