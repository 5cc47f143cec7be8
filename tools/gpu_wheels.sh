#!/usr/bin/env bash
# Prepare, here where pip and the packaged genome work, what tools/gpu_suite.sh needs on a GPU machine that can download
# nothing, in two git-ignored folders that must travel with the working tree:
#   .whl/       wheels (Python 3.12, x86-64) of the packages the suite imports that the GPU image lacks: fastcore
#   .gpu_data/  the gene-structure training shards (tools/gpu_data.py; the GPU machine has no pyfaidx nor the genome)
# Then it checks that the wheels install with `pip install --no-index --no-deps --target` and that every module the
# suite imports loads from them in a fresh interpreter where the packages the GPU image lacks cannot be imported, and
# that all that travels (tracked and untracked files not ignored, .whl/, .gpu_data/) fits in 64 MiB.
#
#   tools/gpu_wheels.sh          # about a minute; then run tools/gpu_suite.sh there (README: Developing)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${GTFM_PYTHON:-python3}
LIMIT_MIB=${GTFM_TRAVEL_LIMIT_MIB:-64}
PKGS="fastcore"                      # the suite's imports that the GPU image lacks (see GTFM_GPU_MISSING in gpu_suite.sh)
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any"

SCRATCH=$(mktemp -d); trap 'rm -rf "$SCRATCH"' EXIT
# pip's own output only when it fails (some machines print a warning per missing local index folder)
pip_() { "$PY" -m pip "$@" --disable-pip-version-check >"$SCRATCH/pip.log" 2>&1 || { cat "$SCRATCH/pip.log" >&2; return 1; }; }

rm -rf .whl && mkdir -p .whl
for p in $PKGS; do
  v=$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p")   # the version tested here
  pip_ download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp $PLATFORMS -d .whl "$p==$v"
done
for w in .whl/*.whl; do
  req=$(unzip -p "$w" '*.dist-info/METADATA' | grep '^Requires-Dist' | grep -v 'extra ==' | sed 's/Requires-Dist: //' | tr '\n' ' ' || true)
  echo "$(basename "$w") $(du -k "$w" | cut -f1) kB${req:+; it requires: $req(check the GPU image has them)}"
done

"$PY" tools/gpu_data.py                                  # .gpu_data/tair10: labelled shards of the preset's splits

# The wheels alone, in a fresh interpreter that cannot import what the GPU image lacks.
pip_ install -q --no-index --no-deps --no-compile --target "$SCRATCH/site" .whl/*.whl
MISSING=$(sed -n 's/^export GTFM_GPU_MISSING="\(.*\)"$/\1/p' tools/gpu_suite.sh)
env -i PATH="$PATH" HOME="$HOME" OMP_NUM_THREADS=1 GTFM_GPU_MISSING="$MISSING" \
    PYTHONPATH="$SCRATCH/site:$ROOT/tools/gpu_image:$ROOT" "$PY" - "$SCRATCH/site" <<'EOF'
import importlib, sys
from pathlib import Path
site = sys.argv[1]
for m in ('fastcore',):
    f = importlib.import_module(m).__file__
    assert f.startswith(site), f"{m} came from {f}, not from the carried wheels"
for m in ('genome_tfm.attention', 'genome_tfm.moe', 'genome_tfm.model', 'genome_tfm.costs', 'genome_tfm.hierarchical', 'genome_tfm.tasks',
          'genome_tfm.trainer', 'genome_tfm.train', 'genome_tfm.genome', 'genome_tfm.annotation', 'genome_tfm.labels', 'genome_tfm.shards'):
    importlib.import_module(m)
from genome_tfm.shards import ShardedDataset
b = next(iter(ShardedDataset('.gpu_data/tair10', 'train', batch_size=2, batched=True)))
print('the carried wheels import every module of the suite; the carried shards read:', {k: tuple(v.shape) for k, v in b.items()})
EOF

# What travels: the working tree as the device tool sends it, plus the two folders.
"$PY" - "$LIMIT_MIB" <<'EOF'
import subprocess, sys
from pathlib import Path
files = [Path(f) for f in subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], capture_output=True, text=True, check=True).stdout.split('\0') if f]
size = lambda fs: sum(f.stat().st_size for f in fs if f.is_file() and not f.is_symlink())
parts = {'working tree': size(files), '.whl': size(Path('.whl').rglob('*')), '.gpu_data': size(Path('.gpu_data').rglob('*'))}
if Path('shared').is_dir(): parts['shared/'] = size(Path('shared').rglob('*'))
total, limit = sum(parts.values()), float(sys.argv[1]) * 2**20
print(', '.join(f'{k} {v / 2**20:.1f} MiB' for k, v in parts.items()) + f'; {total / 2**20:.1f} MiB of {limit / 2**20:.0f} MiB travel')
sys.exit(0 if total <= limit else f'too large to travel: {total / 2**20:.1f} MiB > {limit / 2**20:.0f} MiB')
EOF
echo "ready: carry .whl and .gpu_data, then run: bash tools/gpu_suite.sh \$OUT"
