#!/bin/sh
# Install into a temporary root, build a program with nothing but
# `pkg-config --cflags --libs acc-ccl`, and run it under mpirun at np 2.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! make -C "$top_builddir" install DESTDIR="$tmp/root" > "$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"; echo "make install failed"; exit 1
fi
pc=$(find "$tmp/root" -name acc-ccl.pc | head -n 1)
[ -n "$pc" ] || { echo "acc-ccl.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags acc-ccl) && libs=$(pkg-config --libs acc-ccl) || { echo "pkg-config failed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")") # .../lib of the installed tree
echo "pkg-config: $cflags $libs"
# a sanitizer build of the library needs the program built with the same runtime
${MPICC:-mpicc} ${SAN_FLAGS:-} -o "$tmp/prog" "$top_srcdir/tests/comm/pkgconfig_prog.c" $cflags $libs || exit 1
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$top_srcdir/tests/run_mpi.sh" 2 "$tmp/prog"
