"""`fmtui runs` and `fmtui compare`: past runs as a table, and side by side with their curves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import plotext as plt
from rich.table import Table
from rich.text import Text

from core.errors import FmtuiError, RecordError
from core.records import RunRecord, effective_status, list_runs, open_run
from tui import format as fmt
from tui.streams import console

out = console()  # run ids, presets and paths are printed as they are, never read as markup

STATUS_STYLE = {"finished": "green", "stopped": "yellow", "interrupted": "yellow", "running": "cyan",
                "diverged": "red", "failed": "red", "killed": "red", "unreadable": "red"}


def _summary(record: RunRecord) -> dict[str, Any]:
    """The run's summary with its effective status (running, killed, ...); RecordError if unreadable."""
    summary = record.read_summary()
    return {**summary, "status": effective_status(summary, record.path)}


def _listed(record: RunRecord) -> dict[str, Any]:
    """As _summary, but an unreadable record is listed as such, with why."""
    try:
        return _summary(record)
    except RecordError as exc:
        return {"status": "unreadable", "error": str(exc)}


def _status(summary: dict[str, Any]) -> Text:
    status = summary["status"]
    return Text(status, style=STATUS_STYLE.get(status.split()[0], "white"))


def list_runs_command(runs_dir: Path) -> int:
    records = list_runs(runs_dir)
    if not records:
        out.print(f"No runs in {runs_dir} yet: start one with `fmtui train --preset linear` or `fmtui`.")
        return 0
    table = Table(title=Text(f"Runs in {runs_dir}"), title_justify="left", box=None, pad_edge=False,
                  header_style="bold underline")
    for header in ("started", "preset", "status", "epochs", "best val", "test", "duration"):
        table.add_column(header, no_wrap=True, justify="right" if header not in ("preset", "status") else "left")
    table.add_column("run directory", overflow="fold")
    problems = []
    for record in records:
        s = _listed(record)
        if s["status"] == "unreadable":
            problems.append(s["error"])
        started, preset, _, *rest = fmt.run_cells(s)
        table.add_row(started, preset, _status(s), *rest, record.run_id)
    out.print(table)
    if problems:  # listed above as unreadable; here is why, file by file
        raise RecordError("some run records cannot be read:\n" + "\n".join(problems))
    return 0


def compare_command(run_dirs: list[Path]) -> int:
    records = [open_run(path) for path in run_dirs]
    # Unlike the listing, a comparison needs every run it names: an unreadable one is an error naming it.
    summaries = [_summary(r) for r in records]
    histories = [r.read_history() for r in records]
    table = Table("", *[r.run_id for r in records], title="Runs side by side", title_justify="left")
    rows: list[tuple[str, Any]] = [
        ("preset", lambda s, h: s.get("preset", "?")),
        ("model", lambda s, h: s.get("model", "?")),
        ("parameters", lambda s, h: f"{s['parameters']:,}" if s.get("parameters") else "–"),
        ("status", lambda s, h: _status(s)),
        ("epochs", lambda s, h: f"{s.get('epochs', 0)}/{s.get('epochs_planned', '?')}"),
        ("best epoch", lambda s, h: str(s.get("best_epoch") or "–")),
        ("best val accuracy", lambda s, h: fmt.percent(s.get("best_val_accuracy"))),
        ("test accuracy", lambda s, h: fmt.percent(s.get("test_accuracy"))),
        ("final train accuracy", lambda s, h: fmt.percent(h[-1]["train_accuracy"]) if h else "–"),
        ("duration", lambda s, h: fmt.duration(s.get("duration_seconds"))),
        ("images/s", lambda s, h: fmt.rate(h[-1]["images_per_second"]) if h else "–"),
        ("device", lambda s, h: s.get("device", "?")),
    ]
    for label, value in rows:
        table.add_row(label, *[value(s, h) for s, h in zip(summaries, histories)])
    out.print(table)
    if not any(histories):
        raise FmtuiError("none of these runs has a completed epoch, so there are no curves to draw.")
    sys.stdout.write(accuracy_chart(records, histories, width=min(out.width, 100)) + "\n")
    return 0


def accuracy_chart(records: list[RunRecord], histories: list[list[dict[str, Any]]], width: int = 80,
                   height: int = 18) -> str:
    """Validation accuracy per epoch of each run, overlaid, as terminal text."""
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("pro" if sys.stdout.isatty() else "clear")
    for record, history in zip(records, histories):
        if history:
            plt.plot([row["epoch"] for row in history], [row["val_accuracy"] * 100 for row in history],
                     label=record.run_id, marker="braille")
    longest = max(len(h) for h in histories)
    plt.xticks(list(range(1, longest + 1, max(1, longest // 12))))
    plt.title("validation accuracy (%) per epoch")
    plt.xlabel("epoch")
    text = plt.build()
    plt.clf()
    return text if sys.stdout.isatty() else plt.uncolorize(text)
