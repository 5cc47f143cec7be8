#!/usr/bin/env bash
# Launch genome_tfm.train on one node of a multi-node job. Run the same command on every node:
#   MASTER_ADDR=10.0.0.1 NNODES=2 NODE_RANK=0 configs/launch_multinode.sh base-gpu max_steps=50000   # on node 0
#   MASTER_ADDR=10.0.0.1 NNODES=2 NODE_RANK=1 configs/launch_multinode.sh base-gpu max_steps=50000   # on node 1
# Optional: MASTER_PORT (29500), NPROC_PER_NODE (GPUs on this node, default: all visible), CONFIG (accelerate YAML,
# default configs/accelerate/multi-node.yaml: DeepSpeed ZeRO-2, standard launcher). The run directory (out_dir) must be
# on a file system every node sees: checkpoints are written by all ranks and renamed into place by rank 0.
set -euo pipefail
: "${MASTER_ADDR:?set MASTER_ADDR to the address of node 0}"
: "${NNODES:?set NNODES to the number of nodes}"
: "${NODE_RANK:?set NODE_RANK to the rank of this node (0 .. NNODES-1)}"
MASTER_PORT=${MASTER_PORT:-29500}
HERE="$(cd "$(dirname "$0")" && pwd)"
CONFIG=${CONFIG:-$HERE/accelerate/multi-node.yaml}
if [ -z "${NPROC_PER_NODE:-}" ]; then
  NPROC_PER_NODE=$(python -c 'import torch; print(max(torch.cuda.device_count(), 1))')
fi
exec accelerate launch --config_file "$CONFIG" \
  --num_machines "$NNODES" --machine_rank "$NODE_RANK" --num_processes $((NNODES * NPROC_PER_NODE)) \
  --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \
  -m genome_tfm.train "$@"
