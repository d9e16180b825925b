"""What every command shares: JSON on stdout, a rich progress bar on the terminal."""
from __future__ import annotations

import json


def print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def progress_bar(total: float, description: str):
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
    return progress, progress.add_task(description, total=total)


