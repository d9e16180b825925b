"""Quantize page: where INT8 hurts (per-node error, worst first), what keeping nodes in float buys
(sensitivity and the search), and every variant on one accuracy–latency chart, marker size = file size,
with the Pareto front. A click on a node's bar shows its numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.charts import PointLabels
from app.gui.job_controls import JobControls
from app.gui.state import SAMPLE_MODEL, AppState
from app.gui.theme import ACCENT, label_axes, legend_html, set_title, titled_chart
from app.gui.workers import JobRunner
from jobs.state import JobState

NODE_COLUMNS = ("rank", "node", "type", "cosine", "SNR dB", "adds dB")
VARIANT_COLUMNS = ("variant", "size KiB", "metric", "cosine", "latency ms", "Pareto", "pick")
GOOD, BAD, GREY = "#2e9d5b", "#d9534f", "#b0b0b0"
# the graph view's colourings: label -> node field (red = the highest value)
COLOUR_BY = {"INT8 error it adds (dB)": "added_db", "INT8 latency (ms)": "int8_ms", "FP32 latency (ms)": "fp32_ms"}


def quant_debug_job(state: JobState, model: str, target: float, top_k: int):
    from app.core.models.quantize import data_for, quant_debug, resolve_source

    src, data = resolve_source(model)
    data = data or data_for(src)
    return quant_debug(src, data, top_k=top_k, target=target, max_float=4, state=state)


class QuantizePage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.report = state, None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.model = QComboBox()
        self.model.setObjectName("quantModel")
        self.model.addItems(["digits", "face"])
        self.model.setEditable(True)  # or a source model's path
        self.model.setToolTip("The active model, a sample (digits, face) or the path of a source model (.onnx, "
                              ".tflite) described in Your models")
        state.model_changed.connect(self.offer_active)
        self.offer_active()
        self.target = QDoubleSpinBox()
        self.target.setRange(0.0, 50.0)
        self.target.setValue(0.5)
        self.target.setSuffix(" pt from FP32")
        self.target.setToolTip("The search keeps nodes in float until the metric is this close to FP32")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setValue(3)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("Candidates re-quantized with that one node in float (sensitivity)")
        self.limits = {}
        for key, label, suffix, top in (("max_latency_ms", "max latency", " ms", 10000.0),
                                        ("max_size_kib", "max size", " KiB", 1e6), ("min_metric", "min metric", "", 100.0)):
            box = QDoubleSpinBox()
            box.setRange(0.0, top)
            box.setDecimals(2)
            box.setSpecialValueText("no limit")  # 0 = no limit
            box.setSuffix(suffix)
            box.setMaximumWidth(120)  # three in a row fit an 800×600 screen
            box.setToolTip(f"Pick per tier: {label} (0 = no limit); changes the picks without running again")
            box.valueChanged.connect(self._limits_changed)
            self.limits[key] = box
        for widget in (QLabel("Model"), self.model, QLabel("Target"), self.target, self.top_k):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout.addLayout(controls)
        limits = QHBoxLayout()  # a row of their own: beside the rest they pushed the page past 1024 px
        limits.addWidget(QLabel("Pick within"))
        for (key, box), label in zip(self.limits.items(), ("latency", "size", "metric ≥")):
            limits.addWidget(QLabel(label))
            limits.addWidget(box)
        limits.addStretch(1)
        layout.addLayout(limits)
        self.controls = JobControls(runner, "Find the layers INT8 hurts", error_title="Quantization debug failed",
                                    object_name="quantDebug")
        self.controls.start_button.clicked.connect(self.run)
        layout.addWidget(self.controls)
        self.summary = QLabel("Converts FP32 and INT8, runs both with every kernel's output kept, and ranks the "
                              "nodes by the error each adds.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        grid = QGridLayout()
        self.nodes = QTableWidget(0, len(NODE_COLUMNS))
        self.nodes.setHorizontalHeaderLabels(NODE_COLUMNS)
        self.nodes.verticalHeader().setVisible(False)
        self.variants = QTableWidget(0, len(VARIANT_COLUMNS))
        self.variants.setHorizontalHeaderLabels(VARIANT_COLUMNS)
        self.variants.verticalHeader().setVisible(False)
        self.graph = titled_chart("The graph — click a node for its numbers")
        label_axes(self.graph, ("depth from the input", "nodes"), ("", ""))
        self.graph.getAxis("left").setTicks([[]])
        self.colour_by = QComboBox()
        self.colour_by.setObjectName("graphColour")
        self.colour_by.addItems(list(COLOUR_BY))
        self.colour_by.currentTextChanged.connect(self._recolour)
        self.tradeoff = titled_chart("Accuracy vs latency — bigger marker, bigger file")
        self.tradeoff.setLogMode(x=True)
        self.legend = QLabel(legend_html([("the highest", BAD), ("the lowest", GOOD), ("moves values only / input", GREY),
                                          ("Pareto front", ACCENT), ("tier pick ★", "#f2c200")]))
        self.node_info = QLabel("")
        self.node_info.setObjectName("nodeInfo")
        self.node_info.setWordWrap(True)  # unwrapped, a node's line widened the page past the window
        grid.addWidget(self.nodes, 0, 0)
        grid.addWidget(self.variants, 0, 1)
        legend_row = QHBoxLayout()
        legend_row.addWidget(QLabel("Colour the graph by"))
        legend_row.addWidget(self.colour_by)
        self.legend.setWordWrap(True)
        legend_row.addWidget(self.legend, 1)
        grid.addLayout(legend_row, 1, 0, 1, 2)
        grid.addWidget(self.graph, 2, 0)
        grid.addWidget(self.tradeoff, 2, 1)
        grid.addWidget(self.node_info, 3, 0, 1, 2)
        self.picks_label = QLabel("")
        self.picks_label.setWordWrap(True)
        grid.addWidget(self.picks_label, 4, 0, 1, 2)
        for plot in (self.graph, self.tradeoff):
            plot.setMinimumHeight(240)
        layout.addLayout(grid, 1)
        self._graph_nodes: list[dict] = []
        self.tradeoff_labels = PointLabels(self.tradeoff)
        self.graph_labels = PointLabels(self.graph)

    def offer_active(self) -> None:
        """The active model first in the list, chosen (the sample is "digits")."""
        active = self.model.findData("active")
        if active >= 0:
            self.model.removeItem(active)
        if self.state.model_dir == SAMPLE_MODEL:
            self.model.setCurrentIndex(self.model.findText("digits"))
            return
        self.model.insertItem(0, f"{self.state.model_name} (active)", "active")
        self.model.setItemData(0, str(self.state.model_path), Qt.ItemDataRole.ToolTipRole)
        self.model.setCurrentIndex(0)

    def chosen_model(self) -> str:
        """What quant-debug is given: the active model's file, a sample's name, or the path typed in."""
        text = self.model.currentText().strip()
        index = self.model.findText(text)
        if index >= 0 and self.model.itemData(index) == "active":
            return str(self.state.model_path)
        return text

    def _recolour(self) -> None:
        if self.report is not None:
            self._draw_graph(self.report)

    def constraints(self) -> dict:
        return {k: box.value() for k, box in self.limits.items() if box.value() > 0}

    def _limits_changed(self) -> None:
        if self.report is not None:
            self._fill_variants(self.report)

    def run(self) -> None:
        self.controls.run(quant_debug_job, on_done=self.show_report, model=self.chosen_model(),
                          target=self.target.value(), top_k=self.top_k.value())

    def show_report(self, report) -> None:
        self.report = report
        fp32, int8 = report.variants[:2]
        search = report.search or {}
        found = ", ".join(search.get("float_nodes", [])) or "none needed"
        verdict = "reached" if search.get("reached") else f"not reached, {search.get('gap', 0):.2f} pt short"
        warning = report.calibration.get("warning")
        self.summary.setText(
            (f"<b style='color:{BAD}'>Calibration: {warning}</b><br>" if warning else "")
            + f"{Path(report.model).name} — {report.data} ({report.calibration['samples']} calibration samples, "
            f"{report.calibration['method']}). {report.metric_name}: FP32 {fp32.metric:.2f}, INT8 {int8.metric:.2f}. "
            f"Worst nodes: {', '.join(report.worst())}. Search for ≥ {search.get('target', 0):.2f}: {verdict} — "
            f"float nodes: {found}.")
        self._fill_nodes(report)
        self._fill_variants(report)
        self._draw_graph(report)

    def _fill_nodes(self, report) -> None:
        rows = sorted(report.nodes, key=lambda n: n["rank"])
        self.nodes.setRowCount(len(rows))
        for r, n in enumerate(rows):
            values = (n["rank"], n["name"], n["type"], f"{n['cosine']:.5f}", f"{n['snr_db']:.1f}", f"{n['added_db']:.1f}")
            for c, value in enumerate(values):
                self.nodes.setItem(r, c, QTableWidgetItem(str(value)))
        self.nodes.resizeColumnsToContents()

    def _fill_variants(self, report) -> None:
        from app.core.models.quantize import pareto

        points = [(max(v.latency_ms, 1e-3), v.metric) for v in report.variants]
        front = pareto(points)
        picks = report.picks(**self.constraints())
        picked = {p["variant"]: tier for tier, p in picks.items() if p["variant"]}
        self.pick_text = " · ".join(f"{tier}: {p['variant'] or 'none'} ({p['why']})" for tier, p in picks.items())
        self.variants.setRowCount(len(report.variants))
        for r, v in enumerate(report.variants):
            values = (v.name, f"{v.size_bytes / 1024:.1f}", f"{v.metric:.2f}", f"{v.cosine:.5f}",
                      f"{v.latency_ms:.2f}", "yes" if r in front else "", picked.get(v.name, ""))
            for c, value in enumerate(values):
                self.variants.setItem(r, c, QTableWidgetItem(value))
        self.variants.resizeColumnsToContents()
        self.tradeoff.clear()
        label_axes(self.tradeoff, ("latency, 1 thread", "ms, log scale"), (report.metric_name, ""))
        sizes = np.array([v.size_bytes for v in report.variants], float)
        diameters = 8 + 30 * np.sqrt(sizes / sizes.max())
        log_x = np.log10([p[0] for p in points])
        for (x, y), d, v in zip(zip(log_x, (p[1] for p in points)), diameters, report.variants):
            colour = ACCENT if v.name == "fp32" else BAD if v.name == "int8" else "#8e6bb8" if v.name == "fp16" else GOOD
            self.tradeoff.addItem(pg.ScatterPlotItem([x], [y], size=d, brush=pg.mkBrush(colour + "aa"), pen=None,
                                                     hoverable=True, tip=lambda v=v, **_: _variant_tip(v)))
        self.tradeoff.plot([log_x[i] for i in front], [points[i][1] for i in front], pen=pg.mkPen(ACCENT, width=2))
        for r, v in enumerate(report.variants):  # the tier picks: a star on top of the marker
            if v.name in picked:
                self.tradeoff.addItem(pg.ScatterPlotItem([log_x[r]], [points[r][1]], symbol="star", size=18,
                                                         brush=pg.mkBrush("#f2c200"), pen=pg.mkPen("#444")))
        self.tradeoff_labels.set([(x, y, v.name if len(v.name) < 28 else v.name[:26] + "…", d / 2)
                                  for x, y, v, d in zip(log_x, (p[1] for p in points), report.variants, diameters)])
        self.picks_label.setText(f"Picks — {self.pick_text}")

    def _draw_graph(self, report) -> None:
        """The graph: one dot per node, columns by depth from the input, lines from producer to consumer,
        coloured by the chosen measure (red = the highest)."""
        from app.core.models.quantize import is_candidate

        nodes = self._graph_nodes = report.nodes
        self.graph.clear()
        if not nodes:
            return
        index = {n["name"]: i for i, n in enumerate(nodes)}
        depth: dict[str, int] = {}
        for n in nodes:  # execution order: producers come first
            depth[n["name"]] = 1 + max((depth[i] for i in n["inputs"] if i in depth), default=-1)
        slots: dict[int, int] = {}
        pos = np.zeros((len(nodes), 2))
        for i, n in enumerate(nodes):
            d = depth[n["name"]]
            pos[i] = (d, -slots.get(d, 0))
            slots[d] = slots.get(d, 0) + 1
        pairs = [(index[p], i) for i, n in enumerate(nodes) for p in n["inputs"] if p in index]
        edges = np.array(pairs, dtype=int).reshape(-1, 2)
        key = COLOUR_BY[self.colour_by.currentText()]
        grey = [key == "added_db" and not is_candidate(n) for n in nodes]  # never worth keeping in float
        values = np.array([0.0 if g else float(n.get(key, 0.0)) for n, g in zip(nodes, grey)])
        top = values.max() or 1.0
        brushes = [pg.mkBrush(GREY if g else _blend(GOOD, BAD, v / top)) for v, g in zip(values, grey)]
        item = pg.GraphItem(pos=pos, adj=edges, size=16 if len(nodes) < 40 else 11, symbolBrush=brushes,
                            pen=pg.mkPen("#888", width=1), symbolPen=pg.mkPen("#333"), hoverable=True,
                            tip=lambda x, y, data: nodes[int(data)]["name"] if data is not None else "",
                            data=list(range(len(nodes))))
        self.graph.addItem(item)
        self.graph.setYRange(pos[:, 1].min() - 1, 1)  # a chain sits mid-height, not on the axis
        item.scatter.sigClicked.connect(lambda _plot, points, _ev: self.show_node(points[0].index()))
        # names where they fit beside their dot without covering another name; a hover names the rest
        self.graph_labels.set([(*pos[i], n["name"][:16]) for i, n in enumerate(nodes)] if len(nodes) <= 60 else [])
        set_title(self.graph, f"{self.colour_by.currentText()} — click a node")

    def show_node(self, index: int) -> None:
        n = self._graph_nodes[index]
        out = n["outputs"][0]
        self.node_info.setText(
            f"<b>{n['name']}</b> ({n['type']}, {'INT8' if n.get('int8') else 'float'} in the INT8 model) — "
            f"cosine {out['cosine']:.5f} (worst input {out['worst_cosine']:.5f}), SNR {out['snr_db']:.1f} dB, "
            f"relative MSE {out['rel_mse']:.3g}, adds {n['added_db']:.1f} dB, rank {n['rank']}; "
            f"fed by {', '.join(n['inputs']) or 'the input'}"
            + (f"; {n['fp32_ms'] * 1000:.1f} µs FP32, {n['int8_ms'] * 1000:.1f} µs INT8 (with its casts)"
               if "fp32_ms" in n else ""))


def _variant_tip(v) -> str:
    return f"{v.name}: {v.metric:.2f}, {v.latency_ms:.2f} ms, {v.size_bytes / 1024:.1f} KiB"


def _blend(a: str, b: str, t: float) -> str:
    t = float(min(max(t, 0.0), 1.0))
    ca, cb = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in (a, b))
    return "#" + "".join(f"{round(v):02x}" for v in ca + (cb - ca) * t)
