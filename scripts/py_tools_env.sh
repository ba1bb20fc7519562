#!/usr/bin/env bash
# Makes the Python clients the tests check naskit's files with available and
# prints the environment's python: TensorBoard (its event-file reader) and,
# for export, onnx and onnxruntime, pinned, from PyPI, in a virtual
# environment under the cache directory, outside the repository. Idempotent:
# a finished environment is reused as it is.
#
#   NAS_CACHE_DIR   where the environment goes (default ~/.cache/naskit)
set -euo pipefail

pins=(tensorboard==2.21.0 onnx==1.23.2 onnxruntime==1.31.1)
cache=${NAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/naskit}
venv="$cache/pytools-$(echo "${pins[*]}" | cksum | cut -d' ' -f1)"

fail() {
  echo "error: $*" >&2
  exit 1
}

mkdir -p "$cache"
# Tests that run in parallel may ask at once: one installs, the others wait.
exec 9>"$cache/pytools.lock"
flock 9
if [[ ! -f "$venv/.complete" ]]; then
  # Debian's python3 first: a machine's own (pyenv, conda) may lack venv.
  python=/usr/bin/python3
  [[ -x "$python" ]] || python=$(command -v python3) ||
    fail "the export and TensorBoard tests need python3 (with venv and pip); none found"
  rm -rf "$venv"
  echo "naskit: installing ${pins[*]} from PyPI into $venv" >&2
  "$python" -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "${pins[@]}" >&2 ||
    fail "pip could not install ${pins[*]} (is PyPI reachable?)"
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
