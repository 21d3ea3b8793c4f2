#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages brainmclip needs, only those missing.
# Usage: scripts/install-deps.sh [build|test|fuzz]   (default: build; test adds the Python
# reference implementations the test suite compares against, pandas for reading summary.csv
# headless Chromium for the report page and Slurm (munge, slurmctld, slurmd, slurm-client)
# for the one-node test cluster; fuzz adds those and clang, with its libFuzzer
# runtime, for the fuzz preset). Idempotent: when everything
# is installed it runs no apt command at all. Needs root (or sudo) only when installing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git openmpi-bin libopenmpi-dev
  libscalapack-openmpi-dev libhdf5-openmpi-dev hdf5-tools libyaml-dev libnifti2-dev
  libmatio-dev zlib1g-dev libcjson-dev libopenblas-dev libpng-dev libjpeg-dev libcairo2-dev
  libssl-dev libfontconfig-dev fonts-dejavu-core)
test_pkgs=(python3 python3-numpy python3-h5py python3-yaml python3-scipy python3-pil
  python3-torch python3-sklearn python3-skimage python3-nibabel python3-pandas chromium
  munge slurmctld slurmd slurm-client)  # the one-node cluster of slurm/local-cluster.sh

fuzz_pkgs=(clang libclang-rt-14-dev)  # Debian 12: clang 14; the runtime holds libFuzzer

want=("${build_pkgs[@]}")
case "${1:-build}" in
  test) want+=("${test_pkgs[@]}") ;;
  fuzz) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
