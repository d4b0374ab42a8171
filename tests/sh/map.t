#!/bin/sh
# map.t: HACKING.md, the map of the code, names every module under src/
# with its job, and names nothing that is gone; the README points at it.
# A module added without a line in the map fails here.
. "$(dirname "$0")/../lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
map=$top/HACKING.md
[ -f "$map" ] || bail "no HACKING.md"

for f in "$top"/src/*.c "$top"/src/*.h; do
	m=$(basename "$f")
	m=${m%.*}
	# A module is named as `NAME.c`, `NAME.h` or `NAME.[ch]`, first in
	# a row of the table.
	grep -q "^| \`$m\.\(c\|h\|\[ch\]\)\` |" "$map"
	ok $? "HACKING.md names src/$(basename "$f")'s module, $m"
done

# Every module the table names is there.
sed -n 's/^| `\([a-z_]*\)\.\(c\|h\|\[ch\]\)` |.*/\1/p' "$map" \
    > "$LIB_TMP/named"
while read -r m; do
	[ -e "$top/src/$m.c" ] || [ -e "$top/src/$m.h" ]
	ok $? "HACKING.md's $m is a module under src/"
done < "$LIB_TMP/named"

grep -q 'HACKING.md' "$top/README.md"
ok $? "the README points at HACKING.md"

done_testing
