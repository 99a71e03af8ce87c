"""``report.html`` and ``report.md`` of ``hzx demo``: each step's summary lines, results, figures
and provenance, in the order the steps ran."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any


def write_report(pipe: Any) -> tuple[Path, Path]:
    """``report.md`` and ``report.html`` in the work folder: figures, fit results, provenance."""
    import html

    root = pipe.root
    md = ["# hzx demo report", "",
          f"Work folder `{root}`; configuration `{json.dumps(dataclasses.asdict(pipe.config))}`.", ""]
    body = [f"<h1>hzx demo report</h1><p>Work folder <code>{html.escape(str(root))}</code></p>"]
    for name, rec in pipe.steps.items():
        result = rec.get("result", {})
        state = "cached" if rec.get("cached") else f"{rec.get('seconds', 0):.1f} s"
        md += [f"## {name} ({state})", ""]
        body.append(f"<h2>{html.escape(name)} <small>({state})</small></h2>")
        for line in result.get("summary", []):
            md.append(f"    {line}")
            body.append(f"<pre>{html.escape(line)}</pre>")
        for key, value in result.items():
            if key in ("summary", "figures"):
                continue
            text = json.dumps(value, default=str)
            md.append(f"- **{key}**: `{text}`")
            body.append(f"<p><b>{html.escape(key)}</b>: <code>{html.escape(text)}</code></p>")
        for fig in result.get("figures", []):
            rel = Path(fig).resolve().relative_to(root)
            md.append(f"![{rel.stem}]({rel.as_posix()})")
            body.append(f'<figure><img src="{rel.as_posix()}" alt="{rel.stem}" '
                        f'style="max-width:720px"><figcaption>{rel.stem}</figcaption></figure>')
        prov = rec.get("provenance", {})
        md += ["", f"<sub>hzx {prov.get('hzx_version')} · git {prov.get('git_revision')} · "
                   f"{prov.get('created_utc')} · digest {rec.get('digest', '')[:12]}</sub>", ""]
        body.append(f"<p><small>hzx {prov.get('hzx_version')} · git {prov.get('git_revision')} · "
                    f"{prov.get('created_utc')}</small></p>")
    md_path = root / "report.md"
    md_path.write_text("\n".join(md) + "\n")
    html_path = root / "report.html"
    # after loading, the page records how many figures the browser could draw (tests read it)
    script = ("<script>window.addEventListener('load', () => {const ok = [...document.images]"
              ".filter(i => i.complete && i.naturalWidth > 0).length; document.body.dataset."
              "figuresShown = ok; document.body.dataset.figures = document.images.length;});"
              "</script>")
    style = ("<style>body{font-family:sans-serif;max-width:1000px;margin:auto}pre{margin:0}"
             "figure{display:inline-block;margin:6px}</style>")
    html_path.write_text("<!doctype html><html><head><meta charset='utf-8'><title>hzx demo"
                         f"</title>{style}{script}</head><body>" + "\n".join(body)
                         + "</body></html>\n")
    return md_path, html_path
