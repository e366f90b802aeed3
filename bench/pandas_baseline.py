"""The headline KPIs the way a department analyst would compute them with pandas.

Reads the delivered files of the four spine feeds straight from `landing/` (no platform code):
accidents (GB18030 CSV, monthly + corrections), fires (UTF-8 CSV with BOM, weekly), road
accidents (JSON Lines, daily) and the economy workbooks (XLSX), and computes deaths per year
by department of record and deaths per 100 million yuan of GDP, following the delivery
agreements (../shared/feeds/README.md):

- the latest report wins per id (报送日期 / 报送时间 / reported_at; ties: later file, later row);
- rows that cannot be read (bad times, casualty counts that are not whole numbers >= 0,
  broken lines, invalid JSON) are dropped;
- one event reported by two departments counts once: an emb accident whose 关联事故编号 names a
  delivered fire or road accident, or a 火灾 accident with the same unit code and date as a
  fire, counts under the other department;
- a year's deaths count in the year of occurrence in Hangzhou time;
- GDP: 最终核实 wins over 初步核算, then the newest file.

`python bench/pandas_baseline.py <landing dir>` prints the table.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

LOCAL = "Asia/Shanghai"


def _whole(series: pd.Series) -> pd.Series:
    """Whole numbers >= 0 ('3.0' is 3); anything else NaN."""
    n = pd.to_numeric(series.astype("string").str.strip(), errors="coerce")
    return n.where((n >= 0) & (n == n.round()))


def _local_time(series: pd.Series) -> pd.Series:
    """ISO-8601 texts, with or without an offset, as naive Hangzhou time."""
    s = series.astype("string").str.strip()
    has_offset = s.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    if has_offset.any():
        aware = pd.to_datetime(s[has_offset], format="ISO8601", utc=True, errors="coerce")
        out[has_offset] = aware.dt.tz_convert(LOCAL).dt.tz_localize(None)
    if (~has_offset).any():
        out[~has_offset] = pd.to_datetime(s[~has_offset], format="ISO8601", errors="coerce")
    return out


def _read_csvs(folder: Path, pattern: str, encoding: str) -> pd.DataFrame:
    frames = []
    for path in sorted(folder.glob(pattern)):
        if path.stat().st_size == 0:
            continue
        df = pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False,
                         on_bad_lines="skip", engine="python")
        df["_file"], df["_row"] = path.name, range(len(df))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def accidents(landing: Path) -> pd.DataFrame:
    df = _read_csvs(landing / "emb" / "accidents", "accidents_*.csv", "gb18030")
    text = (df["发生时间"].str.strip().str.replace("/", "-", regex=False)
            .str.replace(r"(\d+)年(\d+)月(\d+)日\s*(\d+)时(\d+)分", r"\1-\2-\3 \4:\5", regex=True))
    df["occurred_at"] = pd.to_datetime(text, format="%Y-%m-%d %H:%M", errors="coerce")
    df["reported_on"] = pd.to_datetime(df["报送日期"].str.strip(), format="%Y-%m-%d", errors="coerce")
    for col in ("死亡人数", "重伤人数", "轻伤人数"):
        df[col] = _whole(df[col])
    df = df[df["事故编号"].str.strip().ne("") & df["occurred_at"].notna() & df["reported_on"].notna()
            & df[["死亡人数", "重伤人数", "轻伤人数"]].notna().all(axis=1)]
    df = df.sort_values(["事故编号", "reported_on", "_file", "_row"]).drop_duplicates("事故编号", keep="last")
    return df


def fires(landing: Path) -> pd.DataFrame:
    df = _read_csvs(landing / "fire" / "fires", "fires_*.csv", "utf-8-sig")
    df["occurred_at"] = _local_time(df["起火时间"])
    df["reported_at"] = _local_time(df["报送时间"])
    for col in ("死亡人数", "受伤人数"):
        df[col] = _whole(df[col])
    df = df[df["火灾编号"].str.strip().ne("") & df["occurred_at"].notna() & df["reported_at"].notna()
            & df[["死亡人数", "受伤人数"]].notna().all(axis=1)]
    return df.sort_values(["火灾编号", "reported_at", "_file", "_row"]).drop_duplicates("火灾编号", keep="last")


def road_accidents(landing: Path) -> pd.DataFrame:
    records = []
    for path in sorted((landing / "traffic" / "road_accidents").glob("road_accidents_*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # not JSON: skipped
                if isinstance(rec, dict):
                    rec["_file"], rec["_row"] = path.name, n
                    records.append(rec)
    df = pd.DataFrame.from_records(records)
    df["occurred_at"] = _local_time(df["occurred_at"])
    df["reported_at"] = _local_time(df["reported_at"])
    for col in ("deaths_7d", "injuries"):
        df[col] = _whole(df[col])
    df = df[df["accident_no"].notna() & df["occurred_at"].notna() & df["reported_at"].notna()
            & df[["deaths_7d", "injuries"]].notna().all(axis=1)]
    return df.sort_values(["accident_no", "reported_at", "_file", "_row"]).drop_duplicates("accident_no", keep="last")


def economy(landing: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((landing / "stats" / "economy").glob("economy_*.xlsx")):
        df = pd.read_excel(path, sheet_name="地区生产总值", dtype=object)
        df["_file"], df["_row"] = path.name, range(len(df))
        df["_file_date"] = re.search(r"(\d{8})", path.name).group(1)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["year"] = _whole(df["年份"])
    df["gdp"] = pd.to_numeric(df["地区生产总值(亿元)"].astype("string").str.replace(",", ""), errors="coerce")
    df["final"] = df["数据状态"].astype("string").str.strip().eq("最终核实")
    df = df[df["year"].notna() & df["gdp"].notna()]
    df = df.sort_values(["year", "final", "_file_date", "_file", "_row"]).drop_duplicates("year", keep="last")
    return df.set_index(df["year"].astype(int))[["gdp"]]


def kpi(landing: Path) -> pd.DataFrame:
    landing = Path(landing)
    acc, fir, road, econ = accidents(landing), fires(landing), road_accidents(landing), economy(landing)

    # one event, two departments: counted under the fire or road record
    related = acc["关联事故编号"].str.strip()
    linked = related.isin(set(fir["火灾编号"])) | related.isin(set(road["accident_no"]))
    fire_keys = set(zip(fir["统一社会信用代码"].str.strip().str.upper(), fir["occurred_at"].dt.date))
    acc_keys = zip(acc["统一社会信用代码"].str.strip().str.upper(), acc["occurred_at"].dt.date)
    same_fire = (acc["事故类别"].str.strip().eq("火灾")
                 & pd.Series([k[0] != "" and k in fire_keys for k in acc_keys], index=acc.index))
    emb = acc[~(linked | same_fire)]

    deaths = pd.DataFrame({
        "deaths_workplace": emb.groupby(emb["occurred_at"].dt.year)["死亡人数"].sum(),
        "deaths_fire": fir.groupby(fir["occurred_at"].dt.year)["死亡人数"].sum(),
        "deaths_road": road.groupby(road["occurred_at"].dt.year)["deaths_7d"].sum(),
    })
    years = range(min(2016, deaths.index.min(), econ.index.min()), max(2020, deaths.index.max(), econ.index.max()) + 1)
    out = deaths.reindex(years).fillna(0).astype(int)
    out["deaths_total"] = out.sum(axis=1)
    out["gdp_100m_yuan"] = econ["gdp"].reindex(years).astype(float)
    out["deaths_per_100m_gdp"] = out["deaths_total"] / out["gdp_100m_yuan"]
    out.index.name = "year"
    return out


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    print(kpi(Path(sys.argv[1])))
