"""After training: what the held-out split says, per class, as HTML for the Model page."""
from __future__ import annotations

from html import escape


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _stopped(reason) -> str:
    """Why training stopped, unless it simply ran its epochs ("10 epochs (epochs)" said nothing)."""
    return "" if not reason or reason == "epochs" else f" (stopped: {escape(str(reason))})"


def report_html(metrics: dict) -> str:
    """Headline (held-out vs training-set top-1, so over-fitting shows), the class-balance warnings,
    and the confusion matrix with per-class recall and precision (rows: true class)."""
    names = metrics.get("class_names") or [str(i) for i in range(metrics.get("classes", 0))]
    parts = [f"<p><b>Held-out top-1 {metrics['val_top1'] * 100:.1f} %</b> on {metrics['val_samples']} images "
             f"never trained on (training set: {metrics['train_top1'] * 100:.1f} %, "
             f"{metrics['train_samples']} images). {escape(metrics['arch'])}, {metrics['epochs']} epochs"
             f"{_stopped(metrics.get('stopped'))}, {metrics['train_seconds']:.1f} s, "
             f"{metrics['step_ms']:.0f} ms/step.</p>"]
    if metrics.get("train_top1", 0) - metrics["val_top1"] > 0.1:
        parts.append("<p style='color:#a33'>The training set scores far higher than the held-out split: "
                     "the model memorises. More, more varied images help.</p>")
    for line in metrics.get("warnings", []):
        parts.append(f"<p style='color:#a60'>⚠ {escape(line)}</p>")
    matrix = metrics.get("confusion")
    if matrix and len(names) <= 20:
        head = "".join(f"<th>{escape(n[:10])}</th>" for n in names)
        rows = []
        for true, (name, row, stats) in enumerate(zip(names, matrix, metrics["per_class"])):
            cells = "".join(
                f"<td align='right' style='{'font-weight:bold' if pred == true else ('color:#c00' if n else 'color:#bbb')}'>"
                f"{n if n or pred == true else '·'}</td>" for pred, n in enumerate(row))
            rows.append(f"<tr><th align='left'>{escape(name)}</th>{cells}<td align='right'>{_pct(stats['recall'])}</td>"
                        f"<td align='right'>{_pct(stats['precision'])}</td></tr>")
        parts.append("<p>Held-out images by true class (rows) and predicted class (columns):</p>"
                     f"<table cellspacing='0' cellpadding='3' border='1'><tr><th></th>{head}"
                     f"<th>recall</th><th>precision</th></tr>{''.join(rows)}</table>")
    return "".join(parts)
