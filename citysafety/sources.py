"""The one registry of department sources and their feeds.

Everything that needs to know a feed reads it from here: the ingest DAGs (one per source), the
readers (format, encoding, header row, column map), the raw schema, the demo generator, the
docs and the data-health page. Column rules follow ../shared/feeds/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from citysafety.config import EMB_API_CONN_ID, GRID_DB_CONN_ID

# Column kinds understood by citysafety.raw.parsing. A value that cannot be read as its kind
# quarantines the row (with the column and the value in the reason) unless the column is
# optional and empty.
TEXT = "text"
INT = "int"  # whole number >= 0 (casualty counts, employees)
DECIMAL = "decimal"  # number >= 0, thousands separators allowed ("1,234.5")
NUMBER = "number"  # any finite number, sign allowed (thresholds, sensor values)
DATETIME = "datetime"  # local (Asia/Shanghai) timestamp; ISO with offset converted to +08:00
DATE = "date"
BOOL = "bool"  # 是/否, true/false
CHOICE = "choice"  # text restricted to `choices`
# A count a department may write approximately (约200人, 200余人, 200多人次, 200人左右): kept as
# the delivered text (NFKC-folded) when it reads as such a count, else the row is quarantined;
# staging reads the number and whether it was approximate (macros/approx_count.sql).
APPROX_COUNT = "approx_count"
# Any text column may declare `choices`: the ingest quarantines a value that is not one of them
# (full-width forms folded, as citysafety.raw.parsing does for every kind), naming the column,
# the choices and the value.


@dataclass(frozen=True)
class Column:
    delivered: str  # header (CSV/XLSX) or key (JSON) as the department writes it
    name: str  # raw/staging column name
    kind: str = TEXT
    required: bool = False
    personal: bool = False  # personal data: raw layer only, masked everywhere else
    choices: tuple[str, ...] = ()
    description: str = ""
    # What a value outside `choices` does: True, the row is quarantined at ingest with the
    # reason; False, where the agreement flags such rows instead (风险等级: a level that
    # disagrees with L×S is flagged, 蓝色 is read as 蓝), it loads, the mart flags it and the
    # dbt choice test and the quality gate report it.
    strict: bool = True
    # A date or date-time column whose values may lie after the delivery (an expiry, a
    # deadline). Any other date later than the delivery (plus config.future_tolerance_days)
    # is implausible and quarantines its row.
    future_ok: bool = False


@dataclass(frozen=True)
class Pull:
    """How the platform fetches a pulled feed itself (citysafety.land), incrementally."""

    kind: str  # "http": the department's API | "sql": a table of the department's database
    connection: str  # the Airflow connection that reaches it (citysafety.config)
    key: str  # delivered name of the id: rows pulled at the watermark's instant are kept by it
    watermark: str  # delivered name of the column pulled from (the last value seen is kept)
    table: str | None = None  # sql: the table in the source database
    path: str | None = None  # http: the API path below the connection's base URL


@dataclass(frozen=True)
class Feed:
    source: str
    feed: str
    title: str  # Chinese title, as leaders know it
    form: str  # csv | xlsx | jsonl | parquet (pulled feeds land as jsonl extracts)
    file_glob: str
    cadence: timedelta
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Column whose latest value wins per key (dbt: macros/latest_version.sql); ties go to the later
    # file, then the later row. A column with choices: the later choice wins. "_source_file": the
    # latest file (by the date in its name, then its name); "_loaded_at": the latest load.
    latest_wins: str | None = None
    encoding: str = "utf-8"
    header_row: int = 1  # 1-based row of the header (XLSX title rows above it)
    sheet: str | None = None  # XLSX sheet name (None: the first sheet)
    description: str = ""
    pull: Pull | None = None  # the platform fetches it (citysafety.land); None: delivered
    # "table": copied into the build copy; "view": read in place from the raw Parquet (the
    # high-volume sensor feed, processed incrementally by dbt).
    build_storage: str = "table"

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
    department: str  # Chinese name of the department: the owner of its ingest DAG in Airflow
    feeds: tuple[Feed, ...] = field(default_factory=tuple)
    # The accident type its casualty events count under when it is a department of record
    # (marts.fct_casualty_events.department_name: 工矿商贸, 火灾, 道路交通); None otherwise.
    records_casualties: str | None = None


# The owner of the shared build (build_mart): the office that runs the platform.
PLATFORM_OWNER = "区安委办"


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

EMB_ENTERPRISES = Feed(
    source="emb",
    feed="enterprises",
    title="生产经营单位基础信息",
    form="xlsx",
    header_row=2,  # row 1 is a merged title
    file_glob="enterprises_*.xlsx",
    cadence=timedelta(days=31),
    key=("uscc",),
    latest_wins="_source_file",  # the latest snapshot is the truth
    description="Monthly full snapshot of production and business units.",
    columns=(
        Column("统一社会信用代码", "uscc", TEXT, description="GB 32100-2015 code; invalid ones flagged, kept"),
        Column("单位名称", "unit_name", TEXT, required=True),
        Column("所属街道", "street_raw", TEXT),
        Column("行业类别", "industry", TEXT, description=_GBT4754),
        Column("从业人数", "employees", INT),
        Column("是否规上企业", "above_scale", BOOL),
        Column("安全生产标准化等级", "standardisation_grade", TEXT, choices=("一级", "二级", "三级", "未达标")),
        Column("是否投保安责险", "insured", BOOL),
        Column("安责险到期日", "insurance_expires_on", DATE, future_ok=True),
        Column("是否重大危险源单位", "major_hazard_unit", BOOL),
    ),
)

EMB_HAZARD_SOURCES = Feed(
    source="emb",
    feed="hazard_sources",
    title="重大危险源及监测点",
    form="csv",
    file_glob="hazard_sources_*.csv",
    cadence=timedelta(days=92),
    key=("point_id",),
    latest_wins="_source_file",
    description="Full snapshot of major hazard sources, one row per monitoring point.",
    columns=(
        Column("危险源编号", "hazard_source_id", TEXT, required=True),
        Column("统一社会信用代码", "uscc", TEXT),
        Column("危险源名称", "hazard_source_name", TEXT),
        Column("危险源等级", "hazard_level", TEXT, choices=("一级", "二级", "三级", "四级")),
        Column("监测点编号", "point_id", TEXT, required=True),
        Column("监测指标", "metric", TEXT, choices=("temperature", "pressure", "level", "gas")),
        Column("单位", "unit", TEXT, choices=("℃", "MPa", "m", "%LEL")),
        Column("高报阈值", "high_threshold", NUMBER, required=True),
        Column("高高报阈值", "high_high_threshold", NUMBER),
    ),
)

EMB_SENSOR_READINGS = Feed(
    source="emb",
    feed="sensor_readings",
    title="重大危险源在线监测",
    form="parquet",
    file_glob="readings_*.parquet",
    cadence=timedelta(days=1),
    key=("point_id", "ts"),
    latest_wins="_loaded_at",  # a reading delivered again may correct its value
    build_storage="view",
    description="One Parquet file a day, one row a reading (about one a minute per point); late and repeated readings.",
    columns=(
        Column("point_id", "point_id", TEXT, required=True),
        Column("ts", "ts", DATETIME, required=True, description="reading time, UTC"),
        Column("value", "value", NUMBER, required=True),
    ),
)

EMB_INSPECTIONS = Feed(
    source="emb",
    feed="inspections",
    title="执法检查",
    form="jsonl",
    pull=Pull("http", connection=EMB_API_CONN_ID, path="/api/v1/inspections",
              key="inspection_id", watermark="updated_at"),
    file_glob="inspections_*.jsonl",
    cadence=timedelta(days=1),
    key=("inspection_id",),
    latest_wins="updated_at",
    description="Enforcement inspections pulled from the bureau's API, incrementally by updated_at.",
    columns=(
        Column("inspection_id", "inspection_id", TEXT, required=True),
        Column("uscc", "uscc", TEXT),
        Column("inspected_on", "inspected_on", DATE, required=True),
        Column("team", "team", TEXT),
        Column("findings", "findings", INT),
        Column("result", "result", TEXT, choices=("合格", "责令整改", "行政处罚", "停产整顿")),
        Column("penalty_yuan", "penalty_yuan", DECIMAL),
        Column("blacklisted", "blacklisted", BOOL),
        Column("updated_at", "updated_at", DATETIME, required=True),
    ),
)

GRID_HAZARD_REPORTS = Feed(
    source="grid",
    feed="hazard_reports",
    title="网格隐患排查",
    form="jsonl",
    pull=Pull("sql", connection=GRID_DB_CONN_ID, table="hazard_reports",
              key="report_id", watermark="updated_at"),
    file_glob="hazard_reports_*.jsonl",
    cadence=timedelta(days=1),
    key=("report_id",),
    latest_wins="updated_at",
    description="Hidden hazards found by grid workers, pulled from the grid database by updated_at.",
    columns=(
        Column("report_id", "report_id", TEXT, required=True),
        Column("found_on", "found_on", DATE, required=True),
        Column("street", "street_raw", TEXT),
        Column("community", "community", TEXT),
        Column("grid_code", "grid_code", TEXT),
        Column("uscc", "uscc", TEXT),
        Column("description", "description", TEXT),
        Column("level", "level", TEXT, choices=("一般", "重大")),
        Column("deadline", "deadline", DATE, future_ok=True),
        Column("rectified_on", "rectified_on", DATE),
        Column("status", "status", TEXT, choices=("待整改", "整改中", "已整改", "已销号")),
        Column("supervised", "supervised", BOOL),
        Column("reporter_name", "reporter_name", TEXT, personal=True),
        Column("reporter_id_no", "reporter_id_no", TEXT, personal=True),
        Column("reporter_phone", "reporter_phone", TEXT, personal=True),
        Column("updated_at", "updated_at", DATETIME, required=True),
    ),
)

SAFETY_OFFICE_RISK_POINTS = Feed(
    source="safety_office",
    feed="risk_points",
    title="城市安全风险清单",
    form="xlsx",
    file_glob="risk_points_*.xlsx",
    cadence=timedelta(days=92),
    key=("risk_point_id",),
    latest_wins="_source_file",
    description="Quarterly snapshot of the city safety risk inventory (L x S).",
    columns=(
        Column("风险点编号", "risk_point_id", TEXT, required=True),
        Column("风险点名称", "risk_point_name", TEXT),
        Column("街道", "street_raw", TEXT),
        Column("风险类别", "risk_category", TEXT,
               choices=("工业企业", "人员密集场所", "城市建设", "交通运输", "城市生命线", "自然灾害", "其他")),
        Column("可能性L", "likelihood", INT),
        Column("严重性S", "severity", INT),
        Column("风险值", "risk_value", INT),
        Column("风险等级", "risk_level", TEXT, choices=("红", "橙", "黄", "蓝"), strict=False),
        Column("管控责任单位", "responsible_unit", TEXT),
        Column("评估日期", "assessed_on", DATE),
    ),
)

EMERGENCY_PLANS = Feed(
    source="emergency",
    feed="plans",
    title="应急预案",
    form="csv",
    file_glob="plans_*.csv",
    cadence=timedelta(days=31),
    key=("plan_id",),
    latest_wins="_source_file",
    description="Monthly list of emergency plans and their parent plans.",
    columns=(
        Column("预案编号", "plan_id", TEXT, required=True),
        Column("预案名称", "plan_name", TEXT),
        Column("预案层级", "tier", TEXT, choices=("区级", "部门", "街道", "社区", "企业")),
        Column("编制单位", "owner_unit", TEXT),
        Column("上级预案编号", "parent_plan_id", TEXT),
        Column("发布日期", "published_on", DATE),
        Column("修订日期", "revised_on", DATE),
    ),
)

EMERGENCY_DRILLS = Feed(
    source="emergency",
    feed="drills",
    title="应急演练",
    form="csv",
    file_glob="drills_*.csv",
    cadence=timedelta(days=31),
    key=("drill_id",),
    latest_wins="_source_file",
    description="Monthly list of emergency drills.",
    columns=(
        Column("演练编号", "drill_id", TEXT, required=True),
        Column("预案编号", "plan_id", TEXT),
        Column("演练日期", "drilled_on", DATE, required=True),
        Column("演练形式", "drill_form", TEXT, choices=("桌面", "实战", "综合")),
        Column("参演人数", "participants", INT),
    ),
)

EMERGENCY_RESOURCES = Feed(
    source="emergency",
    feed="resources",
    title="应急资源",
    form="csv",
    file_glob="resources_*.csv",
    cadence=timedelta(days=31),
    key=("resource_id",),
    latest_wins="updated_on",
    description="Monthly list of emergency resources (teams, supplies, equipment).",
    columns=(
        Column("资源编号", "resource_id", TEXT, required=True),
        Column("资源类型", "resource_type", TEXT, choices=("救援队伍", "应急物资", "应急装备")),
        Column("名称", "resource_name", TEXT),
        Column("数量", "quantity", DECIMAL),
        Column("计量单位", "unit", TEXT),
        Column("所属街道", "street_raw", TEXT),
        Column("更新日期", "updated_on", DATE),
    ),
)

# The stages of a demonstration creation, in order. A failed assessment (区级评估 or 复评) returns a
# unit to 创建中, which is real; any other step back is a delivery error (the mart flags it).
DEMONSTRATION_STAGES = ("未启动", "申报", "创建中", "自评", "区级评估", "市级命名", "复评")

SAFETY_OFFICE_DEMONSTRATION = Feed(
    source="safety_office",
    feed="demonstration",
    title="示范街道和社区创建",
    form="xlsx",
    sheet="创建进展",
    file_glob="demonstration_*.xlsx",
    cadence=timedelta(days=92),
    # One row per creating unit and criterion of each quarterly snapshot; within a quarter the
    # later file (then the later row) wins, the quarter being in the file name.
    key=("unit_id", "criterion_id"),
    latest_wins="_source_file",
    description="Quarterly snapshot of demonstration street and community creation, one row per unit and criterion.",
    columns=(
        Column("创建单位编号", "unit_id", TEXT, required=True, description="创建单位编号，跨季度稳定"),
        Column("创建单位", "unit_name", TEXT, required=True, description="创建单位名称（原始写法）"),
        Column("单位层级", "unit_tier", TEXT, required=True, choices=("街道", "社区")),
        Column("所属街道", "street_raw", TEXT, description="所属街道（原始写法；街道单位即其本身）"),
        Column("创建类型", "creation_type", TEXT, choices=("安全发展示范街道", "安全社区", "综合减灾示范社区")),
        Column("目标年度", "target_year", INT),
        Column("阶段", "stage", TEXT, required=True, choices=DEMONSTRATION_STAGES),
        Column("阶段日期", "stage_date", DATE),
        Column("指标编号", "criterion_id", TEXT, required=True, description="评分细则指标编号，如 B3-2"),
        Column("指标名称", "criterion_name", TEXT, description="指标名称（各季度措辞略有出入）"),
        Column("满分", "full_points", DECIMAL, required=True),
        # Signed: a negative score is a typing error the mart flags and reads as 0, as it caps a
        # score above 满分 (the unit's assessment stays whole).
        Column("自评得分", "self_points", NUMBER),
        Column("评估得分", "assessed_points", NUMBER, description="区级评估得分；评估前为空"),
    ),
)

EMB_TRAININGS = Feed(
    source="emb",
    feed="trainings",
    title="安全宣传教育与培训",
    form="csv",
    file_glob="trainings_*.csv",
    cadence=timedelta(days=31),
    key=("activity_id",),
    latest_wins="_source_file",
    description="Monthly safety training and public education activities, one row per activity as its organiser reports it.",
    columns=(
        Column("活动编号", "activity_id", TEXT, required=True),
        Column("活动日期", "activity_date", DATE, required=True),
        Column("活动类型", "activity_type", TEXT, required=True,
               choices=("安全培训", "宣传活动", "应急演练进社区", "安全教育基地参观", "线上课程")),
        Column("主题", "topic", TEXT),
        Column("主办单位", "organiser", TEXT),
        Column("所属街道", "street_raw", TEXT, description="所属街道（原始写法）；全区性和线上活动为空"),
        Column("对象", "audience", TEXT,
               choices=("企业主要负责人", "安全管理人员", "特种作业人员", "从业人员", "居民", "学生")),
        Column("统一社会信用代码", "uscc", TEXT, description="面向单一企业的活动所培训的企业"),
        Column("参加人次", "attendances", APPROX_COUNT, description="参加人次；有时写作“约200人”“200余人”"),
        Column("考核合格人数", "passed", INT, description="考核合格人数（仅培训）；不应超过参加人次"),
        Column("时长(小时)", "hours", DECIMAL),
    ),
)

SOURCES: tuple[Source, ...] = (
    Source("emb", "区应急管理局", (EMB_ACCIDENTS, EMB_ENTERPRISES, EMB_HAZARD_SOURCES,
                              EMB_SENSOR_READINGS, EMB_INSPECTIONS, EMB_TRAININGS), records_casualties="工矿商贸"),
    Source("fire", "区消防救援大队", (FIRE_FIRES,), records_casualties="火灾"),
    Source("traffic", "交警大队", (TRAFFIC_ROAD_ACCIDENTS,), records_casualties="道路交通"),
    Source("stats", "区统计局", (STATS_ECONOMY,)),
    Source("grid", "网格化治理平台", (GRID_HAZARD_REPORTS,)),
    Source("safety_office", "区安委办", (SAFETY_OFFICE_RISK_POINTS, SAFETY_OFFICE_DEMONSTRATION)),
    Source("emergency", "区应急指挥中心", (EMERGENCY_PLANS, EMERGENCY_DRILLS, EMERGENCY_RESOURCES)),
)


def all_feeds() -> tuple[Feed, ...]:
    return tuple(f for s in SOURCES for f in s.feeds)


def casualty_departments() -> dict[str, str]:
    """The departments of record of casualty events, in registry order: source name -> the
    accident type its events count under (emb -> 工矿商贸, fire -> 火灾, traffic -> 道路交通)."""
    return {s.name: s.records_casualties for s in SOURCES if s.records_casualties}


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


# --- The registry as dbt reads it ---------------------------------------------------------------
# dbt cannot import this module: `python -m citysafety.sources dbt` writes what dbt needs of it
# (key, latest_wins, choices of every feed; the feeds in order with their names, cadence and
# street column), the codes of the seed streets (dbt cannot read a seed when it compiles) and
# the departments of record of casualties, into macros, dbt_project/macros/registry.sql, which
# is checked in;
# tests/test_registry.py fails when the file and the registry (or the seed) disagree.

DBT_REGISTRY_FILE = "macros/registry.sql"


def dbt_registry() -> dict[str, dict]:
    """Per feed id (the raw table, also the staging model's name after `stg_`): its key, the
    column whose latest value wins and the declared choices of each column, in registry names."""
    return {
        f.id: {
            "key": list(f.key),
            "latest_wins": f.latest_wins,
            "choices": {c.name: list(c.choices) for c in f.columns if c.choices},
        }
        for f in all_feeds()
    }


# The staging column that holds a feed's delivered street (所属街道 / 街道 / street): a feed that
# declares it delivers a street, and dbt's list of street values (int_street_values_delivered)
# reads every feed that does.
STREET_COLUMN = "street_raw"


def dbt_feed_list() -> list[dict]:
    """The feeds in registry order, as the 数据健康 reporting table (rpt_data_health_feeds) and the
    street-value list (int_street_values_delivered) read them: source, feed, the department's and
    the feed's Chinese names, the agreed cadence in whole days and the delivered street column
    (None: the feed delivers no street)."""
    feeds = []
    for s in SOURCES:
        for f in s.feeds:
            days = f.cadence / timedelta(days=1)
            if not days.is_integer():  # the mart publishes cadence_days as an integer
                raise ValueError(f"{f.id}: cadence {f.cadence} is not a whole number of days")
            feeds.append({
                "source": f.source,
                "feed": f.feed,
                "department": s.department,
                "title": f.title,
                "cadence_days": int(days),
                "street_column": STREET_COLUMN if any(c.name == STREET_COLUMN for c in f.columns) else None,
            })
    return feeds


def dbt_registry_text() -> str:
    import json

    from citysafety.streets import UNKNOWN_STREET, street_codes

    def jinja(v) -> str:  # a Jinja literal (JSON but for none)
        if isinstance(v, dict):
            return "{" + ", ".join(f"{jinja(k)}: {jinja(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(jinja(x) for x in v) + "]"
        return "none" if v is None else json.dumps(v, ensure_ascii=False)

    feeds = ",\n".join(f"    {jinja(i)}: {jinja(e)}" for i, e in dbt_registry().items())
    return (
        "{#- Generated from citysafety/sources.py by `python -m citysafety.sources dbt`: do not edit.\n"
        "    Per feed (raw table name): key, latest_wins, choices - read by macros/latest_version.sql\n"
        "    and tests/generic/registry_choices.sql. -#}\n"
        "{% macro registry_feeds() -%}\n"
        "{{ return({\n" + feeds + "\n}) }}\n"
        "{%- endmacro %}\n"
        "\n"
        "{#- The codes of the seed streets (dbt_project/seeds/streets.csv, the one list) for tests that\n"
        "    check a street_code without joining the seed (tests/generic/street_code.sql). -#}\n"
        "{% macro street_codes() -%}\n"
        "{{ return(" + jinja([*street_codes(), UNKNOWN_STREET]) + ") }}\n"
        "{%- endmacro %}\n"
        "\n"
        "{#- The feeds in registry order (source, feed, department, title, cadence_days,\n"
        "    street_column) - read by marts/rpt_data_health_feeds.sql and\n"
        "    intermediate/int_street_values_delivered.sql. -#}\n"
        "{% macro registry_feed_list() -%}\n"
        "{{ return([\n" + ",\n".join(f"    {jinja(f)}" for f in dbt_feed_list()) + "\n]) }}\n"
        "{%- endmacro %}\n"
        "\n"
        "{#- The departments of record of casualty events, in registry order: source name -> the\n"
        "    accident type its events count under (marts.fct_casualty_events.department_name). -#}\n"
        "{% macro casualty_departments() -%}\n"
        "{{ return(" + jinja(casualty_departments()) + ") }}\n"
        "{%- endmacro %}\n"
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    from citysafety.config import DBT_PROJECT_DIR

    parser = argparse.ArgumentParser(prog="python -m citysafety.sources")
    parser.add_argument("command", choices=["dbt"], help="write dbt's copy of the registry")
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date")
    args = parser.parse_args(argv)
    path, text = DBT_PROJECT_DIR / DBT_REGISTRY_FILE, dbt_registry_text()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        print(f"{path} is up to date")
        return 0
    if args.check:
        print(f"{path} is behind citysafety/sources.py: run `python -m citysafety.sources dbt`")
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
