"""Print benchmark rows as an aligned table (and as Markdown with --markdown)."""

from __future__ import annotations

from collections.abc import Sequence


def fmt(value: object, unit: object) -> str:
    if isinstance(value, float):
        if unit == "s":
            if 0 < value < 0.001:
                return f"{value * 1e6:.1f} us"
            return f"{value * 1000:.1f} ms"
        return f"{value:.3f} {unit}".strip()
    return f"{value} {unit}".strip()


def print_rows(rows: Sequence[dict[str, object]], markdown: bool = False) -> None:
    table = []
    for row in rows:
        ratio = row.get("ratio")
        target = row.get("target")
        verdict = ""
        if isinstance(ratio, float) and isinstance(target, float):
            verdict = "ok" if ratio <= target else "OVER TARGET"
        table.append(
            (
                str(row["benchmark"]),
                fmt(row["value"], row.get("unit", "")),
                f"{ratio:.2f}x" if isinstance(ratio, float) else "",
                f"<= {target}x" if isinstance(target, float) else "",
                verdict,
            )
        )
    header = ("benchmark", "value", "ratio", "target", "")
    if markdown:
        print("| " + " | ".join((*header[:4], "verdict")) + " |")
        print("|" + "---|" * 5)
        for cells in table:
            print("| " + " | ".join(cells) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(5)]
    for cells in [header, *table]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip())
