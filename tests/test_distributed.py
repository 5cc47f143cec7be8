"""Real multi-process training runs of genome_tfm.train on the CPU: DDP over gloo, DeepSpeed ZeRO-2/3 through accelerate,
two "nodes" on loopback, and DeepSpeed-MoE expert parallelism. Each run asserts the world size and distributed type it
got (accelerate falls back to fewer processes or plain DDP silently when a flag is wrong).

Run:  OMP_NUM_THREADS=1 python -m pytest tests/test_distributed.py -x -q
"""
import json, os, shutil, socket, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ACC = ROOT/'configs'/'accelerate'
pytestmark = pytest.mark.xdist_group('dist')

# the toy task: a 2-layer MLP regressor on a fixed problem; 20 optimizer steps, checkpoints every 10
TOY = ['task=toy', 'max_steps=20', 'batch_size=8', 'lr=0.01', 'warmup_steps=2', 'save_every=10', 'keep_last=5',
       'log_every=1', 'eval_every=10', 'eval_batches=2', 'model_args={dropout: 0.1}']

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def accelerate_bin() -> str:
    p = Path(sys.executable).parent/'accelerate'
    return str(p) if p.exists() else 'accelerate'

def has_deepspeed() -> bool:
    try: import deepspeed  # noqa: F401
    except Exception: return False
    return True

needs_ds = pytest.mark.skipif(not has_deepspeed(), reason="deepspeed is not installed (pip install 'genome_tfm[gpu]')")

def env(tmp: Path, deepspeed: bool = False) -> dict:
    from genome_tfm.core import gtfm_home
    e = {**os.environ, 'OMP_NUM_THREADS': '1', 'GTFM_PROGRESS': '0', 'GTFM_RANK_REPORT': '1', 'CUDA_VISIBLE_DEVICES': '',
         'PYTHONUNBUFFERED': '1', 'TORCH_EXTENSIONS_DIR': str(gtfm_home()/'torch_extensions'),  # DeepSpeed's shm op: built once, cached
         'PATH': f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    if deepspeed: e['DS_ACCELERATOR'] = 'cpu'
    else: e['ACCELERATE_USE_CPU'] = '1'        # with --multi_gpu: 2 CPU processes over gloo (--cpu alone starts ONE)
    return e

def launch(config: str, out: Path, *args: str, nproc: int = 2, deepspeed: bool = False, timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [accelerate_bin(), 'launch', '--config_file', str(ACC/config), '--num_processes', str(nproc),
           '--main_process_ip', '127.0.0.1', '--main_process_port', str(free_port()),
           '-m', 'genome_tfm.train', 'tiny-cpu', *TOY, f'out_dir={out}', *args]
    r = subprocess.run(cmd, env=env(out.parent, deepspeed), cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    return r

def info(out: Path) -> dict: return json.loads((out/'run_info.json').read_text())
def losses(out: Path) -> dict:
    return {r['step']: r['loss'] for r in map(json.loads, (out/'metrics.jsonl').read_text().splitlines()) if 'loss' in r}
def ranks(out: Path, n: int) -> list[dict]: return [json.loads((out/f'rank-{i}.json').read_text()) for i in range(n)]

def resume_copy(src: Path, dst: Path, step: int = 10):
    "A run directory holding only `src`'s checkpoint at `step` (and the metrics up to it): resume=auto continues there."
    name = f'step-{step:08d}'
    shutil.copytree(src/'checkpoints'/name, dst/'checkpoints'/name)

def check_curve(a: dict, b: dict, tol: float):
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    worst = max(abs(a[k] - b[k]) for k in a)
    assert worst <= tol, f"loss curves differ by {worst:.3g} > {tol}: {a} vs {b}"

@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('ddp')/'run'
    launch('multi-gpu.yaml', out)
    return out

def test_ddp_two_ranks(ddp_run):
    i = info(ddp_run)
    assert (i['world_size'], i['distributed_type'], i['backend']) == (2, 'MULTI_CPU', 'gloo'), i
    l = losses(ddp_run)
    assert len(l) == 20 and sum(list(l.values())[-5:]) / 5 < 0.6 * sum(list(l.values())[:3]) / 3, l   # the loss falls
    r0, r1 = ranks(ddp_run, 2)
    assert r0['sha256'] == r1['sha256'] and r0['numel'] == r1['numel'], (r0, r1)       # identical parameters on both ranks

def test_ddp_sigkill_resume_exact(ddp_run, tmp_path):
    "A 2-rank run killed with SIGKILL (launcher and both ranks) after its step-10 checkpoint resumes with the same losses."
    out = tmp_path/'killed'
    cmd = [accelerate_bin(), 'launch', '--config_file', str(ACC/'multi-gpu.yaml'), '--num_processes', '2',
           '--main_process_ip', '127.0.0.1', '--main_process_port', str(free_port()),
           '-m', 'genome_tfm.train', 'tiny-cpu', *TOY, f'out_dir={out}', 'task_args={delay: 0.25}', 'resume=auto']  # slow data: time to kill
    p = subprocess.Popen(cmd, env=env(tmp_path), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    try:
        while not ((out/'checkpoints'/'step-00000010').exists() and max(losses(out) or [0]) >= 13):
            assert p.poll() is None, f"the run ended (exit {p.returncode}) before it could be killed"
            assert time.time() - t0 < 200, "no step-10 checkpoint after 200 s"
            time.sleep(0.05)
    finally:                     # SIGKILL the launcher and every rank (torchrun starts the ranks in their own sessions)
        import psutil
        procs = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
        for q in procs:
            try: q.send_signal(9)
            except psutil.NoSuchProcess: pass
        p.wait(); psutil.wait_procs(procs, timeout=30)
    assert max(losses(out)) < 20 and not (out/'checkpoints'/'step-00000020').exists()
    launch('multi-gpu.yaml', out, 'resume=auto')
    i = info(out)
    assert i['resumed_from'].endswith('step-00000010') and (i['world_size'], i['distributed_type']) == (2, 'MULTI_CPU'), i
    full, res = losses(ddp_run), losses(out)
    assert sorted(res) == sorted(full), sorted(res)
    assert all(res[k] == full[k] for k in res), (res, full)                              # bit-identical continuation
    assert ranks(out, 2)[0]['sha256'] == ranks(ddp_run, 2)[0]['sha256']

def test_ddp_weight_averaging(ddp_run, tmp_path):
    "ema_decay under 2-rank DDP: training losses unchanged bit for bit, checkpoints hold the average, resume keeps both exact."
    from safetensors.torch import load_file
    import torch
    out = tmp_path/'ema'
    launch('multi-gpu.yaml', out, 'ema_decay=0.9')
    assert losses(out) == losses(ddp_run)
    ck = out/'checkpoints'/'step-00000020'
    avg, raw = load_file(ck/'model.safetensors'), torch.load(ck/'train_weights.pt', weights_only=True)
    assert set(raw) <= set(avg) and any(not torch.equal(avg[k], raw[k]) for k in raw)
    again = tmp_path/'ema-resumed'
    resume_copy(out, again)
    launch('multi-gpu.yaml', again, 'ema_decay=0.9', 'resume=auto')
    assert losses(again) == {k: v for k, v in losses(out).items() if k > 10}
    avg2 = load_file(again/'checkpoints'/'step-00000020'/'model.safetensors')
    assert all(torch.equal(avg[k], avg2[k]) for k in avg)

@needs_ds
@pytest.mark.parametrize('stage', [2, 3])
def test_deepspeed_zero(stage, ddp_run, tmp_path):
    out = tmp_path/f'zero{stage}'
    launch(f'zero{stage}.yaml', out, deepspeed=True)
    i = info(out)
    assert (i['world_size'], i['distributed_type'], i['zero_stage']) == (2, 'DEEPSPEED', stage), i
    check_curve(losses(out), losses(ddp_run), tol=1e-4)                                 # the same run as DDP, numerically
    ck = out/'checkpoints'/'step-00000020'
    assert (ck/'deepspeed').is_dir() and (ck/'model.safetensors').exists()
    from genome_tfm.tasks import ToyRegressor
    from genome_tfm.trainer import load_checkpoint
    import torch
    m = ToyRegressor.from_pretrained(str(ck))                                          # consolidated weights load with from_pretrained
    ref = ToyRegressor.from_pretrained(str(ddp_run/'checkpoints'/'step-00000020'))
    for (n, p), (_, q) in zip(m.named_parameters(), ref.named_parameters()): assert torch.allclose(p, q, atol=1e-4), n
    model, tok, cfg = load_checkpoint(out)
    assert cfg.task == 'toy' and tok is None
    res = tmp_path/f'zero{stage}-resumed'                                              # resume from the DeepSpeed checkpoint
    resume_copy(out, res)
    launch(f'zero{stage}.yaml', res, 'resume=auto', deepspeed=True)
    i = info(res)
    assert i['resumed_from'].endswith('step-00000010') and (i['world_size'], i['distributed_type'], i['zero_stage']) == (2, 'DEEPSPEED', stage), i
    check_curve(losses(res), {k: v for k, v in losses(out).items() if k > 10}, tol=1e-6)

def test_two_nodes_loopback(ddp_run, tmp_path):
    "Two 'nodes' (machine_rank 0 and 1, one process each) through configs/launch_multinode.sh on 127.0.0.1."
    out = tmp_path/'nodes'
    port = str(free_port())
    e = {**env(tmp_path), 'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': port, 'NNODES': '2', 'NPROC_PER_NODE': '1',
         'CONFIG': str(ACC/'multi-node-ddp.yaml')}
    cmd = ['bash', str(ROOT/'configs'/'launch_multinode.sh'), 'tiny-cpu', *TOY, f'out_dir={out}']
    ps = [subprocess.Popen(cmd, env={**e, 'NODE_RANK': str(r)}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
          for r in (0, 1)]
    outs = [p.communicate(timeout=240)[0] for p in ps]
    assert all(p.returncode == 0 for p in ps), '\n\n'.join(o[-4000:] for o in outs)
    i = info(out)
    assert (i['world_size'], i['distributed_type'], i['num_machines']) == (2, 'MULTI_CPU', 2), i
    check_curve(losses(out), losses(ddp_run), tol=1e-5)                                 # 2 nodes x 1 = 1 node x 2
    assert ranks(out, 2)[0]['sha256'] == ranks(out, 2)[1]['sha256']

@needs_ds
def test_moe_expert_parallel(tmp_path):
    "DeepSpeed-MoE layer with 4 experts sharded over 2 ranks (expert parallelism 2) under ZeRO-2 (ZeRO-3 refuses MoE)."
    out = tmp_path/'moe'
    launch('zero2.yaml', out, 'model_args={moe_experts: 4, moe_ep_size: 2}', deepspeed=True)
    i = info(out)
    assert (i['world_size'], i['distributed_type'], i['zero_stage']) == (2, 'DEEPSPEED', 2), i
    l = list(losses(out).values())
    assert len(l) == 20 and sum(l[-5:]) / 5 < sum(l[:3]) / 3, l
    r0, r1 = ranks(out, 2)
    assert r0['numel'] == r1['numel'] and r0['sha256'] != r1['sha256']                 # each rank holds other experts
    ck = out/'checkpoints'/'step-00000020'
    assert (ck/'deepspeed').is_dir()
