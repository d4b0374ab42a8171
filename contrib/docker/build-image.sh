#!/bin/sh
# contrib/docker/build-image.sh: build contrib/docker/Dockerfile with podman,
# on a Debian 12 base that mmdebstrap makes from Debian's packages, so that
# no container registry is ever asked (make image runs this).
#
#   sh contrib/docker/build-image.sh [IMAGE [CACHE]]
#
# IMAGE is the tag to build (stampd:VERSION, VERSION from src/proto.h);
# CACHE the directory that keeps the base (build/cache): mmdebstrap runs
# once, and later builds, CI's three make check among them, import the
# tarball it left.  The base is cut down as debian:12-slim is (no manuals,
# no documentation but the copyright files, no translations); the build
# stage still installs gcc and make with apt-get, so the build needs
# Debian's mirror (--network=host).  --isolation=chroot: the build's RUN
# steps need no runtime, cgroups or user namespaces, which a container or
# CI machine may lack; --format docker: an OCI image would drop the
# HEALTHCHECK.  The OCI labels get the version, the commit (with -dirty
# when the work tree differs from it; "unknown" outside a git checkout) and
# the origin remote's URL when there is one.  Runs of this script take
# turns through a lock.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^#define STAMP_VERSION[^"]*"\(.*\)".*/\1/p' \
    "$top/src/proto.h")
image=${1:-stampd:$version}
cache=${2:-$top/build/cache}
suite=bookworm
base=localhost/stampd-base:$suite
tar=$cache/base-$suite.tar

for t in podman mmdebstrap flock; do
	command -v $t > /dev/null 2>&1 || {
		echo "build-image.sh: $t not found (tests/deps.sh installs it)" >&2
		exit 1
	}
done

mkdir -p "$cache"
exec 8> "$cache/image.lock"
flock -w 1800 8

if [ ! -s "$tar" ]; then
	echo "build-image.sh: mmdebstrap $suite into $tar"
	# merged-usr by the hook, not by the usrmerge package and the perl it
	# pulls in.
	mmdebstrap --quiet --variant=minbase --format=tar \
	    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	    --dpkgopt='path-exclude=/usr/share/man/*' \
	    --dpkgopt='path-exclude=/usr/share/info/*' \
	    --dpkgopt='path-exclude=/usr/share/locale/*' \
	    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
	    --dpkgopt='path-exclude=/usr/share/doc/*' \
	    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	    --aptopt='APT::Install-Recommends "false"' \
	    "$suite" "$tar.new" > "$cache/mmdebstrap.log" 2>&1 || {
		cat "$cache/mmdebstrap.log" >&2
		exit 1
	}
	mv -f "$tar.new" "$tar"
fi
# The tarball is the cache; the engine's copy is made from it when missing
# or older.
made=$(podman image inspect --format '{{.Labels.made}}' "$base" \
    2> /dev/null || :)
stamp=$(stat -c %Y "$tar")
if [ "$made" != "$stamp" ]; then
	podman import --quiet --change "LABEL made=$stamp" "$tar" "$base" \
	    > /dev/null
fi

if revision=$(git -C "$top" rev-parse -q --verify HEAD 2> /dev/null); then
	[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] ||
	    revision=$revision-dirty
else
	revision=unknown
fi
# The origin's URL names the source; a clone of a local path has none to
# give (the Dockerfile's placeholder stays).
source=$(git -C "$top" remote get-url origin 2> /dev/null) || source=
case $source in
*://*)	;;
*)	source= ;;
esac

podman build --quiet --format docker --isolation=chroot --network=host \
    --build-arg BASE="$base" --build-arg VERSION="$version" \
    --build-arg REVISION="$revision" ${source:+--build-arg SOURCE="$source"} \
    -f "$top/contrib/docker/Dockerfile" \
    -t "$image" "$top" > /dev/null
echo "build-image.sh: built $image ($(podman image inspect \
    --format '{{.Size}}' "$image") bytes) on $base"
