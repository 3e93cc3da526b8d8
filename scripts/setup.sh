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
  qemu-user-static binfmt-support      # aarch64 images: their packages' scriptlets run under QEMU user emulation
  qemu-system-arm qemu-efi-aarch64     # photon image run of aarch64 images: QEMU's virt board and its UEFI firmware (AAVMF)
)
# binfmt_misc hands foreign binaries to qemu-user-static; mounted before the install, which
# registers its interpreters there.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# photon build --arch aarch64 pins and fetches arm64 .debs through apt: it needs their lists.
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
# The benchmark reads Debian's package index (and the aarch64 build the arm64 one).
for a in amd64 arm64; do
  ls /var/lib/apt/lists/*_main_binary-${a}_Packages* >/dev/null 2>&1 || { apt-get update -qq; break; }
done

grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || update-binfmts --enable qemu-aarch64 || true

# Node 18 for the tests of what runs inside images (Debian 12 ships 18.20.4).
bash scripts/node18.sh >/dev/null

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
