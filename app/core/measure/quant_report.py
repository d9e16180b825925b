"""quant-debug's result (QuantReport.to_json(), optionally with a calibration sweep) as a self-contained
HTML report: the accuracy–latency trade-off chart (marker size = file size, Pareto front, tier picks),
the variants, the worst nodes, sensitivity, the search, and the calibration sweep on one chart."""
from __future__ import annotations

import html

from app.core.measure.report import _pyplot, _svg

COLOURS = {"fp32": "#3b6ea8", "fp16": "#8e6bb8", "int8": "#d9534f"}
MIXED = "#2e9d5b"


def tradeoff_chart(result: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    variants = result["variants"]
    biggest = max(v["size_bytes"] for v in variants) or 1
    picked = {p["variant"] for p in result.get("picks", {}).values() if p["variant"]}
    for v in variants:
        x, y = max(v["latency_ms"], 1e-3), v["metric"]
        ax.scatter([x], [y], s=40 + 900 * v["size_bytes"] / biggest, color=COLOURS.get(v["name"], MIXED), alpha=0.6,
                   edgecolors="#333" if v["name"] in picked else "none", linewidths=2)
        ax.annotate(v["name"] + (" ★ pick" if v["name"] in picked else ""), (x, y), fontsize=7,
                    xytext=(6, 4), textcoords="offset points")
    front = [next(v for v in variants if v["name"] == name) for name in result.get("pareto", [])]
    if len(front) > 1:
        ax.plot([max(v["latency_ms"], 1e-3) for v in front], [v["metric"] for v in front], "-", color="#3b6ea8",
                label="Pareto front")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xscale("log")
    ax.set_xlabel("latency per inference, 1 thread, ms (log scale)")
    ax.set_ylabel(result["metric"])
    ax.set_title("marker area = file size; outlined = tier pick", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _svg(fig)


def sweep_chart(rows: list[dict], metric: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        ax.plot([r["samples"] for r in mine], [r["metric"] for r in mine], "o-", label=f"INT8, {method}")
    ax.axhline(rows[0]["fp32_metric"], color="#3b6ea8", linestyle="--", label="FP32")
    ax.set_xscale("log")
    ax.set_xlabel("calibration samples (log scale)")
    ax.set_ylabel(metric)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def to_html(result: dict | None = None, sweep: dict | None = None) -> str:
    """result: QuantReport.to_json(); sweep: {"model", "data", "sweep": rows} (either or both)."""
    e = html.escape
    parts = []
    if result:
        cal = result["calibration"]
        warn = f"<p class='warn'>{e(cal['warning'])}</p>" if cal.get("warning") else ""
        task_keys = list(result["variants"][0].get("task") or {})  # e.g. the face detector's faces found
        rows = "".join(f"<tr><td>{e(v['name'])}</td><td>{v['size_bytes'] / 1024:.1f}</td><td>{v['metric']:.2f}</td>"
                       f"<td>{v['cosine']:.5f}</td><td>{v['latency_ms']:.2f}</td>"
                       + "".join(f"<td>{e(str(v['task'].get(k, '')))}</td>" for k in task_keys) + "</tr>"
                       for v in result["variants"])
        nodes = "".join(f"<tr><td>{n['rank']}</td><td>{e(n['name'])}</td><td>{e(n['type'])}</td><td>{n['cosine']:.5f}"
                        f"</td><td>{n['snr_db']:.1f}</td><td>{n['added_db']:.1f}</td></tr>"
                        for n in sorted(result["nodes"], key=lambda n: n["rank"])[:15])
        sens = "".join(f"<li>{e(s['node'])} in float: {s['metric']:.2f} ({s['gain']:+.2f} pt)</li>"
                       for s in result["sensitivity"])
        search = result.get("search") or {}
        found = (f"<p>Search for ≥ {search['target']:.2f}: {'reached' if search['reached'] else 'not reached'} with "
                 f"{e(', '.join(search['float_nodes']) or 'no float node')} → {search['metric']:.2f} "
                 f"({search['tried']} extra conversions)</p>") if search else ""
        picks = "".join(f"<li><b>{e(t)}</b>: {e(p['variant'] or 'none')} — {e(p['why'])}</li>"
                        for t, p in result.get("picks", {}).items())
        parts.append(
            f"<p>{e(result['model'])} · {e(result['data'])} · {cal['samples']} calibration samples, "
            f"{e(cal['method'])}</p>{warn}<h2>Accuracy vs latency</h2><div class='chart'>{tradeoff_chart(result)}</div>"
            f"<h2>Picks</h2><ul>{picks}</ul>"
            f"<h2>Variants</h2><table><tr><th>variant</th><th>KiB</th><th>{e(result['metric'])}</th><th>cosine</th>"
            f"<th>ms</th>{''.join(f'<th>{e(k)}</th>' for k in task_keys)}</tr>{rows}</table>"
            f"<h2>Nodes INT8 hurts most</h2><table><tr><th>rank</th><th>node</th><th>type</th><th>cosine</th>"
            f"<th>SNR dB</th><th>adds dB</th></tr>{nodes}</table><h2>Kept in float</h2><ul>{sens}</ul>{found}")
    if sweep:
        parts.append(f"<h2>Calibration: method × samples</h2><p>{e(sweep['data'])}</p>"
                     f"<div class='chart'>{sweep_chart(sweep['sweep'], 'task metric')}</div>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge Studio: quantization</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}
th {{ background: #f0f0f0; }} td:nth-child(-n+3) {{ text-align: left; }}
.warn {{ background: #fde2e1; padding: 0.5em; border-left: 4px solid #e15759; }}
.chart svg {{ max-width: 100%; height: auto; }}
</style></head><body><h1>Quantization</h1>{''.join(parts)}</body></html>
"""
