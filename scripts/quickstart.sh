#!/usr/bin/env bash
# Quick start: install, build, and run the main job — a quick DARTS search on
# Fashion-MNIST (Debian's dataset-fashion-mnist) into runs/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
out=runs/quickstart
if [[ -f "$out/config.json" ]]; then
  out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
fi
./build/tools/nas search --preset quick --out "$out"
echo
echo "Search done: $out/result.json. Train the found cell from scratch with:"
echo "  ./build/tools/nas train --preset quick --from-run $out"
