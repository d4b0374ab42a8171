#!/bin/sh
# image.t: make image builds contrib/docker/Dockerfile with podman, on a
# Debian base that mmdebstrap makes (kept in build/cache, made once); the
# image runs with podman run, its CMD as it is, as its USER; its own stamp
# and ours ask it over TCP and UDP, its HEALTHCHECK passes, and it stops
# with exit status 0 on podman stop.  Its programs are built as Debian
# builds the package (dpkg-buildflags, hardening=+all) and stripped, which
# readelf checks in the files podman cp takes out of the image: PIE, full
# RELRO (GNU_RELRO and BIND_NOW), the stack protector (__stack_chk_fail)
# and _FORTIFY_SOURCE (the __*_chk functions) among their dynamic
# symbols, no symbol table or debugging sections; and it carries the OCI
# labels (podman image inspect).
#
# The container gets no network but its own loopback (--network=none):
# podman's default bridge would add NAT rules to this machine's firewall,
# which turn on connection tracking for every loopback packet of every
# test.  Two things this machine needs (and others accept): runc, as the
# crun of Debian 12 refuses a machine whose cgroups are v1 and v2 at once
# ("cgroups in hybrid mode not supported"); and limits on open files and
# processes no higher than this machine's hard limits, since podman's
# defaults are higher and root here may not raise them (no
# CAP_SYS_RESOURCE).  Needs root: rootful podman.
. "$(dirname "$0")/../lib.sh"

lib_no_chroot "podman"
lib_need podman runc mmdebstrap make nsenter flock readelf

TOP=$(cd "$(dirname "$0")/../.." && pwd)
IMG=localhost/stampd-test:t$$
CT=stampd-test-$$

if [ "$(id -u)" != 0 ]; then
	ok 1 "image.t runs as root: it builds and runs an image with podman"
	done_testing
fi

image_cleanup()
{
	podman rm -f -t 0 "$CT" "$CT0" > /dev/null 2>&1
	podman rmi "$IMG" > /dev/null 2>&1
	lib_cleanup
}
trap image_cleanup EXIT

# ---- build -------------------------------------------------------------------

t0=$(date +%s)
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u O -u CC -u SAN \
    timeout "$(lib_scale 1200)" make -s -C "$TOP" image IMAGE="$IMG" \
    > "$LIB_TMP/build.log" 2>&1
ok $? "make image IMAGE=$IMG" || {
	tail -n 40 "$LIB_TMP/build.log" > "$LIB_TMP/build.tail"
	diag_file "$LIB_TMP/build.tail"
	done_testing
}
note "built in $(($(date +%s) - t0)) s: $(tail -n 1 "$LIB_TMP/build.log")"

cfg()
{
	podman image inspect --format "$1" "$IMG"
}
is "$(cfg '{{.Config.User}}')" 65534:65534 "the image runs as 65534:65534"
health=$(cfg '{{join .Config.Healthcheck.Test " "}}')
is "$health" "CMD /usr/bin/stamp -q -t 5 127.0.0.1" \
    "the image keeps its HEALTHCHECK: $health"
size=$(cfg '{{.Size}}')
note "image size: $size bytes ($((size / 1000000)) MB)"
[ "${size:-0}" -gt 0 ] && [ "$size" -lt 150000000 ]
ok $? "the image is under 150 MB (no compiler in it): $((size / 1000000)) MB"

# label NAME: the image's OCI label org.opencontainers.image.NAME.
label()
{
	cfg "{{index .Labels \"org.opencontainers.image.$1\"}}"
}
VERSION=$("$STAMPD" --version | sed -n 's/^stampd //p')
is "$(label title)" stampd "label title: stampd"
like "$(label description)" '^the time over TCP and UDP: ' \
    "label description: $(label description)"
is "$(label version)" "$VERSION" "label version: stampd --version's"
is "$(label licenses)" ISC "label licenses: ISC, debian/copyright's"
like "$(label source)" '^[a-z]+://' "label source: $(label source)"
HEAD=$(git -C "$TOP" rev-parse -q --verify HEAD 2> /dev/null) ||
    HEAD=unknown
like "$(label revision)" "^$HEAD(-dirty)?\$" \
    "label revision: $(label revision), the commit built"

# ---- hardening ---------------------------------------------------------------

# hardened FILE: readelf finds in FILE what dpkg-buildflags' hardening and
# a strip leave, or says what is missing.
hardened()
{
	local f="$1" why=

	readelf -hW "$f" | grep -q 'Type: *DYN ' || why="$why not-PIE"
	readelf -dW "$f" | grep -q '(FLAGS_1).* PIE' || why="$why no-DF_1_PIE"
	readelf -lW "$f" | grep -q GNU_RELRO || why="$why no-GNU_RELRO"
	readelf -dW "$f" | grep -Eq '\(FLAGS\).* BIND_NOW|\(FLAGS_1\).* NOW' ||
	    why="$why no-BIND_NOW"
	readelf --dyn-syms -W "$f" > "$LIB_TMP/dynsyms"
	grep -q ' __stack_chk_fail@' "$LIB_TMP/dynsyms" ||
	    why="$why no-__stack_chk_fail"
	grep -Eq ' __[a-z_]+_chk@' "$LIB_TMP/dynsyms" &&
	    grep ' __[a-z_]*_chk@' "$LIB_TMP/dynsyms" |
	    grep -vq ' __stack_chk_fail@' || why="$why no-fortified-function"
	! readelf -SW "$f" | grep -Eq ' \.(symtab|debug_[a-z]+) ' ||
	    why="$why not-stripped"
	echo "${why# }"
}
CT0=stampd-test-cp-$$
podman create --name "$CT0" "$IMG" > "$LIB_TMP/create.log" 2>&1
ok $? "podman create $IMG, to copy its programs out" ||
    diag_file "$LIB_TMP/create.log"
want="PIE, full RELRO, BIND_NOW, stack protector, fortified, stripped"
for f in /usr/sbin/stampd /usr/bin/stamp /usr/bin/stampbench; do
	b=$LIB_TMP/${f##*/}
	podman cp "$CT0:$f" "$b" > "$LIB_TMP/cp.log" 2>&1 || {
		ok 1 "podman cp $f"
		diag_file "$LIB_TMP/cp.log"
		continue
	}
	note "$f: $(stat -c %s "$b") bytes; $(readelf --dyn-syms -W "$b" |
	    sed -n 's/.* \(__[a-z_]*_chk\)@.*/\1/p' | sort -u | tr '\n' ' ')"
	is "$(hardened "$b")" "" "$f is $want"
done
podman rm -f "$CT0" > /dev/null 2>&1

# ---- run ---------------------------------------------------------------------

# --health-interval=disable: podman would time the checks with systemd
# timers; the test runs the check itself (podman healthcheck run).
podman --runtime runc run -d --name "$CT" --network=none \
    --health-interval=disable \
    --ulimit nofile="$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
    "$IMG" > "$LIB_TMP/run.log" 2>&1
ok $? "podman run $IMG, its CMD" || {
	diag_file "$LIB_TMP/run.log"
	done_testing
}

listening()
{
	[ "$(podman logs "$CT" 2>&1 | grep -c ' listening ')" -ge 2 ]
}
lib_wait 10 listening
ok $? "stampd in the container reports its two listeners" || {
	podman logs "$CT" > "$LIB_TMP/ct.log" 2>&1
	diag_file "$LIB_TMP/ct.log"
	done_testing
}
podman logs "$CT" 2>&1 | while read -r l; do
	note "  $l"
done

PID=$(podman inspect --format '{{.State.Pid}}' "$CT")
is "$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status")" 65534 \
    "stampd runs as uid 65534 (pid $PID here)"
is "$(nsenter -t "$PID" -n ip -o link | awk -F': ' '{ print $2 }' |
    tr '\n' ' ')" "lo " "the container has loopback alone"

# asks WHO CMD...: CMD (a stamp) asks 127.0.0.1 over TCP, then with -u.
asks()
{
	local who="$1" t o t0 t1 line

	shift
	for t in tcp udp; do
		o=
		[ $t = udp ] && o=-u
		t0=$(date +%s)
		# $o is empty or one word.
		# shellcheck disable=SC2086
		line=$(lib_timeout 20 "$@" $o -t 5 127.0.0.1 2>&1)
		t1=$(date +%s)
		note "$who, $t: $line"
		within "${line%% *}" "$t0" "$t1" "$who reads the time over $t"
	done
}
asks "the image's stamp (podman exec)" podman exec "$CT" /usr/bin/stamp
asks "our stamp in the container's network" nsenter -t "$PID" -n "$STAMP"

lib_timeout 30 podman --runtime runc healthcheck run "$CT" \
    > "$LIB_TMP/health.log" 2>&1
ok $? "podman healthcheck run: the HEALTHCHECK passes" ||
    diag_file "$LIB_TMP/health.log"
is "$(podman inspect --format '{{.State.Health.Status}}' "$CT")" healthy \
    "podman says the container is healthy"

# The image's stampd reads /etc/stampd/stampd.conf, the package's place.
lib_timeout 20 podman exec "$CT" /usr/sbin/stampd --help 2>&1 |
    grep -qF '(default /etc/stampd/stampd.conf, if there)'
ok $? "the image's stampd reads /etc/stampd/stampd.conf"

# The image has liburing: -m uring runs, or the runtime's seccomp profile
# refuses io_uring_setup and stampd says so, naming the way out.
uring=$(lib_timeout 20 podman exec "$CT" /usr/sbin/stampd -m uring --check \
    -l tcp:127.0.0.1:0 2>&1)
st=$?
note "stampd -m uring --check in the container: exit $st: $uring"
case $st:$uring in
0:* | 1:*"use -m event"*)
	case $uring in
	*liburing*) false ;;
	*) true ;;
	esac
	;;
*) false ;;
esac
ok $? "the image's stampd is built with io_uring: -m uring runs or says" \
    "what refuses it"

lib_timeout 30 podman stop -t 10 "$CT" > "$LIB_TMP/stop.log" 2>&1
ok $? "podman stop" || diag_file "$LIB_TMP/stop.log"
is "$(podman inspect --format '{{.State.ExitCode}}' "$CT")" 0 \
    "stampd exits 0 on the stop signal"

done_testing
