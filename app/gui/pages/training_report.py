"""After training: what the held-out split says, per class, as HTML for the Model page."""
from __future__ import annotations

from html import escape

from app.core.models.datasets import describe_data


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _stopped(metrics: dict) -> str:
    """"budget: 52 s of 50 s"; older metrics.json files carry only the detail."""
    reason, detail = metrics.get("stop_reason"), str(metrics.get("stopped", ""))
    return f"{reason}: {detail}" if reason and reason != detail else detail


def _stopped_note(metrics: dict) -> str:
    """" (stopped by …)", unless training simply ran its epochs ("10 epochs (epochs)" said nothing)."""
    reason = metrics.get("stop_reason") or metrics.get("stopped")
    return "" if not reason or reason == "epochs" else f" (stopped by {escape(_stopped(metrics))})"


def _data_summary(metrics: dict) -> dict:
    return {"classes": metrics["class_counts"], "color": metrics.get("color", "?"),
            "input_size": metrics["input_size"], "image_sizes": metrics["image_sizes"],
            "train_samples": metrics["train_samples"], "val_samples": metrics["val_samples"]}


def report_html(metrics: dict) -> str:
    """Headline (held-out vs training-set top-1, so over-fitting shows), the class-balance warnings,
    and the confusion matrix with per-class recall and precision (rows: true class)."""
    names = metrics.get("class_names") or [str(i) for i in range(metrics.get("classes", 0))]
    parts = [f"<p><b>Held-out top-1 {metrics['val_top1'] * 100:.1f} %</b> on {metrics['val_samples']} images "
             f"never trained on (training set: {metrics['train_top1'] * 100:.1f} %, "
             f"{metrics['train_samples']} images). {escape(metrics['arch'])}, {metrics['epochs']} epochs"
             f"{_stopped_note(metrics)}, {metrics['train_seconds']:.1f} s, "
             f"{metrics['step_ms']:.0f} ms/step.</p>"]
    for line in metrics.get("warnings", []):  # first: they say what to change
        parts.append(f"<p style='color:#a60'>⚠ {escape(line)}</p>")
    if metrics.get("train_top1", 0) - metrics["val_top1"] > 0.1:
        parts.append("<p style='color:#a33'>The training set scores far higher than the held-out split: "
                     "the model memorises. More, more varied images help.</p>")
    if metrics.get("image_sizes"):
        parts.append(f"<p>Data: {escape(describe_data(_data_summary(metrics)))}.</p>")
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
