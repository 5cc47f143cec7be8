#!/usr/bin/env python
"""Execute notebooks in place and keep their outputs (the notebooks are the docs), skipping flagged cells as nbdev_test does.

    python tools/run_nb.py nbs/01a_genome.ipynb              # run every cell not flagged notest/slow/gpu
    python tools/run_nb.py nbs/03_attention.ipynb --flags gpu  # also run the `#| gpu` cells (on a GPU machine)

A skipped cell keeps the outputs it had, so a `#| slow` cell executed once on a big machine keeps showing its result.
Stops at the first failing cell (exit 1) and leaves the notebook unchanged. Run `nbdev_clean` afterwards.
"""
import argparse, os, sys
from pathlib import Path

def run_notebook(fn: Path, force_flags: list[str]) -> float:
    "Execute `fn` like nbdev's tester and write the outputs of the executed cells back into it; returns seconds."
    import time
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    os.environ.setdefault('GTFM_PROGRESS', '0')
    flags = set(get_config().tst_flags.split()) - set(force_flags)
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    skip = lambda c: c.cell_type != 'code' or bool(flags & (getattr(c, 'directives_', {}) or {}).keys())
    t0, shell = time.time(), CaptureShell(fn)
    with working_directory(fn.parent): shell.run_all(nb, exc_stop=True, preproc=skip)
    ran = {c.id: c for c in nb.cells if c.cell_type == 'code' and not skip(c)}
    raw = read_nb(fn)
    for c in raw.cells:
        if c.cell_type == 'code' and c.get('id') in ran:
            c['outputs'] = ran[c['id']].get('outputs', [])
            c['execution_count'] = None
    write_nb(raw, fn)
    return time.time() - t0

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+'); ap.add_argument('--flags', default='', help='flags to run anyway, e.g. "slow gpu"')
    a = ap.parse_args(argv)
    for p in map(Path, a.notebooks):
        try: secs = run_notebook(p.resolve(), a.flags.split())
        except Exception as e:
            print(f'FAILED {p}: {e.__class__.__name__}: {str(e)[-3000:]}', file=sys.stderr); return 1
        print(f'ran {p} in {secs:.1f} s')
    return 0

if __name__ == '__main__': sys.exit(main())
