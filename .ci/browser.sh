#!/usr/bin/env bash
# Installs what the dashboard's browser test drives: Debian's Chromium (playwright-core launches
# /usr/bin/chromium; no browser is downloaded), and `script` (util-linux) for the CLI's terminal test.
set -u
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Debian's chromium for the dashboard's browser test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null || {
  echo "Could not install chromium: the browser test will say so and fail"
  exit 0
}
