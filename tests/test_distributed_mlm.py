"""The distributed trainer on the real parts: 2-rank CPU runs of the masked-LM task (GenomeBertForMaskedLM, the 'tiny'
preset) on the bundled TAIR10 chr1 shards, once as DDP over gloo and once under DeepSpeed ZeRO-2, through the same
`accelerate launch` path as tests/test_distributed.py (whose helpers it reuses). The shards are prepared once, in this
process, into a temporary GTFM_HOME before any rank starts, so the ranks never race to prepare data.

Run:  OMP_NUM_THREADS=1 python -m pytest tests/test_distributed_mlm.py -q --durations=5
"""
import hashlib, json, math, subprocess
from pathlib import Path
import pytest

from test_distributed import ACC, ROOT, accelerate_bin, check_curve, env, free_port, info, losses, needs_ds, ranks

pytestmark = pytest.mark.xdist_group('dist')

WINDOW = 256
# 20 optimizer steps of the tiny encoder (2 layers, 64 wide, dropout 0.1) with the char tokenizer (no training);
# checkpoints and evaluations at steps 10 and 20
MLM = ['task=mlm', 'model=tiny', f'window={WINDOW}', 'tokenizer=char', 'max_steps=20', 'max_time=0',
       'batch_size=8', 'grad_accum=1', 'lr=0.003', 'warmup_steps=2', 'schedule=cosine', 'save_every=10', 'keep_last=5',
       'log_every=1', 'eval_every=10', 'eval_batches=2', 'resume=null', 'tensorboard=false', 'precision=auto',
       'task_args={buffer_size: 64}']
# the regions prepared: 1 Mb of the declared train split, 100 kb of the declared valid split
SPLITS = {'train': (0, 1_000_000), 'valid': (25_000_000, 25_100_000)}

@pytest.fixture(scope='module')
def mlm_home(tmp_path_factory) -> Path:
    "A GTFM_HOME whose shards/tair10_chr1-w256 holds TAIR10 shards, prepared here once (the ranks only read them)."
    import yaml
    from genome_tfm.annotation import TAIR10_CHROM
    from genome_tfm.shards import PrepareConfig, prepare_genome, read_manifest
    home = tmp_path_factory.mktemp('gtfm_home')
    sp = home/'splits.yaml'
    sp.write_text(yaml.safe_dump({k: [[TAIR10_CHROM, s, e]] for k, (s, e) in SPLITS.items()}))
    out = home/'shards'/f'tair10_chr1-w{WINDOW}'          # given as data=: a shard directory is used as it is (custom splits)
    prepare_genome('tair10_chr1', out, splits=str(sp), cfg=PrepareConfig(window=WINDOW))   # the FASTA/GFF from the usual cache
    man = read_manifest(out)
    assert man['stats']['train']['windows'] > 1000 and man['stats']['valid']['windows'] > 100, man['stats']
    return home

def launch_mlm(config: str, out: Path, home: Path, *args: str, deepspeed: bool = False, timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [accelerate_bin(), 'launch', '--config_file', str(ACC/config), '--num_processes', '2',
           '--main_process_ip', '127.0.0.1', '--main_process_port', str(free_port()),
           '-m', 'genome_tfm.train', 'tiny-cpu', *MLM, f"data={home/'shards'/f'tair10_chr1-w{WINDOW}'}", f'out_dir={out}', *args]
    e = {**env(out.parent, deepspeed), 'GTFM_HOME': str(home)}   # TORCH_EXTENSIONS_DIR stays in the usual cache (built once)
    man = home/'shards'/f'tair10_chr1-w{WINDOW}'/'manifest.json'
    before = man.read_bytes()
    r = subprocess.run(cmd, env=e, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    # the ranks read the shards prepared here: nothing was re-prepared (no dataset unpacked into this home, same manifest)
    assert man.read_bytes() == before and not (home/'datasets').exists() and 'preparing shards' not in r.stderr, r.stderr[-3000:]
    return r

def evals(out: Path) -> dict:
    return {r['step']: r for r in map(json.loads, (out/'metrics.jsonl').read_text().splitlines()) if 'eval_loss' in r}

def param_digest(model) -> str:
    "The sha256 of Trainer.rank_report over `model`'s parameters (same order and bytes)."
    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters()):
        h.update(name.encode()); h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()

@pytest.fixture(scope='module')
def mlm_ddp(mlm_home, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('mlm-ddp')/'run'
    launch_mlm('multi-gpu.yaml', out, mlm_home)
    return out

def test_mlm_ddp_two_ranks(mlm_ddp):
    import torch
    from genome_tfm.model import GenomeBertForMaskedLM
    from genome_tfm.tasks import TrainConfig
    from genome_tfm.trainer import load_checkpoint
    i = info(mlm_ddp)
    assert (i['world_size'], i['distributed_type'], i['backend']) == (2, 'MULTI_CPU', 'gloo'), i
    l = losses(mlm_ddp)
    assert sorted(l) == list(range(1, 21)) and all(math.isfinite(v) for v in l.values()), l
    v = list(l.values())
    assert sum(v[-5:]) / 5 < sum(v[:3]) / 3 - 0.2, l                                    # the MLM loss falls
    ev = evals(mlm_ddp)
    assert sorted(ev) == [10, 20] and ev[20]['eval_loss'] < ev[10]['eval_loss'] and 0 <= ev[20]['eval_accuracy'] <= 1, ev
    assert ev[20]['eval_loss'] < math.log(4), ev                                       # better than a uniform guess over A, C, G, T
    r0, r1 = ranks(mlm_ddp, 2)
    assert r0['sha256'] == r1['sha256'] and r0['numel'] == r1['numel'], (r0, r1)       # identical parameters on both ranks
    model, tok, cfg = load_checkpoint(mlm_ddp)                                         # the run's best checkpoint (best.json)
    assert isinstance(model, GenomeBertForMaskedLM) and isinstance(cfg, TrainConfig), type(model)
    assert (cfg.task, cfg.tokenizer, cfg.window, Path(cfg.data).name) == ('mlm', 'char', WINDOW, f'tair10_chr1-w{WINDOW}'), cfg
    assert tok is not None and tok.kind == 'char' and model.config.vocab_size == tok.vocab_size
    assert json.loads((mlm_ddp/'best.json').read_text())['step'] == 20                 # eval improved: the last one is the best
    ck = mlm_ddp/'checkpoints'/'step-00000020'
    m = GenomeBertForMaskedLM.from_pretrained(str(ck))
    assert param_digest(m) == param_digest(model) == r0['sha256']                      # the checkpoint is the ranks' final state
    assert param_digest(GenomeBertForMaskedLM.from_pretrained(str(mlm_ddp/'checkpoints'/'step-00000010'))) != r0['sha256']
    from genome_tfm.tasks import mlm_batch
    import numpy as np
    b = mlm_batch(['ACGT' * (WINDOW // 4)] * 2, tok, np.random.default_rng(0))
    with torch.no_grad(): o = m.eval()(**b)
    assert o.logits.shape == (*b['input_ids'].shape, tok.vocab_size) and torch.isfinite(o.loss), o.logits.shape

@needs_ds
def test_mlm_deepspeed_zero2_matches_ddp(mlm_home, mlm_ddp, tmp_path):
    import torch
    from genome_tfm.model import GenomeBertForMaskedLM
    from genome_tfm.trainer import load_checkpoint
    out = tmp_path/'zero2'
    launch_mlm('zero2.yaml', out, mlm_home, deepspeed=True)
    i = info(out)
    assert (i['world_size'], i['distributed_type'], i['zero_stage'], i['backend']) == (2, 'DEEPSPEED', 2, 'gloo'), i
    check_curve(losses(out), losses(mlm_ddp), tol=1e-4)                                # the same run as DDP, numerically
    e, d = evals(out), evals(mlm_ddp)
    assert sorted(e) == sorted(d) and all(abs(e[k]['eval_loss'] - d[k]['eval_loss']) <= 1e-4 for k in e), (e, d)
    r0, r1 = ranks(out, 2)
    assert r0['sha256'] == r1['sha256'], (r0, r1)                                      # ZeRO-2 keeps full fp32 weights per rank
    ck = out/'checkpoints'/'step-00000020'
    assert (ck/'model.safetensors').exists() and not (ck/'optimizer.pt').exists()
    parts = sorted(x.name for x in (ck/'deepspeed'/'state').glob('zero_pp_rank_*_optim_states.pt'))
    assert parts == [f'zero_pp_rank_{r}_mp_rank_00_optim_states.pt' for r in (0, 1)], parts   # the optimizer state is partitioned
    m = GenomeBertForMaskedLM.from_pretrained(str(ck))
    ref = GenomeBertForMaskedLM.from_pretrained(str(mlm_ddp/'checkpoints'/'step-00000020'))
    assert param_digest(m) == r0['sha256']
    for (n, p), (_, q) in zip(m.named_parameters(), ref.named_parameters()): assert torch.allclose(p, q, atol=1e-4), n
    model, tok, cfg = load_checkpoint(out)
    assert isinstance(model, GenomeBertForMaskedLM) and cfg.task == 'mlm' and tok.kind == 'char'
