#!/bin/sh
# installcheck.sh - what a user gets from `make install`, checked from the
# installation alone (run by `make installcheck`, hence by ./dev.sh test and
# make distcheck): nothing of the build or source tree is on a search path,
# and the programs run from a scratch directory. One line per check,
# automake style (PASS: / FAIL: / SKIP:); exit 1 when a check failed.
#
# Environment (set by installcheck-local): prefix bindir libdir includedir
# mandir topodir torchpydir have_torch SYSPYTHON CC CXX top_srcdir.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/accl-installcheck.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
here=$top_srcdir/tests/install
failed=0
pass() { echo "PASS: installcheck: $1"; }
fail() { echo "FAIL: installcheck: $1"; failed=1; }
skip() { echo "SKIP: installcheck: $1"; }
# check NAME FUNCTION: runs FUNCTION in a subshell inside a fresh scratch
# directory; its output is shown only when it fails.
n=0
check() {
  n=$((n + 1))
  mkdir "$tmp/$n"
  if (cd "$tmp/$n" && "$2") > "$tmp/$n.log" 2>&1; then pass "$1"; else cat "$tmp/$n.log"; fail "$1"; fi
}
unset LD_LIBRARY_PATH PYTHONPATH CMAKE_PREFIX_PATH PKG_CONFIG_PATH MANPATH ACCL_TOPO_FILE ACCL_CONF_FILE

# A C program with pkg-config alone; it runs on the installed library.
c_prog() {
  PKG_CONFIG_PATH="$libdir/pkgconfig"
  export PKG_CONFIG_PATH
  flags=$(pkg-config --cflags --libs acc-ccl) || return 1
  echo "pkg-config --cflags --libs acc-ccl: $flags"
  # shellcheck disable=SC2086
  ${CC:-cc} -o prog "$here/prog.c" $flags -Wl,-rpath,"$libdir" || return 1
  ldd ./prog | grep -F "$libdir/libacc-ccl.so" || { echo "prog does not load $libdir/libacc-ccl.so"; return 1; }
  ./prog
}
check "C program built with pkg-config --cflags --libs acc-ccl" c_prog

# A C++ program with CMake: find_package(acc-ccl 0.1) and acc-ccl::acc-ccl.
cxx_prog() {
  mkdir src build && cp "$here/cmake/CMakeLists.txt" "$here/cmake/prog.cpp" src/ || return 1
  cd build && cmake -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="${CXX:-c++}" ../src &&
    cmake --build . --verbose && ./prog_cxx
}
if command -v cmake >/dev/null 2>&1; then
  check "C++ program built with CMake find_package(acc-ccl), target acc-ccl::acc-ccl" cxx_prog
else
  skip "C++ program built with CMake: cmake is not installed (Debian package cmake)"
fi

# The PyTorch package, with only the installed Python directory on PYTHONPATH:
# its extension's RUNPATH is the installed libdir, and a 2-rank all_reduce.
torch_pkg() {
  ext="$torchpydir/acc_ccl_torch/_C.so"
  runpath=$(readelf -d "$ext" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  echo "RUNPATH of $ext: $runpath"
  case ":$runpath:" in *":$libdir:"*) ;; *) echo "no $libdir in it"; return 1 ;; esac
  PYTHONPATH=$torchpydir PYTHONDONTWRITEBYTECODE=1 ACCL_INST_PYDIR=$torchpydir ACCL_INST_LIBDIR=$libdir
  export PYTHONPATH PYTHONDONTWRITEBYTECODE ACCL_INST_PYDIR ACCL_INST_LIBDIR
  "$SYSPYTHON" -c 'import acc_ccl_torch, sys; print("imported", acc_ccl_torch.__file__)' || return 1
  "$SYSPYTHON" "$top_srcdir/tests/torch/launch.py" -n 2 --timeout 120 "$here/torch_allreduce.py"
}
if [ "${have_torch:-no}" = yes ]; then
  check "import acc_ccl_torch from $torchpydir and a 2-rank all_reduce" torch_pkg
else
  skip "PyTorch package: configure did not build the torch binding (see its message)"
fi

# acc-ccl-topo --topo NAME loads the installed topology of that name.
topo_name() {
  "$bindir/acc-ccl-topo" --topo trn1-like --nodes 2 > by-name.txt || return 1
  "$bindir/acc-ccl-topo" --topo "$topodir/trn1-like.xml" --nodes 2 > by-path.txt || return 1
  cat by-name.txt
  cmp by-name.txt by-path.txt && grep -q '^ring 1:' by-name.txt
}
check "acc-ccl-topo --topo trn1-like (installed topology)" topo_name

# The manual pages, found by man in the installed mandir.
man_pages() {
  for page in acc-ccl-topo acc-ccl-perf all_reduce_perf mpi_ref; do
    LC_ALL=C MANWIDTH=80 man -M "$mandir" -P cat "$page" > "$page.txt" 2>&1 || { cat "$page.txt"; return 1; }
    head -n 3 "$page.txt"
  done
  grep -q -- '--topo' acc-ccl-topo.txt && grep -q "$topodir" acc-ccl-topo.txt &&
    grep -q 'busbw' all_reduce_perf.txt && grep -q 'mpi_ref --coll' mpi_ref.txt
}
if command -v man >/dev/null 2>&1; then
  check "man acc-ccl-topo, man acc-ccl-perf (and each benchmark's name)" man_pages
else
  skip "manual pages: man is not installed (Debian package man-db)"
fi

exit $failed
