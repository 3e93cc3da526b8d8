#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (run as root):
# Debian's tools we use at build time or as test oracles, then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  rpm createrepo-c dnf libsolv-tools   # oracles: rpm -K/-qp, rpmbuild, createrepo_c, dnf, rpmmd2solv
  gnupg xz-utils zstd bzip2 lz4 cpio   # keys for signing tests; compressors; Debian's Packages.lz4
  python3 time                         # ../shared/bench/debian-to-rpmmd.py; /usr/bin/time for peers' peak RSS
  sqlite3                              # the rpmdb write-ahead-log tests replay a killed sqlite3 writer
  python3-rpm                          # rpm's own tag numbers, checked against our table
  busybox-static                       # a static /bin/sh for chrooted scriptlets in test roots (tdnf transactions)
  binutils kmod                        # readelf/ar as test oracles; depmod for the kernel packages' module maps
  gdisk openssl                        # sgdisk and openssl passwd: oracles for the image layout and password hashes
  qemu-system-x86 qemu-utils ovmf      # photon image run: QEMU (TCG here), qemu-img for qcow2 and as an oracle, UEFI firmware
  debootstrap                          # npm run bench:image: the Debian 12 image it compares against
  openssh-client                       # the image boot test logs in over the forwarded ssh port
  dosfstools mtools xorriso genisoimage fdisk libxml2-utils  # the ESP from a directory (mkfs.vfat + mcopy); NoCloud seed ISOs (isoinfo in tests)
)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The benchmark reads Debian's package index; make sure one is there.
ls /var/lib/apt/lists/*_main_binary-amd64_Packages* >/dev/null 2>&1 || apt-get update -qq

# Node 18 for the tests of what runs inside images (Debian 12 ships 18.20.4).
bash scripts/node18.sh >/dev/null

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
