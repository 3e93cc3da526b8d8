#!/usr/bin/env bash
# The README's main command, on its built-in default: build the whole package set from SPECS/
# into a signed repository (./stage), build the default minimal image from
# profiles/minimal.yaml with it, and boot that image under QEMU until its login prompt.
#   KS=profiles/ova.yaml FORMAT=ova bash scripts/main.sh   builds another profile/format
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build

KS=${KS:-profiles/minimal.yaml}
FORMAT=${FORMAT:-raw}
OUT=${OUT:-$PWD/out}
photon() { node bin/photon.js "$@"; }

echo "==> photon build: SPECS/ → signed RPMs + repodata in ./stage (signing key in ~/.local/share/photon/keys)"
photon build -q
echo "    $(ls stage/RPMS/*/*.rpm | wc -l) packages, $(du -sh stage | cut -f1) — serve it with: node bin/photon.js repo serve"

echo "==> photon image build $KS --format $FORMAT"
mkdir -p "$OUT"
name=$(basename "$KS" .yaml)
photon image build "$KS" --repo stage --format "$FORMAT" -o "$OUT/photon-$name.$FORMAT"

echo "==> photon image run: booting it under QEMU until the login prompt"
photon image run "$OUT/photon-$name.$FORMAT" --until 'login: ?$' --timeout 600 --serial-log "$OUT/photon-$name.serial.log" < /dev/null > /dev/null
echo "    booted to a login prompt; console log in $OUT/photon-$name.serial.log"
tail -n 3 "$OUT/photon-$name.serial.log" | tr -d '\r' | sed 's/^/    /'
