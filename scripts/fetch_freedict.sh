#!/usr/bin/env bash
# Fetch the FreeDict dictionaries the ontology build reads (CC BY-SA 3.0, made by WikDict from
# Wiktionary) from Debian, without installing a dictd server: the .deb files are unpacked into
# a cache folder. Prints the folder to pass as --freedict / CORPUS_FREEDICT.
set -euo pipefail
DEST="${1:-${CORPUS_FREEDICT:-$HOME/.cache/mic-corpus/freedict}}"
PACKAGES="dict-freedict-eng-bul dict-freedict-eng-fin dict-freedict-fin-eng dict-freedict-pol-eng dict-freedict-ell-eng"
mkdir -p "$DEST"
if ls "$DEST"/freedict-*.index >/dev/null 2>&1 && [ "$(ls "$DEST"/freedict-*.index | wc -l)" -ge 5 ]; then
  echo "$DEST"; exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get download $PACKAGES >/dev/null 2>&1 ) || {
  echo "apt-get download failed (run apt-get update first?)" >&2; exit 1; }
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
cp "$tmp"/x/usr/share/dictd/freedict-* "$DEST"/
echo "$DEST"
