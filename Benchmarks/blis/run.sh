#!/bin/sh
# OpenBLAS against BLIS, one thread, at the step's product shapes (see gemm_blis.c).
# Installs Debian's libblis-serial-dev when missing; stop other work first (it is a timing).
#   Benchmarks/blis/run.sh [rounds]        # default 3
set -e
cd "$(dirname "$0")"
INC=/usr/include/x86_64-linux-gnu
if [ ! -f "$INC/blis-serial/blis.h" ]; then
    SUDO=$(command -v sudo || true)
    $SUDO apt-get install -y libblis-serial-dev
fi
OUT=${TMPDIR:-/tmp}/rmoe-gemm-blis
# OpenBLAS first, so cblas_sgemm resolves to it; BLIS from its static archive (its bli_ API only).
cc -O2 -o "$OUT" gemm_blis.c -I"$INC/blis-serial" -I"$INC/openblas-pthread" -lopenblas \
    /usr/lib/x86_64-linux-gnu/blis-serial/libblis.a -lm -lpthread
# The kernel set rmoe itself uses on this CPU (BLASCore: Haswell on Zen without AVX-512).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q AuthenticAMD /proc/cpuinfo && ! grep -q avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
fi
exec "$OUT" "${1:-3}"
