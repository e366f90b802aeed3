"""The one registry of department sources and their feeds.

Everything that needs to know a feed reads it from here: the ingest DAGs (one per source), the
readers (format, encoding, header row, column map), the raw schema, the demo generator, the
docs and the data-health page. Column rules follow ../shared/feeds/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

# Column kinds understood by citysafety.parsing. A value that cannot be read as its kind
# quarantines the row (with the column and the value in the reason) unless the column is
# optional and empty.
TEXT = "text"
INT = "int"  # whole number >= 0 (casualty counts, employees)
DECIMAL = "decimal"  # number >= 0, thousands separators allowed ("1,234.5")
DATETIME = "datetime"  # local (Asia/Shanghai) timestamp; ISO with offset converted to +08:00
DATE = "date"
BOOL = "bool"  # 是/否, true/false
CHOICE = "choice"  # text restricted to `choices`


@dataclass(frozen=True)
class Column:
    delivered: str  # header (CSV/XLSX) or key (JSON) as the department writes it
    name: str  # raw/staging column name
    kind: str = TEXT
    required: bool = False
    personal: bool = False  # personal data: raw layer only, masked everywhere else
    choices: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Feed:
    source: str
    feed: str
    title: str  # Chinese title, as leaders know it
    form: str  # csv | xlsx | jsonl
    file_glob: str
    cadence: timedelta
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    latest_wins: str | None = None  # column whose latest value wins per key
    encoding: str = "utf-8"
    header_row: int = 1  # 1-based row of the header (XLSX title rows above it)
    sheet: str | None = None  # XLSX sheet name (None: the first sheet)
    description: str = ""

    @property
    def id(self) -> str:
        return f"{self.source}__{self.feed}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.id}"

    @property
    def asset_uri(self) -> str:
        return f"citysafety://raw/{self.source}/{self.feed}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Source:
    name: str
    department: str  # Chinese name of the department
    feeds: tuple[Feed, ...] = field(default_factory=tuple)


_GBT4754 = "GB/T 4754 门类，字母加名称，如“C 制造业”"
_GB6441 = (
    "物体打击", "车辆伤害", "机械伤害", "起重伤害", "触电", "淹溺", "灼烫", "火灾", "高处坠落",
    "坍塌", "冒顶片帮", "透水", "放炮", "火药爆炸", "瓦斯爆炸", "锅炉爆炸", "容器爆炸", "其它爆炸",
    "中毒和窒息", "其它伤害",
)

EMB_ACCIDENTS = Feed(
    source="emb",
    feed="accidents",
    title="生产安全事故快报",
    form="csv",
    encoding="gb18030",
    file_glob="accidents_*.csv",
    cadence=timedelta(days=31),
    key=("accident_id",),
    latest_wins="reported_on",
    description="Monthly production-safety accident reports, with correction files.",
    columns=(
        Column("事故编号", "accident_id", TEXT, required=True, description="事故编号，跨更正稳定"),
        Column("发生时间", "occurred_at", DATETIME, required=True, description="发生时间"),
        Column("所属街道", "street_raw", TEXT, description="所属街道（原始写法）"),
        Column("统一社会信用代码", "uscc", TEXT, description="单位统一社会信用代码"),
        Column("单位名称", "unit_name", TEXT),
        Column("行业类别", "industry", TEXT, description=_GBT4754),
        Column("事故类别", "accident_category", TEXT, choices=_GB6441, description="GB 6441 事故类别"),
        Column("死亡人数", "deaths", INT, required=True),
        Column("重伤人数", "serious_injuries", INT, required=True),
        Column("轻伤人数", "minor_injuries", INT, required=True),
        Column("直接经济损失(万元)", "direct_loss_10k_yuan", DECIMAL),
        Column("事故等级", "severity", TEXT, choices=("一般", "较大", "重大", "特别重大")),
        Column("关联事故编号", "related_incident_id", TEXT),
        Column("联系人", "contact_name", TEXT, personal=True),
        Column("联系电话", "contact_phone", TEXT, personal=True),
        Column("报送日期", "reported_on", DATE, required=True),
    ),
)

FIRE_FIRES = Feed(
    source="fire",
    feed="fires",
    title="火灾",
    form="csv",
    encoding="utf-8-sig",
    file_glob="fires_*.csv",
    cadence=timedelta(days=7),
    key=("fire_id",),
    latest_wins="reported_at",
    description="Weekly fire incidents; loss in yuan.",
    columns=(
        Column("火灾编号", "fire_id", TEXT, required=True),
        Column("起火时间", "occurred_at", DATETIME, required=True),
        Column("街道", "street_raw", TEXT),
        Column("详细地址", "address", TEXT),
        Column("起火场所", "place_type", TEXT, choices=("住宅", "商业", "工业", "仓储", "公共场所", "其他")),
        Column("起火原因", "cause", TEXT, choices=("电气", "用火不慎", "吸烟", "放火", "生产作业", "其他", "不明")),
        Column("统一社会信用代码", "uscc", TEXT),
        Column("死亡人数", "deaths", INT, required=True),
        Column("受伤人数", "injuries", INT, required=True),
        Column("直接财产损失(元)", "direct_loss_yuan", DECIMAL),
        Column("报送时间", "reported_at", DATETIME, required=True),
    ),
)

TRAFFIC_ROAD_ACCIDENTS = Feed(
    source="traffic",
    feed="road_accidents",
    title="道路交通事故",
    form="jsonl",
    file_glob="road_accidents_*.jsonl",
    cadence=timedelta(days=1),
    key=("accident_no",),
    latest_wins="reported_at",
    description="Daily road traffic accidents, JSON Lines.",
    columns=(
        Column("accident_no", "accident_no", TEXT, required=True),
        Column("occurred_at", "occurred_at", DATETIME, required=True),
        Column("street", "street_raw", TEXT),
        Column("road", "road", TEXT),
        Column("deaths_7d", "deaths_7d", INT, required=True),
        Column("injuries", "injuries", INT, required=True),
        Column("vehicles", "vehicles", INT),
        Column("reported_at", "reported_at", DATETIME, required=True),
    ),
)

STATS_ECONOMY = Feed(
    source="stats",
    feed="economy",
    title="地区生产总值与人口",
    form="xlsx",
    sheet="地区生产总值",
    file_glob="economy_*.xlsx",
    cadence=timedelta(days=92),
    key=("year",),
    latest_wins="data_status",
    description="GDP, resident population and vehicles per year; preliminary then final.",
    columns=(
        Column("年份", "year", INT, required=True),
        Column("地区生产总值(亿元)", "gdp_100m_yuan", DECIMAL, required=True),
        Column("常住人口(万人)", "population_10k", DECIMAL),
        Column("机动车保有量(万辆)", "vehicles_10k", DECIMAL),
        Column("数据状态", "data_status", CHOICE, required=True, choices=("初步核算", "最终核实")),
    ),
)

SOURCES: tuple[Source, ...] = (
    Source("emb", "区应急管理局", (EMB_ACCIDENTS,)),
    Source("fire", "区消防救援大队", (FIRE_FIRES,)),
    Source("traffic", "交警大队", (TRAFFIC_ROAD_ACCIDENTS,)),
    Source("stats", "区统计局", (STATS_ECONOMY,)),
)


def all_feeds() -> tuple[Feed, ...]:
    return tuple(f for s in SOURCES for f in s.feeds)


def source(name: str) -> Source:
    for s in SOURCES:
        if s.name == name:
            return s
    raise KeyError(f"unknown source {name!r}; known: {[s.name for s in SOURCES]}")


def feed(source_name: str, feed_name: str) -> Feed:
    for f in source(source_name).feeds:
        if f.feed == feed_name:
            return f
    raise KeyError(f"unknown feed {source_name}/{feed_name}")
