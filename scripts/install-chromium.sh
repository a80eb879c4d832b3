#!/usr/bin/env bash
# Installs Debian's chromium for the UI tests (visualizer/), unless a
# Chromium is already on PATH.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "install-chromium: $("$b" --version 2>/dev/null || echo "$b") already installed"
    exit 0
  fi
done
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q chromium
chromium --version
