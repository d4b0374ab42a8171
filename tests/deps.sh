#!/bin/sh
# tests/deps.sh: make sure the programs the tests talk to are here.
#
# The interoperability tests run programs nobody here wrote (netcat, rdate,
# nmap, xinetd), and the others everyday tools (ss, pgrep, python3, od),
# and none of them is ever skipped for want of one: as root
# this installs what is missing with apt-get, otherwise it names the
# packages to install and fails.  Quiet when all is present; run it twice
# and the second run does nothing.

# What the tests run, and the Debian package it comes in.  nc must be
# OpenBSD's: the tests use its -N, which the traditional netcat lacks.
# A header (a path under /usr/include) is a file the build needs:
# liburing's, without which stampd is built without its uring model, and
# GnuTLS's, without which it is built without NTS (and the tests would
# meet a model or a listener that refuses to run).  Those two are what
# debian/control's Build-Depends name beside debhelper (--build-packages
# prints them; tests/sh/deb.t compares), and --packages, the tests'
# peers, leaves them out.
# build-essential's list: dpkg-buildpackage checks that build-essential is
# installed, which dpkg-dev only recommends (and recommends are left out).
DEPS='
/usr/include/liburing.h	liburing-dev
/usr/include/gnutls/gnutls.h	libgnutls28-dev
certtool	gnutls-bin
openssl		openssl
nc		netcat-openbsd
rdate		rdate
nmap		nmap
xinetd		xinetd
mandoc		mandoc
prove		perl
clang		clang
ip		iproute2
ss		iproute2
valgrind	valgrind
timeout		coreutils
systemd-socket-activate	systemd
systemd-analyze	systemd
tcpserver	ucspi-tcp
haproxy		haproxy
chronyd		chrony
ntpdig		ntpsec-ntpdig
ntpdate		ntpsec-ntpdate
dpkg-buildpackage dpkg-dev
/usr/share/build-essential/list build-essential
dh		debhelper
flock		util-linux
strace		strace
promtool	prometheus
prometheus	prometheus
tcpdump		tcpdump
mscgen		mscgen
yaml.py		python3-yaml
kubernetes.py	python3-kubernetes
python3		python3
pgrep		procps
pkill		procps
ps		procps
make		make
od		coreutils
getconf		libc-bin
awk		mawk
diff		diffutils
cmp		diffutils
useradd		passwd
userdel		passwd
setpriv		util-linux
dpkg-deb	dpkg
readelf		binutils
lintian		lintian
autopkgtest	autopkgtest
mmdebstrap	mmdebstrap
podman		podman
runc		runc
systemd-nspawn	systemd-container
nsenter		util-linux
unshare		util-linux
'
# None of the tests' tools may be taken for granted: a minimal Debian 12
# (mmdebstrap --variant=apt) lacks procps, iproute2, python3, perl (and so
# prove) and make; the rest above are there already, and named so that a
# test that runs them says so here.  A test runs lib_need on what it uses
# (tests/lib.sh), and bails out naming a tool missing.

# rdate, xinetd and ip live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH

# present COMMAND: COMMAND is here, and is the one the tests expect.
present()
{
	# NAME.py: a module of Debian's python3 (container.t uses it).
	case $1 in
	/*)	[ -e "$1" ]
		return ;;
	*.py)	/usr/bin/python3 -c "import ${1%.py}" > /dev/null 2>&1
		return ;;
	esac
	command -v "$1" > /dev/null 2>&1 || return 1
	case $1 in
	nc)	nc -h 2>&1 | grep -q OpenBSD ;;
	esac
}

# missing: the packages of the commands not present, each once.
missing()
{
	printf '%s\n' "$DEPS" | while read -r cmd pkg; do
		[ -n "$cmd" ] || continue
		present "$cmd" || echo "$pkg"
	done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# enabled: the units systemd would start at boot and the SysV init scripts
# a runlevel starts (as NAME.service, the name systemctl gives them), one
# a line.  systemctl reads the unit files even where systemd is not PID 1.
enabled()
{
	{
		systemctl list-unit-files --state=enabled --no-legend \
		    --no-pager 2> /dev/null | awk '{ print $1 }'
		for f in /etc/rc[2345].d/S*; do
			[ -e "$f" ] || continue
			f=${f##*/S}
			echo "${f#[0-9][0-9]}.service"
		done
	} | sort -u
}

# --packages: the table's packages, one a line, and nothing installed;
# --build-packages: those of the files the build needs.
case ${1:-} in
--packages | --build-packages)
	printf '%s\n' "$DEPS" | awk -v b="$1" 'NF == 2 &&
	    ($1 ~ /^\/usr\/include\//) == (b == "--build-packages") {
		print $2 }' | sort -u
	exit 0
	;;
esac

need=$(missing)
[ -n "$need" ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null 2>&1; then
	echo "tests/deps.sh: the tests need these packages: $need" >&2
	echo "tests/deps.sh: as root: apt-get install $need" >&2
	exit 1
fi

echo "tests/deps.sh: installing $need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || exit 1
# Installed to be run by the tests, not to serve this machine: a
# policy-rc.d that says 101 keeps the packages' scripts from starting their
# services during the install (under systemd, or the init scripts of a
# machine or chroot without it), and every unit the install enabled is
# disabled afterwards (and stopped, where systemd runs), so that the
# machine boots as it did: no chrony, haproxy, prometheus, xinetd or
# podman socket of ours.  One policy-rc.d already there is the admin's:
# then it decides what starts.
POLICY=/usr/sbin/policy-rc.d
ours=
if [ ! -e $POLICY ]; then
	printf '#!/bin/sh\n# %s: no service starts during its install.\n%s\n' \
	    tests/deps.sh 'exit 101' > $POLICY && chmod 755 $POLICY && ours=1
fi
before=$(enabled)
# Recommends are left out: the tests run the commands above, not what
# their packages suggest beside them (prometheus's node exporter).
# $need is a list of words on purpose.
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need
st=$?
[ -z "$ours" ] || rm -f $POLICY
[ $st = 0 ] || exit 1
# What the install enabled, but the init system's own units: systemd may
# come in here (systemd-socket-activate) where it is not PID 1, and a
# machine that later boots it needs its units as its package left them.
new=$(enabled | grep -vxF -e "$before" -e "$(dpkg-query -L systemd \
    2> /dev/null | sed -n 's#^.*/systemd/system/\([^/]*\)$#\1#p')" |
    tr '\n' ' ' | sed 's/ $//')
if [ -n "$new" ]; then
	now=
	[ ! -d /run/systemd/system ] || now=--now
	echo "tests/deps.sh: disabling${now:+ and stopping} $new"
	# $new and $now are lists of words on purpose.
	# shellcheck disable=SC2086
	systemctl disable --quiet $now $new ||
	    echo "tests/deps.sh: could not disable $new" >&2
fi

# A traditional netcat installed by hand keeps the nc alternative.
if ! present nc && [ -x /bin/nc.openbsd ]; then
	update-alternatives --set nc /bin/nc.openbsd || exit 1
fi

need=$(missing)
if [ -n "$need" ]; then
	echo "tests/deps.sh: still missing after apt-get: $need" >&2
	exit 1
fi
