#!/usr/bin/env bash
# The README's two commands:  ./gtfm.sh demo   (set up, then run the main job gtfm_demo on the bundled data)
#                             ./gtfm.sh test   (set up, then run every test)
# Setup installs only what is missing: Debian tools (bedtools, augustus, prodigal, genometools, tabix), a virtual
# environment in .venv, torch (the pinned CPU wheel unless GTFM_TORCH says otherwise), and genome_tfm with its extras.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${GTFM_VENV:-.venv}
TORCH_SPEC=${GTFM_TORCH:-torch==2.13.0}
APT_PKGS="bedtools augustus augustus-data prodigal genometools tabix"

# pip prints a warning per missing local index folder on some machines: keep the log readable, keep pip's exit code.
pipq() { "$VENV/bin/pip" "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; return "${PIPESTATUS[0]}"; }
log() { printf '\033[1m[gtfm] %s\033[0m\n' "$*" >&2; }

apt_setup() {
  local missing=()
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ! "${PYTHON:-python3}" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n";
    else log "missing Debian packages: ${missing[*]} (install them with apt-get as root)"; return 0; fi
  fi
  log "installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }
}

py_setup() {
  local stamp="$VENV/.gtfm-installed"
  local want
  want=$(cat settings.ini setup.py | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  local PY=${PYTHON:-}
  if [ -z "$PY" ]; then for c in python3.11 python3.12 python3; do command -v $c >/dev/null && { PY=$c; break; }; done; fi
  [ -x "$VENV/bin/python" ] || { log "creating $VENV with $($PY --version)"; "$PY" -m venv "$VENV"; }
  log "installing $TORCH_SPEC"
  pipq install -q --disable-pip-version-check "$TORCH_SPEC"
  log "installing genome_tfm[dev] (data, gpu and dev extras)"
  pipq install -q --disable-pip-version-check -e ".[dev]"
  echo "$want" > "$stamp"
}

setup() { apt_setup; py_setup; }

case "${1:-}" in
  setup) setup ;;
  demo)  shift; setup; exec "$VENV/bin/gtfm_demo" "$@" ;;
  test)  shift; setup
         export PATH="$PWD/$VENV/bin:$PATH" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
         exec "$VENV/bin/python" -m pytest tests -n "${GTFM_TEST_WORKERS:-2}" --dist loadgroup -rfEs --durations=15 "$@" ;;
  *) echo "usage: $0 {demo|test|setup} [args]"; exit 2 ;;
esac
