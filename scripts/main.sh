#!/usr/bin/env bash
# The README's main command. Today's default job: build the sample packages in examples/ into a
# signed RPM repository with our tools, then prove it with Debian's own: rpm -K checks every
# signature, dnf installs from the repository into a fresh root, rpm --root reads our rpmdb;
# and our tdnf installs from it too.
# (Once the image builder lands, the default becomes: build the minimal image and boot it.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build

OUT=${OUT:-$PWD/out/demo}
KEYDIR=${PHOTON_KEYDIR:-$HOME/.local/share/photon/keys}
photon() { node bin/photon.js "$@"; }

# The signing key lives outside git; it is made on first use.
if [ ! -f "$KEYDIR/signing.asc" ]; then
  echo "==> creating a signing key in $KEYDIR"
  mkdir -p "$KEYDIR" && chmod 700 "$KEYDIR"
  gh=$(mktemp -d)
  GNUPGHOME=$gh gpg --batch -q --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'Photon OS demo packages <packages@photon.invalid>' ed25519 sign never
  GNUPGHOME=$gh gpg --batch -q --armor --export-secret-keys > "$KEYDIR/signing.asc.tmp"
  GNUPGHOME=$gh gpg --batch -q --armor --export > "$KEYDIR/signing.pub.asc"
  mv "$KEYDIR/signing.asc.tmp" "$KEYDIR/signing.asc"
  rm -rf "$gh"
fi

stage=$(mktemp -d "${OUT%/*}/.demo.XXXXXX" 2>/dev/null || { mkdir -p "${OUT%/*}"; mktemp -d "${OUT%/*}/.demo.XXXXXX"; })
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/repo/RPMS/noarch"

echo "==> packing and signing"
for dir in examples/*/; do
  name=$(basename "$dir")
  mapfile -t args < "$dir/pack.args"
  rpm_file="$stage/repo/RPMS/noarch/$name.rpm"
  photon rpm pack -C "$dir/root" -o "$rpm_file" "${args[@]}"
  photon rpm sign --key "$KEYDIR/signing.asc" "$rpm_file"
  final="$stage/repo/RPMS/noarch/$(photon rpm query -p "$rpm_file").rpm"
  mv "$rpm_file" "$final"
  echo "    $(basename "$final")"
done

echo "==> writing repository metadata"
photon createrepo --sign-key "$KEYDIR/signing.asc" "$stage/repo"
cp "$KEYDIR/signing.pub.asc" "$stage/repo/RPM-GPG-KEY-photon"

echo "==> checking with Debian's rpm: signatures"
keydb=$stage/keydb
rpm --dbpath "$keydb" --import "$stage/repo/RPM-GPG-KEY-photon"
rpm --dbpath "$keydb" -K "$stage"/repo/RPMS/noarch/*.rpm

echo "==> installing photon-hello with Debian's dnf into a fresh root"
root=$stage/root
# Debian's rpm keeps its database in ~/.rpmdb; Photon's is /var/lib/rpm. dnf's rpm reads
# ~/.rpmmacros, so a private HOME points it where Photon (and our tools) look.
mkdir -p "$stage/home" && echo '%_dbpath /var/lib/rpm' > "$stage/home/.rpmmacros"
HOME=$stage/home dnf -y -q --installroot "$root" --releasever 5.0 --setopt=reposdir=/nonexistent \
  --setopt=cachedir="$stage/dnf-cache" \
  --repofrompath=demo,"file://$stage/repo" --repo demo \
  --setopt=demo.gpgcheck=1 --setopt=demo.repo_gpgcheck=1 \
  --setopt=demo.gpgkey="file://$stage/repo/RPM-GPG-KEY-photon" \
  install photon-hello
echo "    rpm --root reads:  $(rpm --root "$root" --dbpath /var/lib/rpm -qa | sort | tr '\n' ' ')"
echo "    photon reads:      $(photon rpm query --root "$root" -a | sort | tr '\n' ' ')"
echo "    installed files:   $(rpm --root "$root" --dbpath /var/lib/rpm -ql photon-hello | tr '\n' ' ')"
echo "    greeting:          $(cat "$root/usr/share/photon-hello/greeting")"

echo "==> installing photon-hello with our tdnf (the bundle, as images run it) into another root"
troot=$stage/troot
mkdir -p "$troot/etc/tdnf" "$troot/etc/yum.repos.d"
printf '[main]\ngpgcheck=1\n' > "$troot/etc/tdnf/tdnf.conf"
printf '[demo]\nname=Photon demo\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://%s\n' \
  "$stage/repo" "$stage/repo/RPM-GPG-KEY-photon" > "$troot/etc/yum.repos.d/demo.repo"
node dist/tdnf.mjs --installroot "$troot" -y -q install photon-hello
node dist/tdnf.mjs --installroot "$troot" list installed | sed 's/^/    /'

rm -rf "$stage/root" "$stage/troot" "$stage/keydb" "$stage/dnf-cache" "$stage/home"
rm -rf "$OUT" && mv "$stage" "$OUT"
trap - EXIT
echo "==> done: signed repository in $OUT/repo (key: $OUT/repo/RPM-GPG-KEY-photon)"
