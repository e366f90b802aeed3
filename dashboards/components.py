"""Value helpers shared by the dashboard pages: missing values, rates and percentages, street
names, year spans, and the message of a page whose data is not there.

The page frame (header, scope line, filters, tables, downloads) is ``dashboards.frame``; charts
are ``dashboards.charts``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboards import data


# --- shared page helpers ----------------------------------------------------------------------


def missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (a value that pd.isna cannot judge is not missing)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def street_names(streets_df: pd.DataFrame) -> dict[str, str]:
    """street_code -> street_name, in the district's street order (marts.dim_streets)."""
    return dict(zip(streets_df["street_code"].astype(str), streets_df["street_name"].astype(str)))


def plan_chain(chain: Any) -> list[str]:
    """The plan ids of an emergency plan chain "QJ-001 > JD-WL > SQ-WL-01", top first."""
    if missing(chain):
        return []
    return [part.strip() for part in str(chain).split(">") if part.strip()]


def years_text(lo: int, hi: int) -> str:
    """A span of years: "2019年" or "2016–2020年"."""
    return f"{lo}年" if lo == hi else f"{lo}–{hi}年"


def rate_pct(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator in percent, one decimal; None without a denominator."""
    if missing(denominator) or not float(denominator):
        return None
    return round(100.0 * float(numerator or 0) / float(denominator), 1)


def fmt_count(value: Any) -> str:
    """A count of people or events: whole, or one decimal when fractional; "—" when missing."""
    if missing(value):
        return "—"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


def fmt_rate(value: Any) -> str:
    """A death rate per 100 million yuan of GDP, four decimals; "—" when missing."""
    return "—" if missing(value) else f"{float(value):.4f}"


def pct(numerator: float, denominator: float) -> str:
    """numerator / denominator as "12.3%"; "—" for a zero denominator."""
    return f"{100.0 * numerator / denominator:.1f}%" if denominator else "—"


def fmt_pct(value: float | None) -> str:
    """A percentage value as "12.3%"; "—" when missing."""
    return "—" if value is None or missing(value) else f"{value:.1f}%"


DEFINITION_PREFIX = "口径："


def show_definition(relation: str, column: str, where: Any = st) -> None:
    """The definition of a figure, next to it: its column's description in the contract
    (``data.definition``), where two figures could be confused (issue 13)."""
    text = data.definition(relation, column)
    if text:
        where.caption(f"{DEFINITION_PREFIX}{text}")


def show_unavailable(exc: data.DataUnavailable) -> None:
    """The page's message when the warehouse or one of its tables is not there (or not readable)."""
    if isinstance(exc, data.WarehouseMissing):
        st.info(exc.message, icon=":material/database:")
        st.caption(f"预期的数据仓库文件：`{data.warehouse_path()}`")
    else:
        st.warning(exc.message, icon=":material/warning:")
        if exc.detail:
            with st.expander("技术详情"):
                st.code(exc.detail, language=None)
