"""Small building blocks shared by the dashboard pages.

* ``download_buttons``: CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and XLSX of a
  table, both with Chinese headers.
* Filters kept in the URL (same convention as 总览: ``?streets=WL,TS&from=2017&to=2020``):
  ``street_filter`` (multiselect of streets), ``period_filter`` (years as a slider, or dates as a
  date range), ``select_filter`` (one choice with an "all" entry, e.g. a department).

Each filter seeds its widget state from the URL on the first run of the page, keeps it valid on
later runs and writes it back to the URL; a filter at its default is left out of the URL so that
a plain link follows new data. Call a filter where its widget should appear (e.g. inside
``with st.sidebar:``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from dashboards import data

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UTF8_BOM = b"\xef\xbb\xbf"
ALL = ""  # the "all" entry of select_filter (kept out of the URL)

QP_STREETS = "streets"
QP_FROM = "from"
QP_TO = "to"

T = TypeVar("T")


# --- downloads --------------------------------------------------------------------------------


def _export_frame(df: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    """The columns named in ``headers`` (in their order, others dropped), renamed to Chinese.

    Columns already carrying the Chinese header are kept as they are. Time zone aware
    timestamps become naive (Excel has no time zones).
    """
    out = pd.DataFrame(index=df.index)
    for column, header in headers.items():
        if column in df.columns:
            out[header] = df[column]
        elif header in df.columns:
            out[header] = df[header]
    if not headers:
        out = df.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_localize(None)
    return out.reset_index(drop=True)


def csv_bytes(df: pd.DataFrame, headers: Mapping[str, str]) -> bytes:
    """CSV with Chinese headers, UTF-8 with a byte order mark (Excel's cue for UTF-8)."""
    text = _export_frame(df, headers).to_csv(index=False, lineterminator="\r\n")
    return UTF8_BOM + text.encode("utf-8")


def _sheet_name(name: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "数据"
    return cleaned[:31]


def xlsx_bytes(df: pd.DataFrame, headers: Mapping[str, str], sheet_name: str = "数据") -> bytes:
    """An XLSX workbook (openpyxl) with one sheet, Chinese headers, header row frozen."""
    frame = _export_frame(df, headers)
    buffer = io.BytesIO()
    sheet = _sheet_name(sheet_name)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet)
        ws = writer.sheets[sheet]
        ws.freeze_panes = "A2"
        # Text that starts like a formula (delivered =HYPERLINK(...)) stays text in Excel.
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        for i, column in enumerate(frame.columns, start=1):
            values = [str(column)] + [str(v) for v in frame[column].head(200).tolist()]
            # CJK characters take about two character widths.
            width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in values)
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(max(width + 2, 8), 60)
    return buffer.getvalue()


def _record_download(file_name: str, rows: int) -> None:
    """The sign-in audit log records every download (who, from where, which file)."""
    from dashboards import auth

    auth.record_download(file_name, rows)


def download_buttons(
    df: pd.DataFrame,
    filename_stem: str,
    headers: dict[str, str],
    *,
    key: str | None = None,
    sheet_name: str | None = None,
) -> None:
    """Two download buttons side by side: CSV (UTF-8 with BOM) and XLSX, with Chinese headers.

    ``headers`` maps the columns of ``df`` to their Chinese headers and fixes the exported
    columns and their order. ``key`` (default: ``filename_stem``) keeps the buttons of several
    tables on one page apart. Each download is recorded in the sign-in audit log.
    """
    key = key or filename_stem
    left, right, _ = st.columns([1, 1, 4], gap="small")
    with left:
        st.download_button(
            "下载 CSV",
            data=csv_bytes(df, headers),
            file_name=f"{filename_stem}.csv",
            mime=CSV_MIME,
            key=f"{key}__csv",
            icon=":material/download:",
            on_click=_record_download,
            args=(f"{filename_stem}.csv", len(df)),
            help="UTF-8（带 BOM）编码，可直接用 Excel 打开",
        )
    with right:
        st.download_button(
            "下载 Excel",
            data=xlsx_bytes(df, headers, sheet_name or filename_stem),
            file_name=f"{filename_stem}.xlsx",
            mime=XLSX_MIME,
            key=f"{key}__xlsx",
            icon=":material/table_view:",
            on_click=_record_download,
            args=(f"{filename_stem}.xlsx", len(df)),
        )


# --- URL helpers ------------------------------------------------------------------------------


def _set_query_param(name: str, value: str | None) -> None:
    """Write one URL parameter (``None`` removes it); untouched when already right."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def _parse_year(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _parse_date(raw: Any, *, end: bool = False) -> dt.date | None:
    """``YYYY-MM-DD``, or a bare year ``YYYY`` (its first day, or its last day when ``end``)."""
    if raw is None:
        return None
    text = str(raw).strip()
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 12, 31) if end else dt.date(int(text), 1, 1)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _clamp(value: T, lo: T, hi: T) -> T:
    return min(max(value, lo), hi)  # type: ignore[type-var]


# --- filters ----------------------------------------------------------------------------------


def street_filter(
    streets_df: pd.DataFrame,
    *,
    key: str,
    param: str = QP_STREETS,
    label: str = "街道",
    placeholder: str = "全部街道（全区）",
    help: str | None = None,
) -> list[str]:
    """Multiselect of streets (``street_code``/``street_name`` columns), kept in ``?streets=WL,TS``.

    Returns the selected street codes in the order of ``streets_df``; empty means every street.
    Unknown or repeated codes in the URL are dropped; codes are case-insensitive.
    """
    codes = streets_df["street_code"].astype(str).tolist()
    names = dict(zip(codes, streets_df["street_name"].astype(str)))
    # Sign-in (dashboards.auth): a street office is offered its own street only, and an empty
    # selection means its streets, never the whole district.
    allowed = _allowed_streets()
    if allowed is not None:
        codes = [c for c in codes if c in allowed]
        placeholder = "、".join(names.get(c, c) for c in allowed)
    if key not in st.session_state:
        raw = st.query_params.get(param, "")
        wanted = [c.strip().upper() for c in str(raw).split(",") if c.strip()]
    else:
        wanted = list(st.session_state[key])
    valid = [c for c in dict.fromkeys(wanted) if c in codes]
    if st.session_state.get(key) != valid:
        st.session_state[key] = valid
    selected = st.multiselect(
        label,
        options=codes,
        format_func=lambda code: names.get(code, code),
        key=key,
        placeholder=placeholder,
        help=help,
    )
    selected = [c for c in codes if c in set(selected)]
    _set_query_param(param, ",".join(selected) if selected else None)
    if allowed is not None and not selected:
        return codes or list(allowed)
    return selected


def _allowed_streets() -> list[str] | None:
    """Streets the signed-in user may see (None: every street)."""
    from dashboards import auth

    return auth.allowed_streets(auth.current_user())


def period_filter(
    bounds: tuple[int, int] | tuple[dt.date, dt.date],
    *,
    key: str,
    label: str,
    param_from: str = QP_FROM,
    param_to: str = QP_TO,
    help: str | None = None,
) -> tuple[Any, Any]:
    """A period between ``bounds`` (both ends included), kept in ``?from=…&to=…``.

    Whole years (``bounds`` of ints) give a year slider and ``from=2017&to=2020``; dates give a
    date-range picker and ``from=2024-01-01&to=2024-03-31`` (a bare year is accepted in the URL).
    Out-of-range or unreadable values are clamped or fall back to the bounds. Returns
    ``(lo, hi)`` of the same type as ``bounds``; the full range is left out of the URL.
    """
    b_lo, b_hi = sorted(bounds)
    if isinstance(b_lo, dt.date):
        lo, hi = _date_period(b_lo, b_hi, key=key, label=label, param_from=param_from,
                              param_to=param_to, help=help)
        lo_text, hi_text = lo.isoformat(), hi.isoformat()
    else:
        lo, hi = _year_period(int(b_lo), int(b_hi), key=key, label=label, param_from=param_from,
                              param_to=param_to, help=help)
        lo_text, hi_text = str(lo), str(hi)
    full = (lo, hi) == (b_lo, b_hi)
    _set_query_param(param_from, None if full else lo_text)
    _set_query_param(param_to, None if full else hi_text)
    return lo, hi


def _year_period(
    y_min: int, y_max: int, *, key: str, label: str, param_from: str, param_to: str, help: str | None
) -> tuple[int, int]:
    if key not in st.session_state:
        lo = _parse_year(st.query_params.get(param_from))
        hi = _parse_year(st.query_params.get(param_to))
        lo, hi = (y_min if lo is None else lo), (y_max if hi is None else hi)
    else:
        lo, hi = st.session_state[key]
    lo, hi = sorted((_clamp(int(lo), y_min, y_max), _clamp(int(hi), y_min, y_max)))
    if y_min == y_max:
        st.caption(f"{label}：{y_min}年（仅有一年数据）")
        return y_min, y_max
    if st.session_state.get(key) != (lo, hi):
        st.session_state[key] = (lo, hi)
    lo, hi = st.slider(label, min_value=y_min, max_value=y_max, step=1, key=key, help=help)
    return int(lo), int(hi)


def _date_period(
    d_min: dt.date, d_max: dt.date, *, key: str, label: str, param_from: str, param_to: str,
    help: str | None,
) -> tuple[dt.date, dt.date]:
    current = st.session_state.get(key)
    if current is None:
        lo = _parse_date(st.query_params.get(param_from)) or d_min
        hi = _parse_date(st.query_params.get(param_to), end=True) or d_max
        write = False
    else:
        values = list(current) if isinstance(current, (list, tuple)) else [current]
        values = [v for v in values if isinstance(v, dt.date)]
        # While a range is being picked the widget holds one date: use it, but do not write it
        # back (that would interrupt the picking).
        lo, hi = (values[0], values[-1]) if values else (d_min, d_max)
        write = len(values) == 2
    lo, hi = sorted((_clamp(lo, d_min, d_max), _clamp(hi, d_min, d_max)))
    if write and tuple(current) != (lo, hi):
        st.session_state[key] = (lo, hi)
    picked = st.date_input(
        label,
        value=(lo, hi),
        min_value=d_min,
        max_value=d_max,
        key=key,
        format="YYYY-MM-DD",
        help=help,
    )
    values = [v for v in (picked if isinstance(picked, (list, tuple)) else [picked]) if v]
    if not values:
        return lo, hi
    return tuple(sorted((values[0], values[-1])))  # type: ignore[return-value]


def select_filter(
    options: Mapping[str, str],
    *,
    key: str,
    param: str,
    label: str,
    all_label: str = "全部",
    help: str | None = None,
) -> str:
    """One choice among ``options`` (value → Chinese label) plus "all", kept in ``?param=value``.

    Returns the chosen value, or ``ALL`` (an empty string) for every option. An unknown value in
    the URL falls back to "all".
    """
    choices = [ALL, *options]
    if key not in st.session_state:
        wanted = str(st.query_params.get(param, ALL)).strip()
        # Case-insensitive match of the URL value.
        wanted = next((c for c in choices if c.lower() == wanted.lower()), ALL)
    else:
        wanted = st.session_state[key]
    if wanted not in choices:
        wanted = ALL
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    format_func: Callable[[str], str] = lambda value: all_label if value == ALL else options.get(value, value)
    chosen = st.selectbox(label, options=choices, format_func=format_func, key=key, help=help)
    chosen = chosen if chosen in choices else ALL
    _set_query_param(param, chosen or None)
    return chosen


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


def scope_text(names: Mapping[str, str], selected: list[str], everywhere: str = "全部街道") -> str:
    """The streets a page shows, for its subtitles: the selected names, or `everywhere`."""
    return "、".join(names.get(c, c) for c in selected) if selected else everywhere


def years_text(lo: int, hi: int) -> str:
    """A span of years: "2019年" or "2016–2020年"."""
    return f"{lo}年" if lo == hi else f"{lo}–{hi}年"


def rate_pct(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator in percent, one decimal; None without a denominator."""
    if missing(denominator) or not float(denominator):
        return None
    return round(100.0 * float(numerator or 0) / float(denominator), 1)


def pct(numerator: float, denominator: float) -> str:
    """numerator / denominator as "12.3%"; "—" for a zero denominator."""
    return f"{100.0 * numerator / denominator:.1f}%" if denominator else "—"


def fmt_pct(value: float | None) -> str:
    """A percentage value as "12.3%"; "—" when missing."""
    return "—" if value is None or missing(value) else f"{value:.1f}%"


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
