"""The one frame of every dashboard page: header, scope line, sidebar filters, tables, downloads.

A page is laid out as::

    frame.header("城市安全风险清单", "区安委办最新一期……")   # title, caption, the viewer's scope
    with frame.sidebar(reset=_reset):                        # 筛选条件 … 恢复默认筛选, share note
        selected = frame.street_filter(streets_df, key=…)    # filters kept in the URL
    scope = frame.scope_text(names, selected)                # "武林街道", never "全部街道" for a street office
    frame.table(df, headers)                                 # Chinese headers, missing values as "—"
    frame.download_buttons(df, "风险_风险点明细", headers)   # CSV (UTF-8 with BOM) and XLSX

* Filters kept in the URL (``?streets=WL,TS&from=2017&to=2020``): ``street_filter`` (multiselect
  of streets), ``period_filter`` (years as a slider, or dates as a date range), ``select_filter``
  (one choice with an "all" entry, e.g. a department), ``radio_filter`` (one of a few numbers,
  e.g. 近7天/近30天). Each seeds its widget state from the URL
  on the first run of the page, keeps it valid on later runs and writes it back to the URL; a
  filter at its default is left out of the URL so that a plain link follows new data.
* Filters carry across pages: the last value written to a URL parameter is kept for the session
  (``carried``), and a page entered without that parameter in its URL (the sidebar navigation
  clears the URL) starts from it, so the streets chosen on 风险 are still chosen on 隐患. A
  parameter in the URL wins; a value the page does not offer (another street, an unknown level)
  falls back to the default as any URL value does.
* Scope: a street office sees its own streets only, a department only the tables granted to it
  (policy/access.yml). Titles and captions say whose data is shown (``scope_text``), and a card
  whose table lies outside the grant says so (``sees`` / ``NOT_IN_SCOPE``) instead of "暂无数据".

Charts are built in ``dashboards.charts``; Chinese captions come from ``citysafety.share.labels``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from dashboards import components, data

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UTF8_BOM = b"\xef\xbb\xbf"
ALL = ""  # the "all" entry of select_filter (kept out of the URL)
MISSING = "—"  # what a table cell shows for a missing value (never "None")

QP_STREETS = "streets"
QP_FROM = "from"
QP_TO = "to"

DISTRICT = "全区"
EVERY_STREET = "全部街道"
NOT_IN_SCOPE = "不在您的数据范围内"
SHARE_NOTE = "筛选条件保存在网址中，复制浏览器地址即可分享当前视图。"
CARRIED_KEY = "citysafety_carried_filters"  # session: URL parameter -> its last value
PAGE_KEY = "citysafety_filters_page"  # session: (page script hash, run of the page entered)

T = TypeVar("T")


# --- header and scope -------------------------------------------------------------------------


def _user_and_principal() -> tuple[Any, Any]:
    """The signed-in user and their policy principal (None, None with sign-in off)."""
    from dashboards import auth

    user = auth.current_user()
    return user, auth.principal_of(user)


def viewer_streets() -> list[str] | None:
    """Streets the signed-in user may see (None: every street)."""
    from dashboards import auth

    return auth.allowed_streets(auth.current_user())


def viewer_scope() -> str | None:
    """The viewer's own scope in words ("武林街道", "区应急管理局"); None for the whole district."""
    _user, principal = _user_and_principal()
    if principal is None or principal.unrestricted:
        return None
    return principal.name_zh


def sees(table: str) -> bool:
    """Whether the viewer's grant includes a published table (``marts.x``); True with sign-in off."""
    _user, principal = _user_and_principal()
    return principal is None or principal.sees_table(table if "." in table else f"marts.{table}")


# Shared look of every page. Metric values and labels wrap rather than end in "…": a long value
# such as "34,223.4 万元" kept its number and lost its unit in a narrow column, and a card's label
# "重大隐患逾期未整改" read "重大隐患逾期未…" at 1366 px (issue 13).
PAGE_STYLE = """<style>
[data-testid="stMetricValue"] { font-size: clamp(1.4rem, 2.1vw, 2.25rem); }
[data-testid="stMetricValue"] > div { white-space: normal; overflow: visible; text-overflow: clip;
  overflow-wrap: anywhere; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * { white-space: normal; overflow: visible;
  text-overflow: clip; }
</style>"""


def header(title: str, caption: str | None = None) -> None:
    """The page title, its one-line caption and, for a limited account, the scope line."""
    st.html(PAGE_STYLE)
    st.title(title)
    if caption:
        st.caption(caption)
    scope = viewer_scope()
    if scope is not None:
        st.caption(f":material/visibility: 数据范围：{scope}（本账号只能看到授权范围内的数据，页面上的统计均为该范围）")


def scope_text(names: Mapping[str, str], selected: list[str], everywhere: str = EVERY_STREET) -> str:
    """Whose streets a title or caption speaks of: the selected names; with nothing selected,
    ``everywhere`` for an account that sees every street, else the account's own streets (a street
    office's 总览 never says "全区" over its own street's numbers)."""
    if not selected:
        allowed = viewer_streets()
        if allowed is None:
            return everywhere
        selected = list(allowed)
    return "、".join(names.get(c, c) for c in selected)


# --- sidebar ----------------------------------------------------------------------------------


@contextlib.contextmanager
def sidebar(
    reset: Callable[[], None] | None = None,
    notes: tuple[str, ...] = (),
    *,
    in_url: bool = True,
    from_mart: bool = True,
) -> Iterator[None]:
    """The sidebar of a page: "筛选条件", the page's filters (the body of the ``with``), the reset
    button, the page's notes, then the share note (``in_url``: the filters live in the URL) and
    the publish time of the data (``from_mart``: the page reads the published mart)."""
    _note_page_entry()
    with st.sidebar:
        st.header("筛选条件")
        yield
        if reset is not None:
            st.button("恢复默认筛选", key=RESET_KEY, on_click=reset, icon=":material/restart_alt:")
        for note in notes:
            st.caption(note)
        if in_url:
            st.caption(SHARE_NOTE)
        published = data.published_at() if from_mart else None
        if published is not None:
            st.caption(f"数据发布时间：{published:%Y-%m-%d %H:%M}（北京时间）")


# --- tables -----------------------------------------------------------------------------------


def _number_text(value: Any) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _when_text(value: Any, with_time: bool) -> Any:
    """A date or time as the pages print it; other values unchanged."""
    if isinstance(value, dt.datetime):  # pd.Timestamp too
        return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for display in which a missing text, date or time shows as "—" (st.dataframe
    prints "None"); such a date or time column becomes text ("2024-01-02", "2024-01-02 08:30")."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if not series.isna().any():
            continue
        is_time = isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series)
        if is_time or series.dtype == object or pd.api.types.is_string_dtype(series) \
                or pd.api.types.is_bool_dtype(series):
            present = [v for v in series if not components.missing(v)]
            with_time = any(isinstance(v, dt.datetime) and (v.hour, v.minute, v.second) != (0, 0, 0)
                            for v in present)
            values = [MISSING if components.missing(v) else _when_text(v, with_time) for v in series]
            out[column] = pd.Series(values, index=series.index, dtype=object)
    return out


_WHEN_TYPES = {"date", "datetime", "time"}


RESET_KEY = "reset_filters"  # the sidebar's 恢复默认筛选 (tests press it by this key)

ROW_PX = 35  # st.dataframe's row height (header row alike)
ALL_ROWS_UP_TO = 30  # a longer table is a list to scroll through (its height stays Streamlit's)


# Every column in view without scrolling sideways (issue 13): the grid draws its cells on a canvas
# and hides what does not fit behind a horizontal scroll bar, which a leader does not think to use.
# Each column gets the width of its longest text (header or cell), and a table wider than the
# narrowest main column it is shown in is split into parts that repeat its key columns.
FIT_PX = 850  # the main column at 1366×768 with the sidebar open: 904 px, 870 px in an expander
CELL_PAD_PX = 26  # the grid's cell padding (8 px a side) and room for the header's sort arrow
_NAMED_WIDTHS = {"small": 75, "medium": 200, "large": 400}


def text_px(text: str) -> int:
    """An upper bound of ``text``'s width at the grid's 14 px font: a Han character or full-width
    sign 14 px, anything else at most 8.5 px."""
    return int(sum(14 if ord(ch) >= 0x2E80 else 8.5 for ch in text) + 0.5)


def _cell_text(value: Any) -> str:
    if isinstance(value, float):  # the grid prints up to four decimals with thousands separators
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value == value else MISSING
    if isinstance(value, (dt.date, dt.datetime)):
        return _when_text(value, True)
    return str(value)


def column_widths(shown: pd.DataFrame, column_config: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Each column's width in pixels: its header or its longest cell, whichever is wider; a width
    the page configured itself is kept."""
    widths = {}
    for column in shown.columns:
        spec = (column_config or {}).get(column)
        given = spec.get("width") if isinstance(spec, Mapping) else None
        if isinstance(given, int):
            widths[column] = given
            continue
        longest = max((text_px(_cell_text(v)) for v in shown[column].tolist()), default=0)
        widths[column] = max(text_px(str(column)), longest, _NAMED_WIDTHS.get(given, 0) - CELL_PAD_PX) + CELL_PAD_PX
    return widths


def column_parts(widths: Mapping[str, int], keys: int, fit_px: int) -> list[list[str]]:
    """The columns of each part of a table ``fit_px`` wide at most: the first ``keys`` columns in
    every part, the others in their order, as many to a part as fit (at least one)."""
    columns = list(widths)
    if sum(widths.values()) <= fit_px:
        return [columns]
    head, rest = columns[:keys], columns[keys:]
    room = fit_px - sum(widths[c] for c in head)
    parts: list[list[str]] = []
    for column in rest:
        if parts and sum(widths[c] for c in parts[-1]) + widths[column] <= room:
            parts[-1].append(column)
        else:
            parts.append([column])
    # A long text too wide beside every key column keeps the first one only (the row's id).
    return [(head if sum(widths[c] for c in part) <= room else head[:1]) + part for part in parts]


def table(
    df: pd.DataFrame | Any,
    headers: Mapping[str, str] | None = None,
    *,
    all_rows: bool = False,
    keys: int = 1,
    fit_px: int = FIT_PX,
    row_style: Callable[[pd.Series], str] | None = None,
    **kwargs: Any,
) -> None:
    """A table of the page: the ``headers`` columns (in their order) under their Chinese names,
    missing values shown as "—" (numbers keep their type and sort as numbers: the grid's
    placeholder), full width;
    ``all_rows``: tall enough to show every row; a table of up to ``ALL_ROWS_UP_TO`` rows always
    is (a short table whose last rows hide behind an inner scroll bar looks complete but is not).

    Every column is as wide as its longest text, and a table wider than ``fit_px`` (the main
    column at 1366 px; pass a column's width when the table sits in one) is shown as several
    tables, each with the first ``keys`` columns (the row's name) and as many others as fit.

    ``row_style``: a row's CSS (a highlight) from the whole displayed row (Chinese headers, "—"
    for missing values), applied in every part. A Styler the page built itself is shown as it is,
    never split: build it on ``display_frame(df)`` so its missing values read "—" too."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    # A missing number: the grid draws "None" on its canvas, whatever a Styler's na_rep says.
    kwargs.setdefault("placeholder", MISSING)
    rows = len(df.data if not isinstance(df, pd.DataFrame) else df)
    if all_rows or rows <= ALL_ROWS_UP_TO:  # tall enough for every row: nothing hidden behind an inner scroll bar
        kwargs.setdefault("height", ROW_PX * (rows + 1) + 3)
    if not isinstance(df, pd.DataFrame):
        config = _text_dates_unformatted(df.data, kwargs.get("column_config"))
        kwargs["column_config"] = _with_widths(config, column_widths(display_frame(df.data), config))
        st.dataframe(df, **kwargs)
        return
    shown = df[[c for c in headers if c in df.columns]].rename(columns=dict(headers)) if headers else df
    shown = display_frame(shown)
    config = _text_dates_unformatted(shown, kwargs.get("column_config"))
    widths = column_widths(shown, config)
    styles = {i: row_style(row) for i, row in shown.iterrows()} if row_style else None
    for columns in column_parts(widths, keys, fit_px):
        part = shown[columns]
        kwargs["column_config"] = _with_widths(
            {c: s for c, s in (config or {}).items() if c in columns}, {c: widths[c] for c in columns})
        if styles is None:
            st.dataframe(part, **kwargs)
            continue
        # A Styler's numbers print as its own text (1.500000 by default): as the grid prints them.
        floats = [c for c in part.columns if pd.api.types.is_float_dtype(part[c])]
        styler = part.style.format(_number_text, subset=floats, na_rep=MISSING)
        st.dataframe(styler.apply(lambda row: [styles[row.name]] * len(row), axis=1), **kwargs)


def _with_widths(column_config: Mapping[str, Any] | None, widths: Mapping[str, int]) -> dict[str, Any]:
    config = dict(column_config or {})
    for column, px in widths.items():
        spec = config.get(column)
        if column in config and spec is None:
            continue  # a column the page hides
        if isinstance(spec, str):
            spec = {"label": spec}
        config[column] = {**spec, "width": px} if isinstance(spec, Mapping) else {"width": px}
    return config


def _text_dates_unformatted(shown: pd.DataFrame, column_config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The column configuration without the date formats of columns that became text (a date
    column with gaps): a date format over text fails to render."""
    if not column_config:
        return None
    config = dict(column_config)
    for column, spec in column_config.items():
        kind = (spec.get("type_config") or {}).get("type") if isinstance(spec, Mapping) else None
        if kind in _WHEN_TYPES and column in shown.columns and shown[column].dtype == object:
            config.pop(column)
    return config or None


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
    # Yes/no as 是/否 for the person reading the workbook, not Excel's TRUE/FALSE (issue 13).
    for column in frame.columns:
        values = frame[column]
        flags = values.map(lambda v: isinstance(v, (bool, np.bool_)))
        if pd.api.types.is_bool_dtype(values) or (values.dtype == object and flags.any()):
            frame[column] = values.map(
                lambda v: ("是" if v else "否") if isinstance(v, (bool, np.bool_)) else v).astype(object)
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
    # A horizontal container sized to its buttons: in narrow columns st.columns squeezed the
    # buttons down to "下." (issue 13).
    with st.container(horizontal=True, gap="small"):
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
            width="content",
        )
        st.download_button(
            "下载 Excel",
            data=xlsx_bytes(df, headers, sheet_name or filename_stem),
            file_name=f"{filename_stem}.xlsx",
            mime=XLSX_MIME,
            key=f"{key}__xlsx",
            icon=":material/table_view:",
            on_click=_record_download,
            args=(f"{filename_stem}.xlsx", len(df)),
            width="content",
        )


# --- URL helpers ------------------------------------------------------------------------------


def _note_page_entry() -> None:
    """Remember whether this run entered the page (another page ran before it in this session).

    On entering a page its filters start from the URL (or the carried values), not from widget
    state left over from an earlier visit of the page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else ""
    previous = st.session_state.get(PAGE_KEY)
    st.session_state[PAGE_KEY] = (page, previous is None or previous[0] != page)


def _entered() -> bool:
    """Whether this run entered the page (only known for filters inside ``sidebar``)."""
    state = st.session_state.get(PAGE_KEY)
    return state is not None and bool(state[1])


def _fresh(key: str) -> bool:
    """Whether a filter seeds itself from the URL: its first run, or the page was just entered."""
    return key not in st.session_state or _entered()


def _url_value(name: str, kind: str) -> str | None:
    """A filter's value from the URL, else the value carried from another page's filter of the
    same kind and parameter (None: neither)."""
    if name in st.query_params:
        return st.query_params.get(name)
    return st.session_state.get(CARRIED_KEY, {}).get(f"{kind}:{name}")


def _set_query_param(name: str, value: str | None, kind: str | None = None) -> None:
    """Write one URL parameter (``None`` removes it); untouched when already right. ``kind``: the
    kind of filter behind it, whose value the other pages carry on (``_url_value``)."""
    if kind is not None:
        st.session_state.setdefault(CARRIED_KEY, {})[f"{kind}:{name}"] = value
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
    allowed = viewer_streets()
    if allowed is not None:
        codes = [c for c in codes if c in allowed]
        placeholder = "、".join(names.get(c, c) for c in allowed)
    if _fresh(key):
        raw = _url_value(param, "streets") or ""
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
    _set_query_param(param, ",".join(selected) if selected else None, "streets")
    if allowed is not None and not selected:
        return codes or list(allowed)
    return selected


def period_filter(
    bounds: tuple[int, int] | tuple[dt.date, dt.date],
    *,
    key: str,
    label: str,
    param_from: str = QP_FROM,
    param_to: str = QP_TO,
    help: str | None = None,
    default: tuple[dt.date, dt.date] | None = None,
) -> tuple[Any, Any]:
    """A period between ``bounds`` (both ends included), kept in ``?from=…&to=…``.

    Whole years (``bounds`` of ints) give a year slider and ``from=2017&to=2020``; dates give a
    date-range picker and ``from=2024-01-01&to=2024-03-31`` (a bare year is accepted in the URL).
    Out-of-range or unreadable values are clamped or fall back to the default. Returns
    ``(lo, hi)`` of the same type as ``bounds``; the default (the full range, or ``default`` for
    dates, e.g. the last 30 days) is left out of the URL.
    """
    b_lo, b_hi = sorted(bounds)
    if isinstance(b_lo, dt.date):
        d_lo, d_hi = sorted(default) if default else (b_lo, b_hi)
        lo, hi = _date_period(b_lo, b_hi, key=key, label=label, param_from=param_from,
                              param_to=param_to, help=help, default=(d_lo, d_hi))
        lo_text, hi_text = lo.isoformat(), hi.isoformat()
    else:
        d_lo, d_hi = b_lo, b_hi
        lo, hi = _year_period(int(b_lo), int(b_hi), key=key, label=label, param_from=param_from,
                              param_to=param_to, help=help)
        lo_text, hi_text = str(lo), str(hi)
    full = (lo, hi) == (d_lo, d_hi)
    kind = "dates" if isinstance(b_lo, dt.date) else "years"
    _set_query_param(param_from, None if full else lo_text, kind)
    _set_query_param(param_to, None if full else hi_text, kind)
    return lo, hi


def _year_period(
    y_min: int, y_max: int, *, key: str, label: str, param_from: str, param_to: str, help: str | None
) -> tuple[int, int]:
    if _fresh(key):
        lo = _parse_year(_url_value(param_from, "years"))
        hi = _parse_year(_url_value(param_to, "years"))
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
    help: str | None, default: tuple[dt.date, dt.date],
) -> tuple[dt.date, dt.date]:
    current = None if _entered() else st.session_state.get(key)
    if current is None:
        lo = _parse_date(_url_value(param_from, "dates")) or default[0]
        hi = _parse_date(_url_value(param_to, "dates"), end=True) or default[1]
        write = key in st.session_state  # left over from an earlier visit: replace it
    else:
        values = list(current) if isinstance(current, (list, tuple)) else [current]
        values = [v for v in values if isinstance(v, dt.date)]
        # While a range is being picked the widget holds one date: use it, but do not write it
        # back (that would interrupt the picking).
        lo, hi = (values[0], values[-1]) if values else (d_min, d_max)
        write = len(values) == 2
    lo, hi = sorted((_clamp(lo, d_min, d_max), _clamp(hi, d_min, d_max)))
    if write and tuple(st.session_state.get(key) or ()) != (lo, hi):
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


def radio_filter(
    options: Mapping[int, str],
    *,
    key: str,
    param: str,
    label: str,
    default: int,
    help: str | None = None,
) -> int:
    """One of a few whole-number choices (value → Chinese label) as a horizontal radio, kept in
    ``?param=value``; the default is left out of the URL and an unknown value falls back to it."""
    if _fresh(key):
        try:
            wanted = int(str(_url_value(param, "radio") or default).strip())
        except ValueError:
            wanted = default
    else:
        wanted = st.session_state[key]
    if wanted not in options:
        wanted = default
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    chosen = st.radio(label, options=list(options), format_func=lambda v: options[v], key=key,
                      horizontal=True, help=help)
    chosen = chosen if chosen in options else default
    _set_query_param(param, None if chosen == default else str(chosen), "radio")
    return chosen


def streets_and_year_sidebar(
    streets_df: pd.DataFrame,
    years: list[int],
    *,
    key_streets: str,
    key_year: str,
    texts: Mapping[str, str],
    param: str = "year",
) -> tuple[list[str], int]:
    """The sidebar of a page read by street and year (示范创建, 宣传教育): the street filter and the
    year as a radio kept in ``?year=`` (default the latest year), with the frame's reset.
    ``texts``: the page's ``street_help``, ``year_option`` (with ``{year}``), ``year_label`` and
    ``year_help``."""
    default = years[-1]

    def _reset() -> None:
        st.session_state[key_streets] = []
        st.session_state[key_year] = default

    with sidebar(reset=_reset):
        selected = street_filter(streets_df, key=key_streets, help=texts["street_help"])
        year = radio_filter(
            {y: texts["year_option"].format(year=y) for y in years},
            key=key_year,
            param=param,
            label=texts["year_label"],
            default=default,
            help=texts["year_help"],
        )
    return selected, int(year)


def select_filter(
    options: Mapping[str, str],
    *,
    key: str,
    param: str,
    label: str,
    all_label: str = "全部",
    help: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """One choice among ``options`` (value → Chinese label) plus "all", kept in ``?param=value``.

    Returns the chosen value, or ``ALL`` (an empty string) for every option. An unknown value in
    the URL falls back to "all"; ``aliases`` maps other spellings a link may use to a value
    (``level=red`` for ``level=红``).
    """
    choices = [ALL, *options]
    if _fresh(key):
        wanted = str(_url_value(param, "select") or ALL).strip()
        wanted = {k.lower(): v for k, v in (aliases or {}).items()}.get(wanted.lower(), wanted)
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
    _set_query_param(param, chosen or None, "select")
    return chosen



