#!/bin/sh
# install.t: make install puts the programs, the manuals, the systemd units
# and the example config where PREFIX, DESTDIR and the like say; what it
# installed runs and serves; make uninstall takes it all back, except an
# example config that the admin has edited, which install never overwrites
# either.  Everything goes into this test's temporary directory.
. "$(dirname "$0")/../lib.sh"

lib_need make cmp

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMP_BUILD" ] && [ -x "$STAMP_BUILD/stampd" ] ||
    bail "STAMP_BUILD holds no stampd: '$STAMP_BUILD' (run through make check)"

BUILT_STAMPD=$STAMPD

# mk ARG...: make ARG... in the source tree on the programs make check
# built: -o all keeps it from building them again, and the outer make's
# jobserver is not this one's.
mk()
{
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS timeout "$(lib_scale 120)" \
	    make -s -C "$TOP" -o all O="$STAMP_BUILD" "$@" \
	    > "$LIB_TMP/make.log" 2>&1
}

# files ROOT: every file under ROOT, one relative path a line, sorted.
files()
{
	(cd "$1" && find . ! -type d) | sort
}

# want_files ROOT WHAT PATH...: the files under ROOT are exactly PATH...
want_files()
{
	local root="$1" what="$2"

	shift 2
	is "$(files "$root")" "$(printf '%s\n' "$@" | sort)" "$what"
}

# modes ROOT: "MODE PATH" of every file under ROOT.
modes()
{
	(cd "$1" && find . ! -type d -exec stat -c '%a %n' {} +) | sort -k 2
}

# ---- PREFIX=/usr/local, staged in DESTDIR ---------------------------------

R=$LIB_TMP/root
P=/usr/local
BC=share/bash-completion/completions
mk install DESTDIR="$R" PREFIX="$P"
ok $? "make install DESTDIR=... PREFIX=$P exits 0" ||
    diag_file "$LIB_TMP/make.log"
want_files "$R" "it installs the programs, manuals, units and config" \
    ".$P/bin/stamp" ".$P/bin/stampbench" ".$P/sbin/stampd" \
    ".$P/share/man/man1/stamp.1" ".$P/share/man/man1/stampbench.1" \
    ".$P/share/man/man8/stampd.8" \
    ".$P/share/bash-completion/completions/stampd" \
    ".$P/share/bash-completion/completions/stamp" \
    ".$P/share/bash-completion/completions/stampbench" \
    ".$P/lib/systemd/system/stampd.service" \
    ".$P/lib/systemd/system/stampd.socket" \
    ".$P/lib/systemd/system/stampd-metrics.socket" \
    ".$P/etc/default/stampd" ".$P/etc/stampd/stampd.conf"
modes "$R" | while read -r m f; do
	note "installed: $m $f"
done
bad=$(modes "$R" | awk '
	$2 ~ /\/s?bin\// { if ($1 != "755") print; next }
	$1 != "644" { print }')
is "$bad" "" "programs are mode 755, everything else 644"

same=0
for pair in "$STAMP_BUILD/stampd $P/sbin/stampd" \
    "$STAMP_BUILD/stamp $P/bin/stamp" \
    "$STAMP_BUILD/stampbench $P/bin/stampbench" \
    "$TOP/man/stampd.8 $P/share/man/man8/stampd.8" \
    "$TOP/man/stamp.1 $P/share/man/man1/stamp.1" \
    "$TOP/man/stampbench.1 $P/share/man/man1/stampbench.1" \
    "$TOP/contrib/completion/stampd $P/$BC/stampd" \
    "$TOP/contrib/stampd.default $P/etc/default/stampd"; do
	# $pair is two words on purpose.
	# shellcheck disable=SC2086
	set -- $pair
	if ! cmp -s "$1" "$R$2"; then
		diag "$R$2 differs from $1"
		same=1
	fi
done
ok $same "the installed files are the built programs and the sources"

unit=$R$P/lib/systemd/system/stampd.service
is "$(grep '^ExecStart=' "$unit")" "ExecStart=$P/sbin/stampd \$STAMPD_OPTS" \
    "stampd.service starts $P/sbin/stampd"
is "$(grep '^EnvironmentFile=' "$unit")" \
    "EnvironmentFile=-$P/etc/default/stampd" \
    "stampd.service reads $P/etc/default/stampd"
# Nothing else changed on the way.
is "$(sed -e "s|$P/sbin/|/usr/sbin/|" -e "s|$P/etc/|/etc/|" "$unit" |
    cmp - "$TOP/contrib/systemd/stampd.service" && echo same)" same \
    "stampd.service is contrib's but for those two paths"
cmp -s "$R$P/lib/systemd/system/stampd.socket" \
    "$TOP/contrib/systemd/stampd.socket"
ok $? "stampd.socket is contrib's"
# The file stampd reads is where make install of its build put it.
sc=$(sed -n 's/^SYSCONFDIR=//p' "$STAMP_BUILD/build.conf")
lib_timeout 10 "$R$P/sbin/stampd" --help 2>&1 |
    grep -qF "(default $sc/stampd/stampd.conf, if there)"
ok $? "the installed stampd reads $sc/stampd/stampd.conf, as built"

for p in sbin/stampd bin/stamp bin/stampbench; do
	v=$(lib_timeout 10 "$R$P/$p" --version 2>&1)
	like "$v" "^${p#*/} [0-9]+\\.[0-9]+\\.[0-9]+\$" \
	    "the installed $p --version says '$v'"
done

# What was installed serves, and what was installed reads it.
STAMPD=$R$P/sbin/stampd
stampd_start -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
ok $? "the installed stampd serves on 127.0.0.1" && {
	for t in tcp udp; do
		port=$(stampd_port $t 127.0.0.1 stamp)
		set -- -q -p "$port"
		[ $t = udp ] && set -- "$@" -u
		t0=$(date +%s)
		got=$(lib_timeout 10 "$R$P/bin/stamp" "$@" 127.0.0.1)
		t1=$(date +%s)
		note "installed stamp $* 127.0.0.1: $got"
		within "$got" "$t0" "$t1" \
		    "the installed stamp reads it over $t"
	done
	stampd_stop
	is $? 0 "the installed stampd exits 0 on TERM"
}
STAMPD=$BUILT_STAMPD

# An admin's config survives install and uninstall alike.
conf=$R$P/etc/default/stampd
echo 'STAMPD_OPTS="--verbose"' >> "$conf"
cp "$conf" "$LIB_TMP/conf.edited"
mk install DESTDIR="$R" PREFIX="$P"
ok $? "make install again exits 0" || diag_file "$LIB_TMP/make.log"
cmp -s "$conf" "$LIB_TMP/conf.edited"
ok $? "make install keeps an edited $P/etc/default/stampd"

mk uninstall DESTDIR="$R" PREFIX="$P"
ok $? "make uninstall exits 0" || diag_file "$LIB_TMP/make.log"
want_files "$R" "make uninstall removes all but the edited config" \
    ".$P/etc/default/stampd"

cp "$TOP/contrib/stampd.default" "$conf"
mk uninstall DESTDIR="$R" PREFIX="$P"
ok $? "make uninstall, the config as installed, exits 0" ||
    diag_file "$LIB_TMP/make.log"
want_files "$R" "make uninstall removes an unedited config too"

# ---- the Debian layout: /usr, /etc, /lib/systemd/system -------------------

R=$LIB_TMP/deb
set -- DESTDIR="$R" PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system
mk install "$@"
ok $? "make install, Debian's layout, exits 0" ||
    diag_file "$LIB_TMP/make.log"
want_files "$R" "PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system" \
    ./usr/bin/stamp ./usr/bin/stampbench ./usr/sbin/stampd \
    ./usr/share/man/man1/stamp.1 ./usr/share/man/man1/stampbench.1 \
    ./usr/share/man/man8/stampd.8 \
    ./usr/share/bash-completion/completions/stampd \
    ./usr/share/bash-completion/completions/stamp \
    ./usr/share/bash-completion/completions/stampbench \
    ./lib/systemd/system/stampd.service ./lib/systemd/system/stampd.socket \
    ./lib/systemd/system/stampd-metrics.socket \
    ./etc/default/stampd ./etc/stampd/stampd.conf
cmp -s "$R/lib/systemd/system/stampd.service" \
    "$TOP/contrib/systemd/stampd.service"
ok $? "there stampd.service is contrib's, byte for byte"
mk uninstall "$@"
ok $? "make uninstall, the same variables, exits 0" ||
    diag_file "$LIB_TMP/make.log"
want_files "$R" "and it removes every file"

done_testing
