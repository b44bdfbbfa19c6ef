"""Pictures of the store for people who look before they read: images per class and per license."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def bar_chart(rows: Sequence[tuple[str, int]], title: str, xlabel: str, out: Path) -> Path:
    """A horizontal bar chart of (label, count) rows, largest first, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    height = max(2.5, 0.28 * len(rows) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height))
    try:
        bars = ax.barh(labels, values, color="#3b7dd8")
        ax.bar_label(bars, padding=3, fontsize=8)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="y", labelsize=8)
        if not rows:
            ax.text(0.5, 0.5, "no stored images yet", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    finally:
        plt.close(fig)
    return out
