#!/usr/bin/env bash
# Makes the LibTorch of the CUDA build available and prints its folder: PyPI's
# `torch` wheel (LibTorch 2.x with CUDA, its CUDA libraries as nvidia-* wheels
# beside it) in a virtual environment under the cache directory, outside the
# repository. Idempotent: a finished environment is reused as it is.
#
#   NAS_CACHE_DIR      where the environment goes (default ~/.cache/naskit)
#   NAS_TORCH_VERSION  the pinned wheel (default below; the version checked)
set -euo pipefail

version=${NAS_TORCH_VERSION:-2.15.0}
cache=${NAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/naskit}
venv="$cache/torch-$version"

fail() {
  echo "error: $*" >&2
  exit 1
}

if [[ ! -f "$venv/.complete" ]]; then
  python=$(command -v python3) || fail "the CUDA build needs python3 (with venv and pip) for PyPI's torch wheel; none found on PATH"
  "$python" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null ||
    fail "PyPI's torch $version needs Python >= 3.10; found $("$python" --version 2>&1)"
  mkdir -p "$cache"
  rm -rf "$venv"
  echo "naskit cuda: installing torch==$version from PyPI into $venv (5.3 GB on disk; about a minute on a fast link)" >&2
  "$python" -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "torch==$version" >&2 ||
    fail "pip could not install torch==$version (is PyPI reachable?)"
  touch "$venv/.complete"
fi

torch_dir=$("$venv/bin/python" - <<'EOF'
import importlib.util, os
spec = importlib.util.find_spec("torch")  # no import: that needs numpy and a GPU-less warning
print(os.path.dirname(spec.origin))
EOF
)
[[ -f "$torch_dir/share/cmake/Torch/TorchConfig.cmake" ]] ||
  fail "$torch_dir has no share/cmake/Torch: not a LibTorch (remove $venv and try again)"
echo "$torch_dir"
