#!/usr/bin/env bash
# Fetches real photographs for test/decode/djpeg-agreement.test.ts: the five photos Debian's
# python3-skimage package ships (skimage/data/{astronaut,coffee,chelsea,motorcycle_left}.png and
# rocket.jpg). The package is fetched with `apt-get download` and unpacked with `dpkg -x` into the
# cache folder; nothing is installed. Idempotent: a complete folder is left as it is.
# Usage: scripts/fetch-test-photos.sh [folder]   (default $INQUEUE_TEST_PHOTOS, else
# ${TMPDIR:-/tmp}/inqueue-test-photos). Prints the folder on stdout.
set -euo pipefail

DIR=${1:-${INQUEUE_TEST_PHOTOS:-${TMPDIR:-/tmp}/inqueue-test-photos}}
PACKAGE=python3-skimage
PHOTOS=(astronaut.png coffee.png chelsea.png motorcycle_left.png rocket.jpg)

complete() {
  local f
  for f in "${PHOTOS[@]}"; do [ -s "$DIR/$f" ] || return 1; done
}

if ! complete; then
  for tool in apt-get dpkg; do
    command -v "$tool" >/dev/null || { echo "fetch-test-photos: $tool not found (Debian/Ubuntu only)" >&2; exit 1; }
  done
  mkdir -p "$DIR/deb"
  cd "$DIR/deb"
  # apt-get download writes into the current folder; as root it warns that it runs unsandboxed.
  ls "${PACKAGE}"_*.deb >/dev/null 2>&1 || apt-get download "$PACKAGE" >&2
  rm -rf unpacked
  dpkg -x "$(ls "${PACKAGE}"_*.deb | head -n 1)" unpacked
  for f in "${PHOTOS[@]}"; do
    src=$(find unpacked -path "*/skimage/data/$f" -print -quit)
    [ -n "$src" ] || { echo "fetch-test-photos: $f not found in $PACKAGE" >&2; exit 1; }
    cp "$src" "$DIR/$f.tmp" && mv "$DIR/$f.tmp" "$DIR/$f"
  done
  rm -rf unpacked
fi
echo "$DIR"
