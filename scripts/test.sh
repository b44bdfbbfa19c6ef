#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the whole suite.
# Used verbatim by the README and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A real PostgreSQL server for the store tests (the tests start and stop their own cluster).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q postgresql >/dev/null
fi
export CORPUS_REQUIRE_POSTGRES=1

# A real browser for the review app's tests: Debian's chromium, driven by Playwright (whose own
# browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q chromium >/dev/null
fi
export CORPUS_REQUIRE_BROWSER=1

python -m pip install -q -e '.[dev,yolo,torchvision,ray,s3,web]'

# The FreeDict dictionaries the ontology rebuild test reads (lemmas from them are in the data).
if ! bash scripts/fetch_freedict.sh >/dev/null; then
  as_root apt-get update -q && bash scripts/fetch_freedict.sh >/dev/null
fi

python -m pytest "$@"
