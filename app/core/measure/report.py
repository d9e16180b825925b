"""The compare() result as a self-contained HTML report (inline SVG charts), JSON and CSV."""
from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from app.core.files import check_new_file, write_atomic, write_json
from converters.targets import TIER_COLOURS as TIER_COLORS

# (column, header, format) — the one table used by the HTML, the CSV and the console summary
COLUMNS = (
    ("tier", "tier", "{}"), ("label", "variant", "{}"), ("precision", "precision", "{}"),
    ("threads", "threads", "{}"), ("runs", "runs", "{}"), ("p50_ms", "p50 ms", "{:.3f}"),
    ("p90_ms", "p90 ms", "{:.3f}"), ("p99_ms", "p99 ms", "{:.3f}"), ("mean_ms", "mean ms", "{:.3f}"),
    ("std_ms", "± std", "{:.3f}"), ("throughput_per_s", "per s", "{:.1f}"), ("size_bytes", "size B", "{:,}"),
    ("peak_rss_mb", "peak RSS MiB", "{:.1f}"), ("rss_delta_mb", "Δ RSS MiB", "{:.1f}"), ("top1", "top-1", "{:.2%}"),
)


def cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if key == "threads" and row.get("tier") == "cloud":
        return "server"  # MindSpore's own thread pool
    return "—" if value is None else fmt.format(value)


# -- charts ---------------------------------------------------------------------------------------
def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})  # reproducible
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: inline in HTML


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})
    return plt


def latency_chart(result: dict) -> str:
    """Each variant's latency distribution as a cumulative curve (log scale: INT8 can be 100× slower)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    styles = ("-", "--", ":", "-.")
    for i, row in enumerate(result["variants"]):
        q = row["quantiles_ms"]
        ax.plot(q, range(len(q)), styles[i % len(styles)], color=TIER_COLORS.get(row["tier"]), label=row["label"])
    ax.set_xscale("log")
    ax.set_xlabel("latency per inference, ms (log scale)")
    ax.set_ylabel("percentile")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def tier_chart(result: dict) -> str:
    """Median latency, size and top-1 of every variant, coloured by tier; the picks are hatched."""
    plt = _pyplot()
    rows = result["variants"]
    picked = {p["id"] for p in result["picks"].values()}
    labels = [r["id"] for r in rows]
    colors = [TIER_COLORS.get(r["tier"]) for r in rows]
    panels = (("p50 latency, ms (log)", [r["p50_ms"] for r in rows], True),
              ("size, KiB", [(r["size_bytes"] or 0) / 1024 for r in rows], False),
              ("top-1, %", [100 * (r["top1"] or 0) for r in rows], False))
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.35 * len(rows) + 1.4), sharey=True)
    for ax, (title, values, log) in zip(axes, panels):
        bars = ax.barh(labels, values, color=colors)
        for bar, row in zip(bars, rows):
            if row["id"] in picked:
                bar.set_hatch("//")
                bar.set_edgecolor("black")
        if log:
            ax.set_xscale("log")
        ax.set_title(title)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    return _svg(fig)


def tradeoff_chart(result: dict) -> str:
    """What you give up for what: top-1 against median latency, each marker's area the file's size; the
    picks are ringed. Up and to the left is better."""
    plt = _pyplot()
    rows = [r for r in result["variants"] if r.get("top1") is not None and r.get("p50_ms")]
    picked = {p["id"] for p in result["picks"].values()}
    largest = max([r["size_bytes"] or 0 for r in rows] + [1])
    fig, ax = plt.subplots(figsize=(8, 4))
    same_score: dict[float, int] = {}  # variants with one top-1 sit on a line: their names go one above another
    for row in sorted(rows, key=lambda r: r["p50_ms"]):
        area = 40 + 600 * (row["size_bytes"] or 0) / largest
        ax.scatter(row["p50_ms"], 100 * row["top1"], s=area, color=TIER_COLORS.get(row["tier"]), alpha=0.6,
                   edgecolors="black" if row["id"] in picked else "none", linewidths=2)
        above = same_score[round(row["top1"], 4)] = same_score.get(round(row["top1"], 4), -1) + 1
        ax.annotate(row["id"], (row["p50_ms"], 100 * row["top1"]), fontsize=7, xytext=(8, -12 - 10 * above),
                    textcoords="offset points", arrowprops={"arrowstyle": "-", "alpha": 0.4} if above else None)
    ax.set_xscale("log")
    ax.margins(x=0.15)
    scores = [100 * r["top1"] for r in rows]
    if scores and max(scores) - min(scores) < 2:  # a 0.3-point gap must not fill the whole height
        middle = (max(scores) + min(scores)) / 2
        ax.set_ylim(middle - 1.2, min(100.5, middle + 1.2))
    ax.set_xlabel("median latency per inference, ms (log scale) — left is faster")
    ax.set_ylabel("top-1, % — higher is better")
    ax.grid(True, which="both", alpha=0.3)
    return _svg(fig)


def per_op_chart(entry: dict, top: int = 12) -> str:
    plt = _pyplot()
    items = list(entry["by_type"].items())[:top]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(items) + 1))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#9c755f")
    ax.invert_yaxis()
    ax.set_xlabel("ms per run (summed by operator type)")
    ax.set_title(entry["label"], fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)


# -- documents ------------------------------------------------------------------------------------
def to_html(result: dict) -> str:
    e = html.escape
    machine = result["machine"]
    head = "".join(f"<th>{e(h)}</th>" for _, h, _ in COLUMNS)
    picked = {p["id"] for p in result["picks"].values()}
    body = "".join(
        f"<tr class='{'pick' if r['id'] in picked else ''}'>" + "".join(
            f"<td>{e(cell(r, k, f))}</td>" for k, _, f in COLUMNS) + "</tr>" for r in result["variants"])
    picks = "".join(f"<li><b>{e(tier)}</b>: {e(p['why'])}</li>" for tier, p in result["picks"].items())
    notes = "".join(f"<li>{e(n)}</li>" for n in result["notes"] + result["skipped"])
    wan = (f"<p class='warn'>Cloud latencies include an <b>EMULATED</b> WAN delay of "
           f"{result['emulated_wan_delay_ms']:g} ms per request (slept client-side, not measured).</p>"
           if result["emulated_wan_delay_ms"] else "")
    per_op = ""
    for entry in result["per_op"].values():
        top = sorted(entry["ops"], key=lambda o: -o["avg_ms"])[:10]
        rows = "".join(f"<tr><td>{e(o['name'])}</td><td>{e(o['type'])}</td><td>{o['avg_ms']:.4f}</td>"
                       f"<td>{o['percent']:.1f}</td></tr>" for o in top)
        per_op += (f"<h3>{e(entry['label'])}</h3><div class='chart'>{per_op_chart(entry)}</div>"
                   f"<table><tr><th>op</th><th>type</th><th>ms/run</th><th>%</th></tr>{rows}</table>")
    scale = _scale_table(result.get("cloud_scale"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge Studio: cloud → edge → device</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}
th {{ background: #f0f0f0; }} td:nth-child(-n+3) {{ text-align: left; }}
tr.pick {{ background: #fff7d6; font-weight: 600; }}
.warn {{ background: #fde2e1; padding: 0.5em; border-left: 4px solid #e15759; }}
.chart svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Cloud → edge → device</h1>
<p>Package <code>{e(result['package'])}</code> · {e(machine['cpu'])} ({e(machine['arch'])}, {machine['cores']} cores) ·
{e(machine['os'])}</p>{wan}
<h2>Picks (fastest per tier, by median latency)</h2><ul>{picks}</ul>
<h2>All variants</h2><table><tr>{head}</tr>{body}</table>
<h2>Latency distributions</h2><div class="chart">{latency_chart(result)}</div>
<h2>Tiers</h2><div class="chart">{tier_chart(result)}</div>
<h2>Accuracy against speed (marker area: file size; picks ringed)</h2><div class="chart">{tradeoff_chart(result)}</div>
{scale}
<h2>Per operator (picked Lite variants)</h2>{per_op or '<p>No Lite variant was picked.</p>'}
<h2>Notes</h2><ul>{notes}</ul>
</body></html>
"""


def _scale_table(scale: dict | None) -> str:
    """The cloud tier on Ray Serve: throughput and p50/p99 per replicas × clients, and who answered."""
    if not scale:
        return ""
    e = html.escape
    rows = "".join(f"<tr><td>{r['replicas']}</td><td>{r['concurrency']}</td><td>{r['throughput_per_s']:.1f}</td>"
                   f"<td>{r['p50_ms']:.2f}</td><td>{r['p99_ms']:.2f}</td><td>{r['errors']}</td>"
                   f"<td>{e(', '.join(str(n) for n in r['per_replica'].values()))}</td></tr>" for r in scale["rows"])
    return (f"<h2>Cloud on Ray Serve</h2><p>Where: {e(scale['where'] or '?')} · {scale['machine']['cpus']} cores, "
            f"load average {scale['machine']['load_average']} at the end</p>"
            "<table><tr><th>replicas</th><th>clients</th><th>requests/s</th><th>p50 ms</th><th>p99 ms</th>"
            f"<th>errors</th><th>requests per replica</th></tr>{rows}</table>")


def to_csv(result: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = ["id", *(k for k, _, _ in COLUMNS), "file", "min_ms", "max_ms", "load_ms", "picked",
            "emulated_wan_delay_ms"]
    writer.writerow(keys)
    picked = {p["id"] for p in result["picks"].values()}
    for row in result["variants"]:
        extra = {"picked": row["id"] in picked,
                 "emulated_wan_delay_ms": result["emulated_wan_delay_ms"] if row["tier"] == "cloud" else ""}
        writer.writerow([extra.get(k, row.get(k, "")) for k in keys])
    return buffer.getvalue()


def report_paths(html_path: str | None = None, csv_path: str | None = None, json_path: str | None = None,
                 beside: bool = True) -> tuple[str | None, str | None, str | None]:
    """(html, csv, json): --report out.html also means out.json and out.csv beside it (beside=True)
    unless they are given elsewhere."""
    if html_path and beside:
        json_path = json_path or str(Path(html_path).with_suffix(".json"))
        csv_path = csv_path or str(Path(html_path).with_suffix(".csv"))
    return html_path, csv_path, json_path


def check_report_paths(*paths: str | None, force: bool = False) -> None:
    """FolderInUse for a report file that exists, unless `force`: checked before anything is written."""
    for path in paths:
        if path:
            check_new_file(path, force)


def write_all(result: dict, html_path: str | None = None, csv_path: str | None = None,
              json_path: str | None = None, beside: bool = True, force: bool = False) -> list[Path]:
    html_path, csv_path, json_path = report_paths(html_path, csv_path, json_path, beside)
    check_report_paths(html_path, csv_path, json_path, force=force)
    written = []
    if html_path:
        written.append(write_atomic(html_path, to_html(result)))
    if json_path:
        written.append(write_json(json_path, result))
    if csv_path:
        written.append(write_atomic(csv_path, to_csv(result)))
    return written
