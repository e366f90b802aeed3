"""Offline street maps of Xiacheng District for the dashboard pages (altair ``mark_geoshape``).

The streets' geometry ships with the project (``dashboards/geo/xiacheng_streets.geojson``: the
eight 街道, a schematic approximation, not survey data). Vega draws it inline from the chart
spec: no map tiles, no network.

``street_map(values, ...)`` draws the eight streets coloured by one column of ``values`` (one
row per ``street_code``), with the short street name and an optional label inside each street
and a tooltip. Other pages can reuse it for any per-street figure.

Winding: GeoJSON (RFC 7946) wants counterclockwise exterior rings, but d3-geo (vega) reads
rings on the sphere and wants them clockwise (a counterclockwise ring would fill the whole
globe except the street). ``street_features`` therefore rewinds the rings clockwise.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

GEOJSON_PATH = Path(__file__).resolve().parent / "geo" / "xiacheng_streets.geojson"
GEOMETRY_NOTE = "街道边界为示意性近似（非测绘数据），仅示意各街道相对位置；地图离线绘制，不加载在线底图。"


def _signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Shoelace area of a ring in lon/lat: > 0 counterclockwise, < 0 clockwise."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2.0


def _centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float]:
    """Area centroid of a closed ring (lon, lat)."""
    area = _signed_area(ring)
    if math.isclose(area, 0.0):
        xs, ys = zip(*ring)
        return sum(xs) / len(xs), sum(ys) / len(ys)
    cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        cross = x1 * y2 - x2 * y1
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return cx / (6.0 * area), cy / (6.0 * area)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> dict:
    del mtime_ns  # part of the cache key only
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def street_features(path: Path = GEOJSON_PATH) -> list[dict]:
    """The street features (a fresh copy), rings clockwise for d3-geo, with the label point
    (``label_lon``/``label_lat``, the centroid of the outer ring) added to the properties."""
    collection = _load(str(path), path.stat().st_mtime_ns)
    features = copy.deepcopy(collection["features"])
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for i, ring in enumerate(polygon):
                # Outer ring clockwise, holes counterclockwise (d3-geo's spherical convention).
                clockwise = _signed_area(ring) < 0
                if clockwise != (i == 0):
                    ring.reverse()
        largest = max((p[0] for p in polygons), key=lambda r: abs(_signed_area(r)))
        lon, lat = _centroid(largest)
        feature["properties"]["label_lon"] = round(lon, 6)
        feature["properties"]["label_lat"] = round(lat, 6)
    return features


def street_codes(path: Path = GEOJSON_PATH) -> list[str]:
    """The street codes drawn on the map, in the file's order."""
    return [f["properties"]["street_code"] for f in street_features(path)]


def _plain(value: Any) -> Any:
    """A JSON-safe Python value (numpy scalars unwrapped, NaN/NaT → None)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value


def map_features(values: pd.DataFrame, defaults: Mapping[str, Any] | None = None,
                 only: Collection[str] | None = None) -> list[dict]:
    """The street features with the columns of ``values`` (one row per ``street_code``) merged
    into their properties; a street missing from ``values`` gets ``defaults``. ``only`` keeps
    the features of those street codes (the streets the user may see): a street office's map
    draws and names its own street, no other."""
    rows = {str(r["street_code"]): r for r in values.to_dict(orient="records")} if not values.empty else {}
    columns = [c for c in values.columns if c != "street_code"]
    features = street_features()
    if only is not None:
        keep = {str(c) for c in only}
        features = [f for f in features if f["properties"]["street_code"] in keep]
    for feature in features:
        props = feature["properties"]
        row = rows.get(props["street_code"])
        for column in columns:
            value = row.get(column) if row is not None else None
            if row is None and defaults and column in defaults:
                value = defaults[column]
            props[column] = _plain(value)
        for column, value in (defaults or {}).items():
            props.setdefault(column, _plain(value))
    return features


def street_map(
    values: pd.DataFrame,
    *,
    color_field: str,
    color_domain: Sequence[str],
    color_range: Sequence[str],
    legend_title: str,
    title: str,
    subtitle: str | Sequence[str] | None = None,
    tooltip: Sequence[tuple[str, str]] = (),
    label_field: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    height: int = 440,
    legend_labels: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
) -> alt.LayerChart:
    """A map of the eight streets coloured by ``color_field`` (nominal, ``color_domain`` →
    ``color_range``), with the short street name (and ``label_field`` below it) in each street.

    ``values`` holds one row per ``street_code`` with the columns to draw; ``tooltip`` lists
    ``(column, Chinese title)`` pairs (``street_name`` is always first). ``legend_labels`` maps
    a colour value to the text shown in the legend (e.g. ``红`` → ``红色 重大风险``). ``only``:
    the street codes to draw (None: every street of the map).
    """
    features = map_features(values, defaults, only)
    data = alt.Data(values=features)

    legend = alt.Legend(orient="bottom", columns=3, labelLimit=260, symbolType="square", symbolSize=180)
    if legend_labels:
        # Vega expression mapping each value to its legend text (labels are data, not code).
        mapping = json.dumps({str(k): str(v) for k, v in legend_labels.items()}, ensure_ascii=False)
        legend = alt.Legend(
            orient="bottom", columns=2, labelLimit=320, symbolType="square", symbolSize=180,
            labelExpr=f"({mapping})[datum.label] || datum.label",
        )
    color = alt.Color(
        f"properties.{color_field}:N",
        title=legend_title,
        scale=alt.Scale(domain=list(color_domain), range=list(color_range)),
        legend=legend,
    )
    tips = [alt.Tooltip("properties.street_name:N", title="街道")]
    tips += [alt.Tooltip(f"properties.{col}:N", title=name) for col, name in tooltip]

    shapes = (
        alt.Chart(data)
        .mark_geoshape(stroke="#FFFFFF", strokeWidth=2)
        .encode(color=color, tooltip=tips)
    )

    label_rows = []
    for feature in features:
        props = feature["properties"]
        text = props.get("short_name") or props["street_name"]
        if label_field and props.get(label_field) not in (None, ""):
            text = f"{text}\n{props[label_field]}"
        label_rows.append({"lon": props["label_lon"], "lat": props["label_lat"], "label": text})
    labels = pd.DataFrame(label_rows)
    text_base = alt.Chart(labels).encode(
        longitude="lon:Q", latitude="lat:Q", text="label:N"
    )
    halo = text_base.mark_text(
        fontSize=12, fontWeight="bold", lineBreak="\n", stroke="#FFFFFF", strokeWidth=3,
        strokeOpacity=0.85,
    )
    text = text_base.mark_text(fontSize=12, fontWeight="bold", lineBreak="\n", color="#222222")

    title_params = alt.TitleParams(title, subtitle=subtitle or "", anchor="start")
    return (
        alt.layer(shapes, halo, text)
        .project(type="mercator")
        .properties(height=height, title=title_params)
    )


def map_values(chart: alt.TopLevelMixin) -> list[dict]:
    """The per-street properties drawn by a ``street_map`` chart (for tests and debugging)."""
    spec = chart.to_dict()
    for layer in spec.get("layer", []):
        values = layer.get("data", {}).get("values")
        if values and isinstance(values, list) and "geometry" in values[0]:
            return [v["properties"] for v in values]
    datasets = spec.get("datasets", {})
    for values in datasets.values():
        if values and isinstance(values, list) and isinstance(values[0], dict) and "geometry" in values[0]:
            return [v["properties"] for v in values]
    return []
