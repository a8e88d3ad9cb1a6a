#!/usr/bin/env bash
# Installs the system packages the toolkit needs (OpenBLAS, LLVM's OpenMP runtime, zlib, Open MPI, curl
# for `rmoe corpus fetch`) when missing.
set -euo pipefail
missing=()
for p in libopenblas-dev libomp-dev zlib1g-dev libopenmpi-dev openmpi-bin curl; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "${missing[@]}"; }
fi
