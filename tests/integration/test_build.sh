#!/bin/bash
# Build contracts: libshoal exports only shoal_* symbols; `make install`
# installs the header, libraries and a pkg-config file a program can build
# and run against.
#
# Not run against build/asan: a program built the way `pkg-config shoal`
# says cannot run on an ASan libshoal.so ("ASan runtime does not come first
# in initial library list", exit 1), and `make install BUILD=build/asan`
# without SAN=1 would rebuild anything stale in build/asan without the
# sanitizers. What it checks is the build, not code paths ASan could watch.
# not-under-asan: checks the plain build and install (an ASan libshoal.so cannot run in a program linked without ASan)
. "$(dirname "$0")/lib.sh"

leaks=$(nm -D --defined-only "$BUILD/libshoal.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^shoal_' | tr '\n' ' ')
check "libshoal.so exports only shoal_*" "" "$leaks"
check_match "libshoal.so exports shoal_ring_owner" "shoal_ring_owner" "$(nm -D --defined-only "$BUILD/libshoal.so")"

make -s -C "$ROOT" BUILD="$BUILD" install PREFIX=/usr DESTDIR="$T_TMP/root" >"$T_TMP/install.log" 2>&1
check "make install exits 0" 0 $?
for f in usr/bin/shoald usr/bin/shoal usr/include/shoal.h usr/lib/libshoal.a usr/lib/libshoal.so.0 \
    usr/lib/libshoal.so usr/lib/pkgconfig/shoal.pc; do
    check "installed $f" yes "$([ -e "$T_TMP/root/$f" ] && echo yes || echo no)"
done
cat >"$T_TMP/prog.c" <<'C'
#include <shoal.h>
#include <stdio.h>
int main(void)
{
    shoal_ring *r;
    uint8_t id[SHOAL_ID_LEN] = {1}, key[SHOAL_ID_LEN];
    if (shoal_ring_new(&r) || shoal_ring_add(r, id, 1, "a") || shoal_ring_build(r))
        return 1;
    shoal_block_id("m", "k", "e", 4194304, 0, key);
    printf("%d\n", shoal_ring_owner(r, key));
    shoal_ring_free(r);
    return 0;
}
C
PKG_CONFIG_SYSROOT_DIR="$T_TMP/root" PKG_CONFIG_PATH="$T_TMP/root/usr/lib/pkgconfig" \
    pkg-config --cflags --libs shoal >"$T_TMP/pc" 2>&1
check "pkg-config shoal resolves" 0 $?
cc -o "$T_TMP/prog" "$T_TMP/prog.c" $(cat "$T_TMP/pc") >"$T_TMP/cc.log" 2>&1
check "a program builds against the installed libshoal" 0 $?
check "and runs" 0 "$(LD_LIBRARY_PATH="$T_TMP/root/usr/lib" "$T_TMP/prog" 2>&1)"
finish
