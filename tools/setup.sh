#!/bin/sh
# Installs every Debian package clforge's build, tests and examples need
# (Debian 12, as root; chromium renders report.html in a test). --bench adds
# the peers the benchmarks compare against. Safe to run again.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
  libconfig-dev zlib1g-dev check libopenblas-dev liblapacke-dev libdnnl-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev clinfo
  libjpeg-dev libjpeg-turbo-progs libopenmpi-dev openmpi-bin dataset-fashion-mnist python3
  chromium fonts-dejavu-core"
if [ "${1:-}" = "--bench" ]; then PKGS="$PKGS python3-torch python3-optuna time"; fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
