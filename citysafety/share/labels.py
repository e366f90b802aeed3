"""Chinese labels of every column of every shared table (XLSX headers, manifests, dashboards).

`label(table, column)` gives the label: the table's own entry first, then the common one, then
a fallback read from the dbt column description (its leading Chinese words), then the column
name. tests/test_access.py checks that every column of every shared mart has an explicit label
here and that the labels of a table are unique (they become XLSX headers).

Dashboards may reuse them: ``headers = labels.headers("fct_hazards", df.columns)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Columns that mean the same in every table that has them.
COMMON: dict[str, str] = {
    "street_code": "街道代码",
    "street_name": "街道名称",
    "year": "年份",
    "uscc": "统一社会信用代码",
    "unit_name": "单位名称",
    "industry": "行业类别",
    "employees": "从业人数",
    "hazard_source_id": "危险源编号",
    "hazard_source_name": "危险源名称",
    "hazard_level": "危险源等级",
    "point_id": "监测点编号",
    "plan_id": "预案编号",
    "risk_level": "风险等级",
    "snapshot_quarter": "快照季度",
    "snapshot_date": "快照日期",
    "delivered_rows": "快照中出现行数",
    "updated_at": "更新时间",
    "source_file": "来源文件",
    "source_row_number": "来源文件行号",
    "day": "日期",
    "deaths": "死亡人数",
    "injuries": "受伤人数",
}

BY_TABLE: dict[str, dict[str, str]] = {
    "kpi_safety_targets": {
        "year": "年份",
        "deaths_workplace": "工矿商贸死亡人数",
        "deaths_fire": "火灾死亡人数",
        "deaths_road": "道路交通死亡人数",
        "deaths_total": "各类生产安全事故死亡人数",
        "events": "伤亡事件数",
        "gdp_100m_yuan": "地区生产总值（亿元）",
        "gdp_status": "GDP口径",
        "deaths_per_100m_gdp": "亿元GDP生产安全事故死亡率",
        "deaths_change_vs_2016": "死亡人数较2016年变化",
        "rate_change_vs_2016": "死亡率较2016年变化",
        "deaths_target_2020": "死亡人数2020年目标",
        "rate_target_2020": "死亡率2020年目标",
        "deaths_target_met": "死亡人数是否达标",
        "rate_target_met": "死亡率是否达标",
    },
    "kpi_official_indicators": {
        "indicator_id": "指标编号",
        "year": "年份",
        "street_code": "街道代码（ALL为全区）",
        "is_district": "是否全区",
        "accidents": "事故起数",
        "accidents_yoy_change": "事故起数同比",
        "deaths": "死亡人数",
        "deaths_yoy_change": "死亡人数同比",
        "deaths_per_100m_gdp": "亿元GDP生产安全事故死亡率",
        "employees": "从业人员数",
        "workplace_deaths_per_100k_employees": "工矿商贸就业人员十万人死亡率",
        "population_10k": "常住人口（万人）",
        "fire_deaths_per_100k_residents": "火灾十万人口死亡率",
        "vehicles_10k": "机动车保有量（万辆）",
        "road_deaths_per_10k_vehicles": "道路交通万车死亡率",
        "hazards_found": "排查隐患数",
        "hazards_rectified": "已整改隐患数",
        "hazard_rectification_rate": "隐患整改率",
        "major_hazards": "重大隐患数",
        "major_hazards_supervised": "重大隐患挂牌督办数",
        "major_hazard_supervised_rate": "重大隐患挂牌督办率",
        "monitoring_coverage": "重大危险源在线监测覆盖率",
        "insurance_coverage": "安责险覆盖率",
        "drill_coverage": "预案演练覆盖率",
    },
    "fct_casualty_events": {
        "event_id": "事件编号",
        "department": "登记部门代码",
        "department_name": "事故类型",
        "source_record_id": "原始记录编号",
        "occurred_at": "发生时间",
        "occurred_on": "发生日期",
        "year": "年份",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "deaths": "死亡人数",
        "injuries": "受伤人数",
        "direct_loss_10k_yuan": "直接经济损失（万元）",
        "category": "事故类别",
        "linked_emb_accident_ids": "关联应急管理局事故编号",
        "reported_at": "报送时间",
        "source_file": "来源文件",
        "source_row_number": "来源文件行号",
    },
    "dim_streets": {
        "street_code": "街道代码",
        "street_name": "街道名称",
        "short_name": "简称",
        "is_unknown": "是否未知街道",
    },
    "dim_enterprises": {
        "enterprise_key": "单位主键",
        "uscc": "统一社会信用代码",
        "uscc_delivered": "统一社会信用代码（报送原值）",
        "uscc_valid": "信用代码是否有效",
        "uscc_issue": "信用代码问题",
        "unit_name": "单位名称",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "street_raw": "所属街道（报送原值）",
        "industry": "行业类别",
        "employees": "从业人数",
        "above_scale": "是否规上企业",
        "standardisation_grade": "安全生产标准化等级",
        "insured": "是否投保安责险",
        "insurance_expires_on": "安责险到期日",
        "insurance_current": "安责险是否有效",
        "major_hazard_unit": "是否重大危险源单位",
        "blacklisted": "是否在黑名单",
        "blacklisted_since": "列入黑名单日期",
        "blacklisted_until": "黑名单截止日期",
        "is_active": "是否在册",
        "snapshot_date": "快照日期",
        "first_seen_on": "首次出现日期",
        "missing_since": "停止出现日期",
        "delivered_rows": "快照中出现行数",
        "source_file": "来源文件",
        "source_row_number": "来源文件行号",
    },
    "fct_inspections": {
        "inspection_id": "检查编号",
        "uscc": "统一社会信用代码",
        "inspected_on": "检查日期",
        "year": "年份",
        "team": "执法中队",
        "findings": "发现问题数",
        "result": "检查结果",
        "penalty_yuan": "罚款（元）",
        "penalty_10k_yuan": "罚款（万元）",
        "blacklisted": "是否因本次检查列入黑名单",
        "updated_at": "更新时间",
        "versions": "版本数",
        "source_file": "来源文件",
        "street_code": "街道代码",
    },
    "agg_monitoring_coverage": {
        "hazard_source_id": "危险源编号",
        "hazard_source_name": "危险源名称",
        "uscc": "统一社会信用代码",
        "hazard_level": "危险源等级",
        "points": "监测点数",
        "points_reporting_24h": "24小时内有数据的监测点数",
        "coverage_24h": "24小时在线监测覆盖率",
        "last_reading_at": "最近读数时间",
        "as_of_time": "统计时点",
        "street_code": "街道代码",
    },
    "agg_sensor_alarms_daily": {
        "day": "日期",
        "hazard_source_id": "危险源编号",
        "hazard_source_name": "危险源名称",
        "uscc": "统一社会信用代码",
        "hazard_level": "危险源等级",
        "points_reporting": "有数据的监测点数",
        "readings": "读数条数",
        "alarm_readings": "报警读数条数",
        "points_alarming": "报警监测点数",
        "episodes": "报警次数",
        "high_high_episodes": "高高报次数",
        "longest_episode_minutes": "最长报警时长（分钟）",
        "street_code": "街道代码",
    },
    "fct_sensor_alarm_episodes": {
        "episode_id": "报警编号",
        "point_id": "监测点编号",
        "hazard_source_id": "危险源编号",
        "uscc": "统一社会信用代码",
        "metric": "监测指标",
        "unit": "计量单位",
        "started_at": "报警开始时间",
        "ended_at": "最后报警读数时间",
        "cleared_at": "报警解除时间",
        "readings": "报警读数条数",
        "peak_value": "峰值",
        "high_threshold": "高报阈值",
        "high_high_threshold": "高高报阈值",
        "reached_high_high": "是否达到高高报",
        "duration_minutes": "持续时长（分钟）",
        "day": "报警开始日期",
        "street_code": "街道代码",
    },
    "fct_risk_points": {
        "risk_point_id": "风险点编号",
        "risk_point_name": "风险点名称",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "risk_category": "风险类别",
        "likelihood": "可能性L",
        "severity": "严重性S",
        "risk_value": "风险值",
        "risk_value_computed": "风险值（复算）",
        "risk_level": "风险等级（报送）",
        "risk_level_computed": "风险等级（复算）",
        "risk_level_effective": "风险等级（采用）",
        "value_consistent": "风险值是否一致",
        "level_consistent": "风险等级是否一致",
        "flagged": "是否存疑",
        "flag_reason": "存疑原因",
        "responsible_unit": "管控责任单位",
        "assessed_on": "评估日期",
        "snapshot_quarter": "快照季度",
        "delivered_rows": "快照中出现行数",
        "source_file": "来源文件",
        "source_row_number": "来源文件行号",
    },
    "agg_risk_points_by_street": {
        "street_code": "街道代码",
        "risk_level": "风险等级",
        "risk_level_order": "风险等级序号",
        "risk_points": "风险点数",
        "flagged_points": "存疑风险点数",
        "snapshot_quarter": "快照季度",
    },
    "fct_hazards": {
        "report_id": "隐患编号",
        "found_on": "发现日期",
        "year": "年份",
        "street_code": "街道代码",
        "community": "社区",
        "grid_code": "网格编码",
        "uscc": "统一社会信用代码",
        "level": "隐患等级",
        "is_major": "是否重大隐患",
        "deadline": "整改期限",
        "rectified_on": "整改日期",
        "status": "整改状态",
        "is_rectified": "是否已整改",
        "is_open": "是否未整改",
        "is_overdue": "是否逾期",
        "days_to_rectify": "整改用时（天）",
        "supervised": "是否挂牌督办",
        "major_not_supervised": "重大隐患未挂牌督办",
        "updated_at": "更新时间",
        "source_file": "来源文件",
    },
    "fct_emergency_plans": {
        "plan_id": "预案编号",
        "plan_name": "预案名称",
        "tier": "预案层级",
        "owner_unit": "编制单位",
        "parent_plan_id": "上级预案编号",
        "reaches_district_plan": "是否衔接区级预案",
        "link_issue": "衔接问题",
        "depth": "距区级预案层数",
        "chain": "预案链",
        "published_on": "发布日期",
        "revised_on": "修订日期",
        "drills_last_12_months": "近12个月演练次数",
        "last_drilled_on": "最近演练日期",
        "drilled_in_last_12_months": "近12个月是否演练",
        "street_code": "街道代码（ALL为全区）",
    },
    "fct_drills": {
        "drill_id": "演练编号",
        "drilled_on": "演练日期",
        "drill_year": "演练年份",
        "drill_form": "演练形式",
        "participants": "参演人数",
        "plan_id": "预案编号",
        "plan_current": "预案是否现行",
        "plan_known": "预案是否曾报送",
        "plan_name": "预案名称",
        "plan_tier": "预案层级",
        "street_code": "街道代码",
        "versions": "报送版本数",
        "source_file": "来源文件",
        "source_row_number": "来源文件行号",
    },
    "agg_street_values": {
        "source": "报送部门",
        "feed": "数据项",
        "street_raw": "街道（报送原值）",
        "street_code": "街道代码",
        "match_method": "匹配方式",
        "rows": "报送行数",
        "first_seen_on": "首次加载日期",
        "last_seen_on": "最近加载日期",
    },
    "agg_resources_by_street": {
        "street_code": "街道代码",
        "street_name": "街道名称",
        "resource_type": "资源类型",
        "resources": "资源条数",
        "quantity_total": "数量合计",
        "quantity_unit": "计量单位",
        "units": "计量单位种数",
        "quantity_by_unit": "分单位数量",
        "last_updated_on": "最近更新日期",
    },
}

# The first Chinese words of a description, with a full-width bracket after them: 罚款（元）.
_CJK_WORDS = re.compile(r"[\u3400-\u9fff]+(?:（[^）]*）)?")


def _base(table: str) -> str:
    """`marts.fct_x_v2` -> `fct_x` (labels are per table, shared by its versions)."""
    name = table.split(".", 1)[-1]
    return re.sub(r"_v\d+$", "", name)


def _from_description(table: str, column: str) -> str | None:
    from citysafety.share import contracts

    for col in contracts.mart_contracts().get(_base(table), []):
        if col.name == column:
            match = _CJK_WORDS.search(col.description)
            return match.group(0) if match else None
    return None


def explicit(table: str, column: str) -> str | None:
    """The label written in this module, or None."""
    own = BY_TABLE.get(_base(table), {})
    return own.get(column) or COMMON.get(column)


def label(table: str, column: str) -> str:
    """The Chinese label of a column of a shared table (never empty)."""
    return explicit(table, column) or _from_description(table, column) or column


def headers(table: str, columns: Iterable[str]) -> dict[str, str]:
    """column -> label for the given columns, in their order (for download buttons and XLSX)."""
    return {c: label(table, c) for c in columns}
