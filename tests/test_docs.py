"""Docs: every notebook goes through nbdev's processing and nbconvert to HTML without error cells; the index links to all."""
import html as htmllib, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.xdist_group('heavy')
def test_docs_render(tmp_path):
    out = tmp_path/'_docs'
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f"docs build failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb'))
    pages = ['index.html' if p.name == 'index.ipynb' else f'{p.stem}.html' for p in nbs]
    for nb, page in zip(nbs, pages):
        html = (out/page).read_text()
        assert len(html) > 2000, page
        assert 'jp-RenderedText" data-mime-type="application/vnd.jupyter.stderr"' not in html or 'Traceback' not in html, page
        assert 'Traceback (most recent call last)' not in html, f"{page} shows a traceback"
        body = re.sub(r'<(style|script)\b.*?</\1>', '', html[html.find('<body'):], flags=re.S)
        text = htmllib.unescape(re.sub(r'<[^>]+>', ' ', body))
        fm = re.search(r'---\s*(description|title|output-file)\s*:', text) or re.search(r'\boutput-file\s*:', text)
        assert not fm, f"{page} shows the notebook's YAML front matter ({fm.group(0)!r}) instead of its title and summary"
        title = re.search(r'^#\s+(.+)$', ''.join(json.loads(nb.read_text())['cells'][0]['source']), re.M).group(1).strip()
        h1 = re.search(r'<h1[^>]*>(.*?)</h1>', body, re.S)
        assert h1 and htmllib.unescape(re.sub(r'<[^>]+>|¶', '', h1.group(1))).strip() == title, f"{page} does not open with its title {title!r} as a heading"
    index = (out/'index.html').read_text()
    links = set(re.findall(r'href="([^"#]+\.html)"', index))
    missing = [p for p in pages if p not in links]
    assert not missing, f"index.html does not link to {missing}"
    text = htmllib.unescape(re.sub(r'<[^>]+>', '', index))
    assert 'Quick start' in text and './gtfm.sh demo' in text and './gtfm.sh test' in text
