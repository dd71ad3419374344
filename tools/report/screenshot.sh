#!/usr/bin/env bash
# Regenerate docs/statement.png: the Anonymous Bank statement of September 1999 (real data, see the README's data
# attribution) rendered by headless Chromium at 1280x2000. Needs chromium (Debian: apt-get install chromium
# fonts-wqy-microhei) and the data in $CCKPI_DATA_DIR/anonymous-bank-1999/ (default ../shared/data/; or DATA=dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${DATA:-${CCKPI_DATA_DIR:-../shared/data}/anonymous-bank-1999}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
.venv/bin/cckpi report -c contracts/examples/anonymous-bank.yaml --period 1999-09 \
  --source anonymous-bank "$data/09_September.txt" --out "$out/1999-09" --png docs/statement.png
