#!/usr/bin/env python
"""Build the docs without Quarto: nbdev's notebook processing, then nbconvert to HTML in _docs/.

    python tools/build_docs.py            # every notebook -> _docs/NAME.html, with a page list on every page
    python tools/build_docs.py --readme   # also README.md from nbs/index.ipynb (what nbdev_readme does with Quarto)

Exits non-zero when a notebook fails to process or holds an error output. With Quarto installed, `nbdev_docs` builds
the full site from the same notebooks and nbs/_quarto.yml.
"""
import argparse, html, json, os, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'

def notebooks() -> list[Path]:
    nbs = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    return sorted(nbs, key=lambda p: (p.name != 'index.ipynb', p.name))

def title_of(nb_path: Path) -> str:
    for c in json.loads(nb_path.read_text())['cells']:
        if c['cell_type'] == 'markdown':
            m = re.search(r'^#\s+(.+)$', ''.join(c['source']), re.M)
            if m: return m.group(1).strip()
    return nb_path.stem

def error_outputs(nb) -> list[str]:
    "Error outputs (tracebacks) stored in a processed notebook."
    errs = []
    for i, c in enumerate(nb.cells):
        for o in c.get('outputs', []):
            if o.get('output_type') == 'error': errs.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
    return errs

def front_matter_cell(nb) -> None:
    "Replace the YAML front matter nbdev leaves in a raw first cell (Quarto reads it) by the title as a heading and the description as a lead paragraph."
    import yaml
    if not nb.cells or nb.cells[0].cell_type != 'raw': return
    text = ''.join(nb.cells[0].source).strip()
    m = re.fullmatch(r'---\s*\n(.*?)\n\s*---', text, re.S)
    if not m: return
    fm = yaml.safe_load(m.group(1)) or {}
    parts = [f"# {fm['title']}"] if fm.get('title') else []
    if fm.get('description'): parts.append(f'<div class="gtfm-lead">\n\n{fm["description"]}\n\n</div>')
    cell = nb.cells[0]
    cell.cell_type, cell.source = 'markdown', '\n\n'.join(parts)

def process(src: Path, dst: Path):
    "nbdev's docs processing (frontmatter, show_doc, hidden cells, export markers) of one notebook; the front matter becomes a heading."
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults
    os.environ['IN_TEST'] = '1'
    import nbformat
    nb = read_nb(src); FilterDefaults()(nb); front_matter_cell(nb); write_nb(nb, dst)
    return nbformat.read(dst, as_version=4)

def nav_html(pages: list[tuple[str, str]], current: str) -> str:
    items = ''.join(f'<li{" class=current" if href == current else ""}><a href="{href}">{html.escape(t)}</a></li>' for href, t in pages)
    return f'<nav class="gtfm-nav"><b>genome_tfm</b><ul>{items}</ul></nav>'

STYLE = ('<style>.gtfm-nav{position:fixed;top:0;left:0;width:210px;height:100%;overflow:auto;padding:12px;'
         'background:#f6f6f6;border-right:1px solid #ddd;font:14px sans-serif}.gtfm-nav ul{padding-left:14px}'
         '.gtfm-nav li.current a{font-weight:bold}body{margin-left:240px!important}'
         '.gtfm-lead{font-size:1.25em;color:#555;margin:0 0 1.5em}</style>')

def render_html(nb, out: Path, pages, href: str, title: str):
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter(template_name='lab').from_notebook_node(nb, resources={'metadata': {'name': title}})
    body = body.replace('</head>', STYLE + '</head>', 1)
    body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav_html(pages, href), body, count=1)
    out.write_text(body)

def readme_text(index: Path) -> str:
    "README.md from index.ipynb: prose cells as they are, shown code cells with their text outputs; hidden cells dropped."
    nb, parts = json.loads(index.read_text()), ['<!-- generated from nbs/index.ipynb by tools/build_docs.py --readme: do not edit -->']
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src); continue
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*(hide|export|exporti|exports|default_exp)\b', src, re.M): continue
        parts.append(f'```python\n{src}\n```')
        for o in c.get('outputs', []):
            text = ''.join(o.get('text', '') or o.get('data', {}).get('text/plain', ''))
            if text: parts.append(f'```\n{text.rstrip()}\n```')
    return '\n\n'.join(p.rstrip() for p in parts) + '\n'

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'_docs')); ap.add_argument('--readme', action='store_true')
    ap.add_argument('--readme-only', action='store_true'); ap.add_argument('--only', nargs='*', help='notebook names to render')
    a = ap.parse_args(argv)
    if a.readme or a.readme_only: (ROOT/'README.md').write_text(readme_text(NBS/'index.ipynb'))
    if a.readme_only: return 0
    out = Path(a.out); (out/'_proc').mkdir(parents=True, exist_ok=True)
    nbs = notebooks()
    pages = [('index.html' if p.name == 'index.ipynb' else f'{p.stem}.html', title_of(p)) for p in nbs]
    failed = []
    for p, (href, title) in zip(nbs, pages):
        if a.only and p.name not in a.only and p.stem not in a.only: continue
        try:
            nb = process(p, out/'_proc'/p.name)
            errs = error_outputs(nb)
            if errs: failed.append(f"{p.name}: error outputs: {'; '.join(errs)}")
            render_html(nb, out/href, pages, href, title)
            print(f"rendered {p.name} -> {out/href}")
        except Exception as e:
            failed.append(f"{p.name}: {e.__class__.__name__}: {e}")
    for f in failed: print('FAILED', f, file=sys.stderr)
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
