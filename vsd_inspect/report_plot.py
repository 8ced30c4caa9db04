"""The report's PNG: each row's pass rate with its interval, against the target band, and
below it a panel of the paired differences (A - B) with theirs, against zero.

matplotlib is an optional extra, imported only here and only when a plot is asked for, with
the Agg backend so it draws on a machine without a display. Each row gets a pale bar for
its interval and a dark bar for its pass rate: a 0 % rate still shows as a bar (its
interval), so a do-nothing policy is visibly measured rather than missing from the chart.
A pair's interval is coloured by its verdict: a decided pair's bar clears the zero line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vsd_inspect.report_stats import CONFIDENCE, TARGET_BAND

if TYPE_CHECKING:
    from vsd_inspect.report import Row
    from vsd_inspect.report_compare import Pair

ROW_HEIGHT_INCHES = 0.55
VERDICT_COLOURS = {"A better": "#2ca02c", "B better": "#d62728", "undecided": "#bdbdbd"}


class MissingMatplotlib(ImportError):
    """The `plot` extra is not installed."""


def load_pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or MissingMatplotlib."""
    try:
        import matplotlib
    except ImportError as ex:
        raise MissingMatplotlib(str(ex)) from ex
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(row: Row, shown: list[Row]) -> str:
    """The model, plus whichever of difficulty, variant and version tell the bars apart."""
    parts = [row.model]
    if len({r.difficulty for r in shown}) > 1:
        parts.append(row.difficulty)
    if row.variant:
        parts.append(row.variant)
    if len({r.task_version for r in shown}) > 1:
        parts.append(f"v{row.task_version}")
    return " · ".join(parts)


def _pair_label(pair: Pair, shown: list[Pair]) -> str:
    parts = [f"{pair.model_a} − {pair.model_b}"]
    if len({p.difficulty for p in shown}) > 1:
        parts.append(pair.difficulty)
    if len({p.task_version for p in shown}) > 1:
        parts.append(f"v{pair.task_version}")
    return " · ".join(parts)


def _draw_rows(ax: Any, shown: list[Row]) -> list[str]:
    lo_edge, hi_edge = TARGET_BAND
    band = f"target band {100 * lo_edge:.0f}–{100 * hi_edge:.0f} %"
    ax.axvspan(100 * lo_edge, 100 * hi_edge, color="#2ca02c", alpha=0.12, label=band)
    for edge in TARGET_BAND:  # the band's edges stay visible over the interval bars
        ax.axvline(100 * edge, color="#2ca02c", linestyle="--", linewidth=1, zorder=4)
    y = list(range(len(shown)))[::-1]
    ax.barh(y, [100 * (r.ci_high - r.ci_low) for r in shown], left=[100 * r.ci_low for r in shown], height=0.6,
            color="#9ecae1", label=f"{100 * CONFIDENCE:.0f} % interval")  # fmt: skip
    rates = [100 * r.pass_rate for r in shown]
    ax.barh(y, rates, height=0.3, color="#08519c", label="pass rate")
    ax.scatter(rates, y, marker="|", s=400, linewidths=3, color="#08519c", zorder=3, clip_on=False)
    for yi, r in zip(y, shown):
        n = f"n = {r.samples} × {r.epochs[1]}, n_eff {r.effective_n:.0f}" + (f", {r.errors} errors" if r.errors else "")
        ax.text(101, yi, f"{100 * r.pass_rate:.0f} %  [{100 * r.ci_low:.0f}–{100 * r.ci_high:.0f}]  {r.band}  ({n})",
                va="center", fontsize=9)  # fmt: skip
    labels = [_label(r, shown) for r in shown]
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (%)")
    versions = ", ".join(sorted({r.task_version for r in shown}))
    difficulties = ", ".join(sorted({r.difficulty for r in shown}))
    ax.set_title(f"vsd_dropout pass rate by model (task version {versions}; {difficulties})")
    below_axis = -0.12 - 0.3 / max(1, len(shown))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, below_axis), ncol=3, frameon=False, fontsize=9)
    return labels


def _draw_pairs(ax: Any, pairs: list[Pair]) -> list[str]:
    ax.axvline(0, color="#333333", linewidth=1, zorder=4)
    y = list(range(len(pairs)))[::-1]
    colours = [VERDICT_COLOURS.get(p.verdict, "#bdbdbd") for p in pairs]
    ax.barh(y, [100 * (p.ci_high - p.ci_low) for p in pairs], left=[100 * p.ci_low for p in pairs], height=0.6,
            color=colours, alpha=0.55)  # fmt: skip
    ax.scatter([100 * p.difference for p in pairs], y, marker="|", s=400, linewidths=3, color="#252525", zorder=3)
    for yi, p in zip(y, pairs):
        ax.text(101, yi, f"{100 * p.difference:+.0f} pp  [{100 * p.ci_low:+.0f}, {100 * p.ci_high:+.0f}]  {p.verdict}  "
                f"({p.samples} shared, {p.clusters} {p.cluster_unit}s)", va="center", fontsize=9)  # fmt: skip
    labels = [_pair_label(p, pairs) for p in pairs]
    ax.set_yticks(y, labels)
    ax.set_xlim(-100, 100)
    ax.set_xlabel(f"paired difference A − B (percentage points), {100 * CONFIDENCE:.0f} % interval")
    ax.set_title("paired differences on shared samples (green: A better, red: B better, grey: undecided)")
    return labels


def plot_rows(rows: list[Row], path: str, pairs: list[Pair] | tuple = ()) -> list[str]:
    """Draw report rows (best first, top down), and the pairs below them, to a PNG at `path`;
    returns the row labels drawn."""
    plt = load_pyplot()
    shown = [r for r in rows if r.pass_rate is not None]
    pairs = list(pairs)
    heights = [1.6 + ROW_HEIGHT_INCHES * max(1, len(shown))] + [1.4 + ROW_HEIGHT_INCHES * len(pairs)] * bool(pairs)
    fig, axes = plt.subplots(len(heights), 1, figsize=(9, sum(heights) + 0.6 * bool(pairs)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)  # fmt: skip
    labels = _draw_rows(axes[0][0], shown)
    if pairs:
        _draw_pairs(axes[1][0], pairs)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return labels
