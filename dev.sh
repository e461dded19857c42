#!/bin/sh
# dev.sh - one entry point for a fresh Debian 12 machine.
#   ./dev.sh run    install what is missing, build, run a 4-rank all_reduce_perf
#                   on the simulated accelerator over shared memory
#   ./dev.sh test   install what is missing, build, run the whole test suite,
#                   install into PREFIX and check the installation
#                   (make installcheck)
#   ./dev.sh build  install what is missing and build only
# Environment: BUILD_DIR (default _build), PREFIX (default BUILD_DIR/prefix:
# the test installs there, never into the system), CONFIGURE_FLAGS (extra
# flags), JOBS (default: number of cores).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
BUILD_DIR=${BUILD_DIR:-$top/_build}
JOBS=${JOBS:-$(nproc)}
PREFIX=${PREFIX:-$BUILD_DIR/prefix}
PACKAGES="build-essential pkg-config autoconf automake libtool libfabric-dev libfabric-bin libhwloc-dev hwloc \
libopenmpi-dev openmpi-bin libibverbs-dev libcmocka-dev iproute2 gnuplot-nox graphviz python3 \
python3-torch libtorch-dev pybind11-dev python3-setuptools cmake man-db clang libclang-rt-14-dev"

install_deps() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "== installing:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
}

build() {
  [ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
  mkdir -p "$BUILD_DIR"
  cd "$BUILD_DIR"
  if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] ||
     [ "$(sed -n 's/^prefix = //p' Makefile)" != "$PREFIX" ]; then
    "$top/configure" -q --enable-werror --prefix="$PREFIX" ${CONFIGURE_FLAGS:-}
  fi
  make -s -j"$JOBS"
}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cmd=${1:-run}
case "$cmd" in
  build) install_deps; build ;;
  run)
    install_deps; build
    echo "== mpirun -np 4 perf/all_reduce_perf -b 8 -e 128M -f 2 (simulated accelerator, shared memory)"
    mpirun --oversubscribe --bind-to none -np 4 ./perf/all_reduce_perf -b 8 -e 128M -f 2 ;;
  test)
    install_deps; build
    set +e
    make -j"$JOBS" check > check.out 2>&1
    rc=$?
    # the installation, checked from PREFIX alone (its lines count below)
    echo "== make install (prefix $PREFIX), make installcheck" >> check.out
    if ! make -s install > install.out 2>&1; then
      tail -n 40 install.out >> check.out
      echo "FAIL: make install" >> check.out
      rc=1
    elif ! make -s installcheck >> check.out 2>&1; then
      rc=1
    fi
    set -e
    grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' check.out || true
    if [ $rc -ne 0 ]; then
      echo "== failing test logs"
      for f in $(find . -name '*.trs' -exec grep -l -E ':test-result: (FAIL|ERROR)' {} +); do
        echo "---- ${f%.trs}.log"; tail -n 60 "${f%.trs}.log"
      done
      grep -q '^# ' check.out || tail -n 40 check.out
      grep -q -E '^(FAIL|ERROR): (make install|installcheck)' check.out && sed -n '/^== make install/,$p' check.out | tail -n 80
    fi
    pass=$(grep -cE '^(PASS|XFAIL):' check.out || true)
    fail=$(grep -cE '^(FAIL|XPASS|ERROR):' check.out || true)
    skip=$(grep -cE '^SKIP:' check.out || true)
    [ $rc -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
    echo "$pass passed, $fail failed, $skip skipped"
    exit $rc ;;
  *) echo "usage: $0 run|test|build" >&2; exit 2 ;;
esac
