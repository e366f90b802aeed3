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
        "gdp_due_date": "GDP约定报送日期",
        "gdp_missing_reason": "GDP缺失说明",
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
        "attendances_per_1000_residents": "每千名常住人口参加人次",
        "enterprise_training_coverage": "企业培训考核覆盖率",
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
        "street_order": "街道顺序",
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
        "result_category": "检查结果（统计口径）",
        "penalised": "是否罚款",
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
        "unit_name": "运营单位名称",
        "fully_covered": "是否全部在线",
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
    "fct_inspection_priorities": {
        "risk_score": "风险评分",
        "district_rank": "全区排名",
        "street_rank": "街道内排名",
        "on_inspection_list": "是否列入下月检查建议清单",
        "reason_1_zh": "主要原因一",
        "reason_2_zh": "主要原因二",
        "reason_3_zh": "主要原因三",
        "scored_for_start": "预测期起始日",
        "scored_for_end": "预测期截止日",
        "ranker": "排序方法代码",
        "ranker_zh": "排序方法",
        "model_version": "模型版本",
    },
    "inspection_model_card": {
        "fold": "回测折",
        "ranker": "排序方法代码",
        "ranker_zh": "排序方法",
        "is_published_ranker": "是否本期采用",
        "train_years": "训练年份",
        "test_year": "检验年份",
        "units": "检验单位数",
        "positives": "发生事件单位数",
        "events": "事件数",
        "auc": "区分度（AUC）",
        "auc_low": "区分度区间下限",
        "auc_high": "区分度区间上限",
        "top10_capture": "前10%单位所占事件比例",
        "top20_capture": "前20%单位所占事件比例",
        "published_ranker": "本期采用的排序方法",
        "model_version": "模型版本",
        "decision_zh": "采用原因",
        "data_window_start": "训练数据起始日",
        "data_window_end": "训练数据截止日",
        "training_rows": "训练行数",
        "scored_for_start": "预测期起始日",
        "scored_for_end": "预测期截止日",
        "features_zh": "使用的特征",
        "outcome_zh": "预测结果",
        "known_limits_zh": "已知局限",
        "is_best_baseline": "是否最佳基线",
    },
    "rpt_inspection_list_followup": {
        "followup_id": "编号",
        "list_month": "清单月份",
        "listed_units": "列入清单单位数",
        "inspected_units": "当月已检查单位数",
        "inspected_share": "清单单位检查率",
        "inspections": "检查次数",
        "findings": "发现问题数",
        "units_with_findings": "发现问题单位数",
        "units_penalised": "受处罚单位数",
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
        "unit_name": "运营单位名称",
        "hazard_source_name": "危险源名称",
        "hazard_level": "危险源等级",
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
        "risk_category_label": "风险类别（统计口径）",
        "risk_level_label": "风险等级（统计口径）",
        "risk_level_order": "风险等级序号",
        "flag_reason_zh": "存疑原因（中文）",
    },
    "agg_risk_points_by_street": {
        "street_code": "街道代码",
        "risk_level": "风险等级",
        "risk_level_order": "风险等级序号",
        "risk_points": "风险点数",
        "flagged_points": "存疑风险点数",
        "snapshot_quarter": "快照季度",
        "street_highest_level": "街道最高风险等级",
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
        "plan_tier_label": "统计预案层级",
    },
    "rpt_targets_projection": {
        "projection_id": "研判编号",
        "street_code": "街道代码",
        "indicator": "指标代码",
        "indicator_name": "指标名称",
        "unit": "计量单位",
        "seen_from_year": "研判年份",
        "mode": "研判方式",
        "method": "研判方法",
        "target_2020": "2020年目标值",
        "value_2020": "2020年实际或预计值",
        "base_year": "基准年份",
        "base_value": "基准年数值",
        "change_vs_base": "较基准年变化",
        "last_year": "推算起点年份",
        "last_value": "推算起点年数值",
        "annual_change": "年均变化",
        "required_change": "达到目标所需年均变化",
        "target_met": "是否达到2020年目标",
        "unavailable_reason": "无法研判原因",
    },
    "rpt_alerts_today_hazards": {
        "street_code": "街道代码",
        "major_overdue_open": "重大隐患逾期未整改数",
        "major_not_supervised_open": "重大隐患未挂牌督办数",
        "major_overdue_not_supervised": "其中已逾期的未挂牌督办重大隐患数",
        "overdue_open": "逾期未整改隐患数",
        "open_hazards": "未整改隐患数",
        "as_of_date": "统计日期",
    },
    "rpt_alerts_today_monitoring": {
        "street_code": "街道代码",
        "hazard_sources": "重大危险源数",
        "sources_below_full_coverage": "监测覆盖不足危险源数",
        "episodes_last_24h": "近24小时报警次数",
        "high_high_episodes_last_24h": "近24小时高高报次数",
        "hazard_sources_alarming_last_24h": "近24小时报警危险源数",
        "window_start": "统计窗口开始时间",
        "as_of_time": "统计时点",
    },
    "rpt_monthly_briefing": {
        "briefing_id": "月报行编号",
        "street_code": "街道代码（ALL为全区）",
        "street_name": "街道名称",
        "report_month": "统计月份",
        "month": "月份",
        "is_report_month": "是否统计月份",
        "section": "栏目代码",
        "section_name": "栏目",
        "section_order": "栏目顺序",
        "indicator": "指标代码",
        "indicator_name": "指标名称",
        "unit": "计量单位",
        "indicator_order": "指标顺序",
        "value": "本月数值",
        "value_last_year": "去年同期",
        "change": "同比增减",
        "change_ratio": "同比增幅",
        "definition": "指标口径",
        "as_of_date": "统计日",
    },
    "rpt_alerts_today_plans": {
        "street_code": "街道代码",
        "plans": "现行预案数",
        "plans_not_reaching_district": "未衔接区级的预案数",
    },
    "rpt_hazards_by_month": {
        "report_id": "统计行编号",
        "found_month": "发现月份",
        "year": "发现年份",
        "found": "排查隐患数",
        "rectified": "已整改隐患数",
        "open_hazards": "未整改隐患数",
        "open_overdue": "逾期未整改隐患数",
        "rectified_late": "逾期后整改隐患数",
        "overdue": "逾期隐患数",
        "major": "重大隐患数",
        "major_supervised": "已挂牌督办重大隐患数",
        "major_not_supervised": "未挂牌督办重大隐患数",
        "major_not_supervised_open": "未挂牌督办且未整改重大隐患数",
    },
    "rpt_enforcement_inspections": {
        "report_id": "统计行编号",
        "inspected_month": "检查月份",
        "year": "检查年份",
        "result_category": "检查结果",
        "inspections": "检查次数",
        "findings": "发现问题数",
        "penalty_10k_yuan": "罚款金额（万元）",
        "penalised": "罚款案件数",
        "blacklistings": "列入黑名单次数",
    },
    "rpt_enforcement_insurance": {
        "units": "在册单位数",
        "insured": "安责险在保单位数",
        "insurance_coverage": "安责险覆盖率",
        "snapshot_date": "名录日期",
    },
    "rpt_emergency_plans_by_tier": {
        "report_id": "统计行编号",
        "tier": "预案层级",
        "tier_order": "层级顺序",
        "plans": "现行预案数",
        "drilled_last_12_months": "近12个月已演练预案数",
        "drill_coverage_12_months": "近12个月演练覆盖率",
        "reaching_district": "已衔接区级预案数",
        "not_reaching_district": "未衔接区级预案数",
    },
    "rpt_risk_by_category": {
        "report_id": "统计行编号",
        "risk_category": "风险类别",
        "risk_category_order": "类别顺序",
        "risk_level_order": "等级顺序",
        "risk_points": "风险点数",
        "flagged_points": "存疑风险点数",
    },
    "rpt_overview_casualties": {
        "report_id": "统计行编号",
        "department": "登记部门代码",
        "department_name": "登记部门",
        "events": "伤亡事件数",
        "deaths": "死亡人数",
        "injuries": "受伤人数",
        "direct_loss_10k_yuan": "直接经济损失（万元）",
    },
    "rpt_data_health_deliveries": {
        "report_id": "统计行编号",
        "source": "报送部门",
        "feed": "数据项",
        "loaded_on": "加载日期",
        "files": "交付文件数",
        "files_loaded": "已加载文件数",
        "files_partial": "部分隔离文件数",
        "files_rejected": "拒收文件数",
        "files_duplicate": "重复交付文件数",
        "files_empty": "空文件数",
        "files_other": "其他状态文件数",
        "rows_delivered": "交付行数",
        "rows_loaded": "加载行数",
        "rows_quarantined": "隔离行数",
        "last_loaded_at": "最近加载时间",
        "last_file_name": "最近交付文件",
        "last_status": "最近交付文件状态",
        "files_resent": "同名重发文件数",
    },
    "rpt_data_health_feeds": {
        "feed_id": "数据项编码",
        "source": "报送部门",
        "feed": "数据项",
        "department": "部门",
        "title": "数据项名称",
        "feed_order": "显示顺序",
        "registered": "是否登记",
        "cadence_days": "约定交付周期（天）",
        "last_loaded_at": "最近交付时间",
        "last_file_name": "最近交付文件",
        "last_status": "最近交付文件状态",
        "due_at": "下次交付截止时间",
        "as_of_at": "状态判定时点",
        "status": "时效状态",
        "days_late": "逾期天数",
    },
    "rpt_monitoring_alarm_windows": {
        "report_id": "统计行编号",
        "window_days": "窗口天数",
        "window_from": "窗口起始日",
        "window_to": "窗口截止日",
        "episodes": "报警次数",
        "high_high_episodes": "高高报次数",
        "hazard_sources_alarming": "报警危险源数",
    },
    "rpt_emergency_drills_by_year": {
        "report_id": "统计行编号",
        "drill_year": "演练年度",
        "plan_tier_label": "预案层级",
        "tier_order": "层级顺序",
        "drills": "演练次数",
        "participants": "参演人数",
    },
    "rpt_data_health_source_freshness": {
        "report_id": "统计行编号",
        "source": "报送部门",
        "table_name": "检查的数据表",
        "feed": "数据项",
        "status": "检查结果",
        "status_order": "紧急程度顺序",
        "max_loaded_at": "最近加载时间",
        "warn_after": "预警阈值",
        "error_after": "超期阈值",
    },
    "rpt_data_health_quarantine_reasons": {
        "report_id": "统计行编号",
        "source": "报送部门",
        "feed": "数据项",
        "reason": "隔离原因",
        "file_sha256": "文件校验值（SHA-256）",
        "quarantined_on": "隔离日期",
        "rows_quarantined": "隔离行数",
        "last_quarantined_at": "最近隔离时间",
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
    "fct_alarm_responses": {
        "alarm_id": "告警编号",
        "alarm_key": "告警键",
        "hazard_source_id": "危险源编号",
        "point_id": "监测点编号",
        "grade": "预警等级",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "alarm_month": "报警月份",
        "status": "处置状态",
        "started_at": "报警开始时间",
        "ended_at": "报警结束时间",
        "raised_at": "告警产生时间",
        "notified_at": "首条通知送达时间",
        "acknowledged_at": "签收时间",
        "arrived_at": "到场时间",
        "handled_at": "处置完毕时间",
        "archived_at": "归档时间",
        "closed_at": "闭环时间",
        "closed_by": "闭环依据",
        "notifications": "通知消息数",
        "notifications_sent": "已送达消息数",
        "escalated": "是否升级",
        "escalations": "升级次数",
        "escalated_at": "首次升级时间",
        "minutes_to_raise": "发现时延（分钟）",
        "minutes_to_notify": "通知用时（分钟）",
        "minutes_to_acknowledge": "签收用时（分钟）",
        "minutes_to_arrive": "到场用时（分钟）",
        "minutes_to_close": "闭环用时（分钟）",
        "is_open": "是否未结案",
        "as_of_at": "统计时点",
        "open_age_minutes": "未结案时长（分钟）",
    },
    "agg_alarm_response_by_month": {
        "report_id": "统计编号",
        "alarm_month": "报警月份",
        "grade": "预警等级",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "alarms": "告警数",
        "notified": "已通知",
        "acknowledged": "已签收",
        "on_site": "已到场",
        "closed": "已处置完毕",
        "archived": "已归档",
        "escalated": "曾升级",
        "still_open": "尚未结案",
        "p50_minutes_to_acknowledge": "签收用时中位数（分钟）",
        "p95_minutes_to_acknowledge": "签收用时P95（分钟）",
        "p50_minutes_to_close": "闭环用时中位数（分钟）",
        "p95_minutes_to_close": "闭环用时P95（分钟）",
    },
    "fct_demonstration_units": {
        "unit_quarter_id": "单位季度编号",
        "unit_id": "创建单位编号",
        "unit_name": "创建单位名称",
        "unit_tier": "单位层级",
        "creation_type": "创建类型",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "target_year": "目标年度",
        "snapshot_quarter": "快照季度",
        "snapshot_year": "快照年份",
        "quarter_end": "快照季度末日期",
        "is_latest_snapshot": "是否最近一期",
        "stage": "阶段（统计口径）",
        "stage_order": "阶段次序",
        "stage_delivered": "阶段（报送原值）",
        "stage_date": "到达该阶段日期",
        "is_named": "是否已命名",
        "is_failed_assessment": "本季度是否评估未通过",
        "is_failed_reassessment": "本季度是否复评未通过",
        "is_stage_regression_flagged": "是否报送阶段倒退（存疑）",
        "criteria": "评分指标数",
        "full_points": "满分合计",
        "self_share": "自评得分率",
        "assessed_share": "评估得分率",
        "b3_min_assessed_share": "B3类指标最低评估得分率",
        "passed": "是否通过评估",
        "is_assessment_missing_flagged": "是否评估得分缺失（存疑）",
        "weak_criteria_count": "得分率低于60%的指标数",
        "weak_criteria": "得分率低于60%的指标",
        "scores_out_of_range": "得分超出满分范围的指标数",
        "name_spellings": "名称写法数",
    },
    "agg_demonstration_by_street": {
        "street_year_id": "街道年度编号",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "year": "年份",
        "units_listed": "创建清单单位数",
        "units_planned": "计划当年命名单位数",
        "units_planned_named": "计划当年命名且已命名单位数",
        "units_not_started": "未启动单位数",
        "units_in_progress": "创建中单位数",
        "units_named": "已命名单位数",
        "units_named_in_year": "当年首次命名单位数",
        "units_failed_assessment": "区级评估未通过单位数",
        "units_failed_reassessment": "复评未通过单位数",
    },
    "fct_training_activities": {
        "activity_id": "活动编号",
        "reported_ids": "重复报送的全部编号",
        "reports": "报送次数",
        "activity_date": "活动日期",
        "activity_year": "活动年份",
        "activity_type": "活动类型",
        "is_online": "是否线上课程",
        "topic": "主题",
        "organiser": "主办单位",
        "street_code": "街道代码（ALL为全区）",
        "street_name": "街道名称",
        "audience": "对象",
        "uscc": "所培训企业统一社会信用代码",
        "attendances": "参加人次（线上为浏览量）",
        "attendances_delivered": "参加人次（报送原文）",
        "attendances_approximate": "参加人次是否约数",
        "people_reached": "覆盖人次",
        "passed": "考核合格人数",
        "passed_exceeds_attendances": "合格人数是否超过参加人次（存疑）",
        "hours": "时长（小时）",
        "source_file": "来源文件",
        "source_row_number": "来源文件行号",
    },
    "fct_enterprise_training_status": {
        "enterprise_key": "单位主键",
        "uscc": "统一社会信用代码",
        "unit_name": "单位名称",
        "street_code": "街道代码",
        "street_name": "街道名称",
        "principal_passed_on": "主要负责人最近考核合格培训日期",
        "manager_passed_on": "安全管理人员最近考核合格培训日期",
        "is_principal_assessed": "主要负责人是否考核合格",
        "is_manager_assessed": "安全管理人员是否考核合格",
        "is_covered": "是否均已考核合格",
        "roles_missing": "尚未考核合格的人员",
        "as_of_date": "统计截止日",
    },
    "agg_education_by_street": {
        "street_year_id": "街道年度编号",
        "street_code": "街道代码（ALL为全区）",
        "street_name": "街道名称",
        "year": "年份",
        "offline_activities": "线下活动数",
        "attendances": "线下参加人次",
        "attendances_approximate": "参加人次为约数的活动数",
        "residents_10k": "常住人口（万人）",
        "attendances_per_1000_residents": "每千名常住人口参加人次",
        "online_courses": "线上课程数",
        "online_views": "线上课程浏览量",
        "activities_reported_twice": "重复报送已合并的活动数",
        "active_enterprises": "在册生产经营单位数",
        "enterprises_principal_assessed": "主要负责人考核合格单位数",
        "enterprises_manager_assessed": "安全管理人员考核合格单位数",
        "enterprises_covered": "均考核合格单位数",
        "enterprise_training_coverage": "企业培训考核覆盖率",
        "coverage_reference_date": "覆盖率统计日",
    },
}


def _ranking_feature_labels() -> dict[str, str]:
    """The features of the inspection ranking as the seed names them (dbt_project/seeds/
    inspection_risk_features.csv: one list for dbt, the model, the reasons and these headers)."""
    import csv

    from citysafety.config import DBT_PROJECT_DIR

    with (DBT_PROJECT_DIR / "seeds" / "inspection_risk_features.csv").open(encoding="utf-8", newline="") as f:
        return {row["feature"]: row["label_zh"] for row in csv.DictReader(f)}


BY_TABLE["fct_enterprise_risk_features"] = {
    "as_of_date": "评估日",
    "as_of_year": "评估年份",
    "is_scoring_row": "是否本期评估日",
    "label_complete": "结果期是否已结束",
    **_ranking_feature_labels(),
    "events_next_12m": "此后12个月事件数",
    "had_event_next_12m": "此后12个月是否发生事件",
}

# --- dashboard pages: captions of the pages' own tables and filters (dashboards/views/) --------

# risk page (dashboards/views/risk.py)
RISK_LEVEL_BANDS = {"红": "L×S 20–25", "橙": "L×S 15–16", "黄": "L×S 9–12", "蓝": "L×S 1–8"}
# The by-street and by-category tables: around the per-level columns the page adds.
RISK_STREET_HEADERS = {"street_name": "街道", "highest_name": "最高风险等级", "total": "合计（处）"}
RISK_CATEGORY_HEADERS = {"risk_category": "风险类别"}
RISK_UNRATED_HEADER = "未定级（处）"
RISK_FLAGGED_HEADERS = {"flagged": "其中存疑（处）"}
RISK_TOTAL_HEADERS = {"total": "合计（处）", **RISK_FLAGGED_HEADERS}
RISK_POINT_HEADERS = {
    "risk_point_id": "风险点编号",
    "risk_point_name": "风险点名称",
    "street_name": "街道",
    "risk_category": "风险类别",
    "likelihood": "可能性L",
    "severity": "严重性S",
    "risk_value": "风险值（上报）",
    "risk_value_computed": "风险值（L×S）",
    "risk_level": "风险等级（上报）",
    "risk_level_effective": "风险等级（核定）",
    "check": "核查结果",
    "flag_reason_zh": "存疑原因",
    "responsible_unit": "管控责任单位",
    "assessed_on": "评估日期",
}


# hazards page (dashboards/views/hazards.py)
HAZARDS_STREET_HEADERS = {
    "street_name": "街道",
    "found": "排查隐患（项）",
    "rectified": "已整改（项）",
    "rate_pct": "隐患整改率（%）",
    "open": "未整改（项）",
    "open_overdue": "其中逾期未整改（项）",
    "rectified_late": "逾期后整改（项）",
    "major": "重大隐患（项）",
    "major_supervised": "重大隐患已挂牌督办（项）",
    "major_not_supervised": "重大隐患未挂牌督办（项）",
}
HAZARDS_TREND_HEADERS = {
    "period_label": "期间",
    "found": "排查隐患（项）",
    "rectified": "已整改（项）",
    "rate_pct": "隐患整改率（%）",
    "major": "重大隐患（项）",
    "major_supervised": "已挂牌督办（项）",
    "supervised_pct": "重大隐患挂牌督办率（%）",
}
HAZARDS_MAJOR_HEADERS = {
    "report_id": "隐患编号",
    "found_on": "发现日期",
    "street_name": "街道",
    "community": "社区",
    "grid_code": "网格",
    "deadline": "整改期限",
    "rectified_on": "整改日期",
    "status": "整改状态",
    "overdue_text": "是否逾期",
    "supervised_text": "挂牌督办",
    "check": "督办核查",
    "days_to_rectify": "整改用时（天）",
}


# monitoring page (dashboards/views/monitoring.py)


def monitoring_window_name(days: int) -> str:
    """A recent-alarm window's name (the days are dbt's var alarm_window_days), e.g. 近7天."""
    return f"近{int(days)}天"


MONITORING_SOURCE_HEADERS = {
    "hazard_source_id": "危险源编号",
    "hazard_source_name": "危险源名称",
    "hazard_level": "危险源等级",
    "unit_name": "所属单位",
    "street_name": "街道",
    "points": "监测点（个）",
    "points_reporting_24h": "近24小时在线（个）",
    "coverage_pct": "监测覆盖率（%）",
    "status": "状态",
    "last_reading_at": "最近读数时间",
}
MONITORING_EPISODE_HEADERS = {
    "started_at": "报警开始时间",
    "ended_at": "最后报警读数时间",
    "cleared_at": "解除时间",
    "state": "状态",
    "duration_minutes": "持续时长（分钟）",
    "hazard_source_name": "危险源",
    "unit_name": "所属单位",
    "street_name": "街道",
    "point_id": "监测点",
    "metric_name": "监测指标",
    "peak_value": "峰值",
    "unit": "计量单位",
    "high_threshold": "高报阈值",
    "high_high_threshold": "高高报阈值",
    "level_name": "报警级别",
    "readings": "报警读数（次）",
}
MONITORING_TREND_HEADERS = {
    "day": "日期",
    "episodes": "报警（起）",
    "high_high_episodes": "其中高高报（起）",
    "alarm_readings": "超限读数（次）",
    "points_alarming": "报警监测点（个·日）",
}


# The 告警响应 section of 监测 (marts.agg_alarm_response_by_month): counts add up over months and
# streets; the published p50/p95 minutes do not, so they are shown row by row.
MONITORING_RESPONSE_GRADE_HEADERS = {
    "grade_name": "预警等级",
    "alarms": "告警（起）",
    "acknowledged": "已签收（起）",
    "on_site": "已到场（起）",
    "closed": "已处置完毕（起）",
    "escalated": "曾升级（起）",
    "still_open": "尚未结案（起）",
}
MONITORING_RESPONSE_ROW_HEADERS = {
    "alarm_month": "报警月份",
    "grade_name": "预警等级",
    "street_name": "街道",
    "alarms": "告警（起）",
    "acknowledged": "已签收（起）",
    "on_site": "已到场（起）",
    "closed": "已处置完毕（起）",
    "escalated": "曾升级（起）",
    "still_open": "尚未结案（起）",
    "p50_minutes_to_acknowledge": "签收用时中位数（分钟）",
    "p95_minutes_to_acknowledge": "签收用时P95（分钟）",
    "p50_minutes_to_close": "处置用时中位数（分钟）",
    "p95_minutes_to_close": "处置用时P95（分钟）",
}
MONITORING_RESPONSE_TEXTS = {
    "title": "告警响应",
    "caption": ("告警自产生到签收、到场、处置完毕的情况（运营数据库，每次发布时统计）。各等级的数量可相加；"
                "签收和处置用时的中位数与P95按月份、街道分别统计，不能相加，故逐行列出。"),
    "district": "全区各月各等级的响应情况（用时为全区统计）",
    "streets": "所选街道各月各等级的响应情况（用时为各街道分别统计）",
    "by_grade": "按预警等级合计",
    "no_source": "告警响应按街道和等级统计，不区分危险源：此处为所选街道的全部告警。",
    "empty": "所选期间和范围内没有告警。",
}


def alarm_grade_name(code: str | None, color: str | None) -> str:
    """A grade as people read it: Ⅰ级（红色）; a grade without a colour (未分级) as it is."""
    if not code:
        return "未分级"
    return f"{code}级（{color}）" if color else str(code)


# alarms page (dashboards/views/alarms.py): the open alarms of the user's scope and the loop
# 签收 → 到场 → 处置完毕 → 归档 (citysafety.act.store).
ALARMS_TEXTS = {
    "title": "告警处置",
    "caption": ("本账号职责范围内尚未归档的告警，最早的在前：逐条签收、到场、处置完毕（须填写处置情况）、归档，"
                "每一步都记录操作人、时间和来源地址。"),
    "not_configured": ("运营数据库尚未建立（还没有任何告警记录）。告警由监测数据自动产生后会显示在这里；"
                       "如需启用，请由管理员初始化运营数据库。"),
    "config_error": "运营数据库配置有误，暂时无法读取告警：",
    "unreachable": "运营数据库暂时无法连接，请稍后刷新页面；如持续出现请联系数据管理员。",
    "none_open": "职责范围内没有未归档的告警。",
    "open_total": "未归档告警",
    "pending": "待签收",
    "escalated": "已升级",
    "oldest": "最久未归档",
    "open_title": "未归档告警（最早的在前）",
    "act_title": "处置",
    "pick": "选择告警",
    "note": "处置情况（必填）",
    "note_help": "写明采取的措施和结果，例如：已关闭进料阀，液位回落至阈值以下。",
    "no_next": "该告警已无下一步操作。",
    "done": "已{action}：告警 {id} 现为“{status}”。",
    "refused": "操作未执行：",
    "history_title": "处置记录",
    "history_empty": "该告警尚无处置记录。",
    "not_escalated": "未升级",
    "escalated_level": "已升级{level}级",
    "no_street": "未落到街道",
    "minutes": "{minutes} 分钟",
}
ALARMS_OPEN_HEADERS = {
    "id": "告警编号",
    "grade_name": "预警等级",
    "street_name": "街道",
    "hazard_source_id": "危险源",
    "point_id": "监测点",
    "status": "状态",
    "started_at": "报警开始时间",
    "age_minutes": "已历时（分钟）",
    "escalation_name": "升级情况",
    "next_action": "下一步",
}
ALARMS_HISTORY_HEADERS = {
    "at": "时间",
    "action": "操作",
    "from_status": "原状态",
    "to_status": "新状态",
    "actor": "操作人",
    "actor_scope": "职责范围",
    "remote_addr": "来源地址",
    "note": "说明",
}


# overview page (dashboards/views/overview.py)
OVERVIEW_KPI_DEPT_COLUMNS = {"deaths_workplace": "工矿商贸", "deaths_fire": "火灾", "deaths_road": "道路交通"}
OVERVIEW_DEPT_HEADERS = {
    "department_name": "登记部门",
    "deaths": "死亡（人）",
    "injuries": "受伤（人）",
    "events": "事件（起）",
}
# After the per-department death columns of the by-street table.
OVERVIEW_STREET_TOTAL_HEADERS = {
    "deaths": "死亡合计（人）",
    "injuries": "受伤合计（人）",
    "events": "事件（起）",
}
OVERVIEW_KPI_TABLE_COLUMNS = {
    "year": "年份",
    "deaths_workplace": "工矿商贸死亡（人）",
    "deaths_fire": "火灾死亡（人）",
    "deaths_road": "道路交通死亡（人）",
    "deaths_total": "死亡合计（人）",
    "gdp_100m_yuan": "地区生产总值（亿元）",
    "gdp_status": "GDP口径",
    "deaths_per_100m_gdp": "亿元GDP死亡率（人/亿元）",
    "deaths_change_vs_2016": "死亡人数较2016年",
    "rate_change_vs_2016": "死亡率较2016年",
    "deaths_target_2020": "死亡人数2020年目标（人）",
    "rate_target_2020": "死亡率2020年目标（人/亿元）",
    "deaths_target_met": "死亡人数目标",
    "rate_target_met": "死亡率目标",
}
# The official indicators of 总览 (district row of marts.kpi_official_indicators): column ->
# (label, unit, kind). kind: "count", "rate4" / "rate2" (decimals), "pct" (a fraction shown as %).
OVERVIEW_OFFICIAL_INDICATORS: dict[str, tuple[str, str, str]] = {
    "accidents": ("事故起数", "起", "count"),
    "deaths": ("死亡人数", "人", "count"),
    "deaths_per_100m_gdp": ("亿元GDP死亡率", "人/亿元", "rate4"),
    "workplace_deaths_per_100k_employees": ("工矿商贸十万人死亡率", "人/10万人", "rate2"),
    "fire_deaths_per_100k_residents": ("火灾十万人口死亡率", "人/10万人", "rate2"),
    "road_deaths_per_10k_vehicles": ("道路交通万车死亡率", "人/万车", "rate2"),
    "hazard_rectification_rate": ("隐患整改率", "%", "pct"),
    "major_hazard_supervised_rate": ("重大隐患挂牌督办率", "%", "pct"),
    "monitoring_coverage": ("监测覆盖率", "%", "pct"),
    "insurance_coverage": ("安责险覆盖率", "%", "pct"),
    "drill_coverage": ("演练覆盖率", "%", "pct"),
    "attendances_per_1000_residents": ("宣传教育覆盖", "人次/千人", "rate2"),
    "enterprise_training_coverage": ("企业负责人培训考核覆盖率", "%", "pct"),
}
OVERVIEW_OFFICIAL_HELP = {
    "accidents": "工矿商贸、火灾、道路交通伤亡事件起数（同一事件只计一次），箭头为同比变化。",
    "deaths": "上述事件的死亡人数，箭头为同比变化。",
    "deaths_per_100m_gdp": "亿元GDP生产安全事故死亡率 = 死亡人数 ÷ 地区生产总值（亿元）。",
    "workplace_deaths_per_100k_employees": "工矿商贸就业人员十万人死亡率 = 工矿商贸事故死亡人数 × 10万 ÷ 企业名录从业人员数（人/10万从业人员）。",
    "fire_deaths_per_100k_residents": "火灾十万人口死亡率 = 火灾死亡人数 × 10万 ÷ 常住人口（人/10万常住人口）。",
    "road_deaths_per_10k_vehicles": "道路交通万车死亡率 = 道路交通事故死亡人数 × 1万 ÷ 机动车保有量。",
    "hazard_rectification_rate": "当年排查隐患中已整改的比例。",
    "major_hazard_supervised_rate": "当年重大隐患中已挂牌督办的比例。",
    "monitoring_coverage": "重大危险源在线监测覆盖率：监测点中近24小时有读数的比例（只在数据最新年度计算）。",
    "insurance_coverage": "企业名录中安责险在保单位的比例。",
    # drill_coverage: its contract's description (dashboards.data.definition), the one text of a
    # rate that 应急's 近12个月演练覆盖率 could be confused with (issue 13).
}


# signin_audit page (dashboards/views/signin_audit.py)
SIGNIN_AUDIT_HEADERS = {
    "time_local": "时间（北京时间）",
    "username": "用户名",
    "address": "来源地址",
    "event_name": "事件",
    "result": "结果",
    "reason_name": "原因",
    "detail": "详情",
    "at_utc": "时间（UTC）",
}


# enforcement page (dashboards/views/enforcement.py)
# The trend and by-street tables: a column per inspection result between head and tail.
ENFORCEMENT_TREND_HEADERS_HEAD = {"period_label": "期间", "inspections": "执法检查（次）"}
ENFORCEMENT_STREET_HEADERS_HEAD = {"street_name": "街道", "inspections": "执法检查（次）"}
ENFORCEMENT_TREND_HEADERS_TAIL = {
    "findings": "发现问题（项）",
    "penalised": "罚款案件（起）",
    "penalty_10k_yuan": "罚款金额（万元）",
    "blacklistings": "列入黑名单（次）",
}
ENFORCEMENT_BLACKLIST_HEADERS = {
    "unit_name": "单位名称",
    "uscc": "统一社会信用代码",
    "street_name": "街道",
    "industry": "行业",
    "blacklisted_since": "列入日期",
    "blacklisted_until": "期满日期",
    "status_text": "经营状态",
}
ENFORCEMENT_COVERAGE_HEADERS = {
    "street_name": "街道",
    "units": "在册单位（家）",
    "insured": "安责险在保（家）",
    "coverage_pct": "安责险覆盖率（%）",
    "snapshot_date": "名录日期",
}
# 下月检查建议清单 on the enforcement page: its texts ({…}: filled in by the page) and the
# headers of its tables. The ranking, the list, the backtest and why a ranker is published are
# the mart's (fct_inspection_priorities, inspection_model_card, rpt_inspection_list_followup).
ENFORCEMENT_PRIORITY_TEXTS = {
    "title": "下月检查建议清单（{scope}）",
    "missing": "数据集市中暂无下月检查建议清单（检查排序模型尚未发布），请重新运行数据管道 make pipeline。",
    "empty": "检查排序模型尚未产生结果，暂无下月检查建议清单。",
    "years": "检验 {years}",
    "no_years": "尚无可检验的年份",
    "auc": "区分度 {auc}",
    "auc_interval": "{auc}（95% 区间 {low}–{high}）",
    "auc_range": "{auc}（{low}–{high}）",  # in the card's table, under its header 区分度（95% 区间）
    "summary_model": "本期排序采用{ranker}。按年滚动回测（{years}）：{auc}，排名前 20% 的单位集中了下一年 {top20} 的事件；"
                     "各基线中最佳的是“{baseline}”，区分度 {baseline_auc}、前 20% 为 {baseline_top20}。",
    "summary_model_only": "本期排序采用{ranker}。按年滚动回测（{years}）：{auc}，排名前 20% 的单位集中了下一年 {top20} 的事件。",
    "decision": "采用原因：{decision}。",
    "baseline_warning": "本期未采用风险模型，排序采用“{ranker}”。{decision}。",
    "summary_baseline": "按年滚动回测（{years}）：本期采用的“{ranker}” {auc}，排名前 20% 的单位集中了下一年 {top20} 的事件；"
                        "{model} 区分度 {model_auc}、前 20% 为 {model_top20}。",
    "summary_no_metrics": "回测历史不足，{ranker}尚无回测指标（区分度、前 20% 事件集中度）。",
    "card_expander": "回测明细与模型说明",
    "card_folds": "各回测折（按年滚动：用此前各年训练，检验下一年；合计为各折合并）。区分度：随机取一个下一年发生事件的单位和一个"
                  "未发生的单位，前者排名更靠前的概率（0.5 相当于随机排序，1 为完全区分）。",
    "fold_year": "{fold}年",
    "fold_overall": "合计（各年合并）",
    "published_yes": "是",
    "published_no": "",
    "card_features": "**使用的特征**：{text}",
    "card_outcome": "**预测结果**：{text}",
    "card_limits": "**已知局限**：{text}",
    "card_window": "训练数据：评估日 {start} 起，结果期至 {end}，共 {rows} 行（单位×评估日）；模型版本：{version}。",
    "list_caption": "预测期：{start} 至 {end}；排序方法：{ranker}。清单为全区风险评分排名前 {share} 的在册单位，"
                    "按街道、街道内排名列出；主要原因为使评分高于一般单位的前三项因素。不随检查年份筛选变化。",
    "baseline_score_note": "本期采用基线排序，风险评分为排名百分位（越高越靠前），不是发生事件的概率。",
    "listed": "列入清单单位",
    "units_value": "{n} 家",
    "no_listed": "所选街道没有列入下月检查建议清单的单位。",
    "reasons_sep": "；",
    "list_file": "执法_下月检查建议清单_{start}",
    "list_sheet": "下月检查建议清单",
    "followup_title": "#### 上月清单落实情况（{month}，{scope}）",
    "followup_title_none": "#### 上月清单落实情况（{scope}）",
    "followup_caption": "每月清单为当月1日的检查排序（全区排名靠前的单位），统计当月对清单单位的执法检查。表中为最近12个月。",
    "no_followup": "暂无已结束的清单月份，尚无落实情况。",
    "followup_listed": "清单单位",
    "followup_inspected": "当月已检查",
    "followup_inspected_value": "{n} 家（{share}）",
    "followup_findings": "清单单位发现问题",
    "followup_findings_value": "{n} 项",
    "followup_units_with_findings": "发现问题的清单单位",
    "followup_units_penalised": "受处罚的清单单位",
    "followup_units_penalised_help": "当月检查结果为行政处罚或停产整顿的清单单位。",
}
ENFORCEMENT_PRIORITY_LIST_HEADERS = {
    "street_name": "街道",
    "street_rank": "街道内排名",
    "district_rank": "全区排名",
    "unit_name": "单位名称",
    "uscc": "统一社会信用代码",
    "risk_pct": "风险评分（%）",
    "reasons": "主要原因",
}
ENFORCEMENT_PRIORITY_CARD_HEADERS = {
    "fold_label": "回测折",
    "ranker_zh": "排序方法",
    "published_text": "本期采用",
    "train_years": "训练年份",
    "units": "检验单位（家）",
    "events": "事件（起）",
    "auc_text": "区分度（95% 区间）",
    "top10_pct": "前10%单位所占事件（%）",
    "top20_pct": "前20%单位所占事件（%）",
}
ENFORCEMENT_PRIORITY_FOLLOWUP_HEADERS = {
    "month_label": "清单月份",
    "listed_units": "清单单位（家）",
    "inspected_units": "已检查（家）",
    "inspected_pct": "检查率（%）",
    "findings": "发现问题（项）",
    "units_with_findings": "问题单位（家）",
    "units_penalised": "受处罚单位（家）",
}


# emergency page (dashboards/views/emergency.py)
EMERGENCY_PLAN_HEADERS = {
    "tree_label": "预案（按衔接关系缩进）",
    "plan_id": "预案编号",
    "tier": "层级",
    "owner_unit": "编制单位",
    "parent_plan_id": "上级预案编号",
    "link_status": "衔接状态",
    "link_issue": "未衔接原因",
    "chain": "衔接链",
    "street_label": "街道",
    "drills_last_12_months": "近12个月演练（次）",
    "last_drilled_on": "最近演练日期",
    "scope_note": "说明",
}
EMERGENCY_TIER_HEADERS = {
    "tier": "层级",
    "plans": "现行预案（个）",
    "drilled": "近12个月已演练（个）",
    "coverage_pct": "演练覆盖率（%）",
    "not_linked": "未衔接到区级预案（个）",
}
EMERGENCY_DRILL_HEADERS = {
    "drilled_on": "演练日期",
    "drill_id": "演练编号",
    "drill_form": "演练形式",
    "participants": "参演人数（人）",
    "plan_id": "预案编号",
    "plan_name": "预案名称",
    "plan_tier_label": "预案层级",
    "street_label": "街道",
}
EMERGENCY_RESOURCE_HEADERS = {
    "street_name": "街道",
    "resource_type": "资源类型",
    "resources": "资源（项）",
    "quantity_by_unit": "数量（按计量单位）",
    "last_updated_on": "最近更新日期",
}


# demonstration page (dashboards/views/demonstration.py): its texts ({…}: filled in by the page)
# and the captions of its tables. The rules the texts describe are the mart's
# (fct_demonstration_units, agg_demonstration_by_street).
DEMONSTRATION_TEXTS = {
    "title": "示范创建",
    "caption": "安全发展示范街道、安全社区和综合减灾示范社区：各街道是否按计划年度命名，各创建单位哪些指标拖后腿。",
    "street_help": "按创建单位的所属街道筛选（社区按所属街道，不按名称中出现的街道名）。不选即为全部街道。",
    "year_label": "统计年度",
    "year_help": "创建进度按该年最后一期创建清单统计；各单位薄弱指标始终为最新一期。",
    "year_option": "{year}年",
    "no_data": "数据集市中暂无示范创建数据。",
    "progress_title": "{year}年创建进度（{scope}）",
    "progress_caption": "按该年最后一期创建清单统计。计划命名：目标年度为该年的单位；创建中：申报、创建中、自评、区级评估阶段；"
                        "已命名：市级命名或复评阶段；复评未通过：当年复评未通过、退回创建中的单位。全区为各街道之和。",
    "planned": "计划{year}年命名",
    "planned_named": "其中已命名",
    "planned_named_help": "计划当年命名的单位中，年末已市级命名（或已进入复评）的单位。",
    "in_progress": "创建中",
    "named": "已命名（年末）",
    "failed_reassessment": "复评未通过",
    "failed_reassessment_help": "当年复评未通过、退回创建中的单位。",
    "plan_rate": "计划完成率 {rate}",
    "count": "{n} 个",
    "no_streets": "所选街道在{year}年没有示范创建单位。",
    "chart_title": "各街道计划命名与已命名（个）",
    "chart_subtitle": "按{year}年最后一期创建清单，{scope}",
    "chart_planned": "计划当年命名",
    "chart_planned_named": "其中已命名",
    "chart_street": "街道",
    "chart_units": "单位（个）",
    "total_row": "合计",
    "progress_file": "示范创建_创建进度_{year}",
    "progress_sheet": "创建进度",
    "units_title": "各单位薄弱指标（最新一期 {quarter}，{scope}）",
    "units_caption": "评估结论按创建协议：评估得分率不低于80%且B3类（隐患治理）指标均不低于60%为通过，尚有指标未评估为“未评估”。"
                     "薄弱指标为得分率低于60%的指标（已评估按评估得分，否则按自评得分），由低到高排列；薄弱指标多的单位排在前面。",
    "units": "创建单位",
    "units_named": "已命名",
    "units_failed": "评估未通过",
    "units_weak": "有薄弱指标的单位",
    "no_units": "所选街道在最新一期创建清单中没有创建单位。",
    "units_file": "示范创建_单位薄弱指标_{quarter}",
    "units_sheet": "单位薄弱指标",
    "not_assessed": "未评估",
}
DEMONSTRATION_PASSED = {True: "通过", False: "未通过"}
DEMONSTRATION_STREET_HEADERS = {
    "street_name": "街道",
    "units_listed": "创建单位（个）",
    "units_planned": "计划当年命名（个）",
    "units_planned_named": "其中已命名（个）",
    "plan_pct": "计划完成率（%）",
    "units_not_started": "未启动（个）",
    "units_in_progress": "创建中（个）",
    "units_named": "已命名（个）",
    "units_named_in_year": "当年首次命名（个）",
    "units_failed_assessment": "区级评估未通过（个）",
    "units_failed_reassessment": "复评未通过（个）",
}
DEMONSTRATION_UNIT_HEADERS = {
    "unit_name": "创建单位",
    "unit_id": "单位编号",
    "unit_tier": "层级",
    "creation_type": "创建类型",
    "street_name": "街道",
    "target_year": "目标年度",
    "stage": "阶段",
    "stage_date": "到达阶段日期",
    "assessed_pct": "评估得分率（%）",
    "self_pct": "自评得分率（%）",
    "passed_text": "评估结论",
    "weak_criteria_count": "薄弱指标（项）",
    "weak_criteria": "薄弱指标（得分率低于60%，由低到高）",
}


# education page (dashboards/views/education.py): its texts ({…}: filled in by the page) and
# the captions of its tables. The rules the texts describe are the mart's
# (fct_training_activities, fct_enterprise_training_status, agg_education_by_street).
EDUCATION_TEXTS = {
    "title": "宣传教育",
    "caption": "安全培训和宣传教育覆盖了多少居民，企业主要负责人和安全管理人员是否都已培训考核合格，还有哪些企业待培训。",
    "street_help": "按活动所在街道、企业所属街道筛选。全区性活动和线上课程只计入全区。不选即为全部街道。",
    "year_label": "统计年度",
    "year_help": "活动和覆盖率按所选年度统计；待培训企业清单始终截至统计截止日。",
    "year_option": "{year}年",
    "no_data": "数据集市中暂无宣传教育数据。",
    "coverage_title": "{year}年宣传教育覆盖（{scope}）",
    "coverage_caption_district": "全区为全区整体（含全区性活动），不等于各街道之和；线上课程浏览量单列，不计入参加人次。",
    "coverage_caption_streets": "所选街道之和，不含全区性活动；线上课程浏览量单列，不计入参加人次。",
    "activities": "线下活动",
    "activities_value": "{n} 次",
    "attendances": "参加人次",
    "attendances_value": "{n} 人次",
    "per_1000": "每千名常住人口参加人次",
    "per_1000_help": "线下活动参加人次 ÷ 常住人口（千人）；街道常住人口按人口占比推算。多个街道为参加人次之和 ÷ 常住人口之和。",
    "coverage": "企业培训考核覆盖率",
    "coverage_detail": "均已考核合格 {covered} / 在册 {active} 家",
    "no_streets": "所选街道在{year}年没有宣传教育数据。",
    "chart_per_1000": "各街道每千名常住人口参加人次",
    "chart_per_1000_subtitle": "{year}年，{scope}；不含全区性活动和线上课程",
    "chart_coverage": "各街道企业培训考核覆盖率（%）",
    "chart_coverage_subtitle": "{year}年，{scope}；主要负责人和安全管理人员均已考核合格的在册企业占比",
    "chart_street": "街道",
    "coverage_file": "宣传教育_覆盖情况_{year}",
    "coverage_sheet": "覆盖情况",
    "online_title": "{year}年线上课程（全区，单列）",
    "online_caption": "线上课程面向全区，浏览量不是参加人数，单列统计，不计入参加人次和每千人参加人次，也不随街道筛选变化。",
    "online_not_in_scope": "线上课程面向全区，{not_in_scope}。",
    "online_courses": "线上课程",
    "online_courses_value": "{n} 门",
    "online_views": "线上课程浏览量",
    "online_views_value": "{n} 次",
    "no_online": "{year}年没有线上课程。",
    "online_file": "宣传教育_线上课程_{year}",
    "online_sheet": "线上课程",
    "types_title": "{year}年活动类型（{scope}）",
    "types_caption": "各类活动的次数、覆盖人次（线下活动参加人次）和线上浏览量；同一活动被两个主办单位重复报送的只计一次。",
    "no_activities": "所选街道在{year}年没有宣传教育活动。",
    "chart_types": "各类活动覆盖人次",
    "chart_types_subtitle": "{year}年，{scope}；线上课程只有浏览量，不计覆盖人次",
    "chart_type": "活动类型",
    "chart_people": "覆盖人次",
    "types_file": "宣传教育_活动类型_{year}",
    "types_sheet": "活动类型",
    "activities_expander": "活动明细（{year}年，{scope}，共 {n} 项）",
    "activities_file": "宣传教育_活动明细_{year}",
    "activities_sheet": "活动明细",
    "todo_title": "待培训考核企业（截至{as_of}，{scope}）",
    "todo_caption": "在册企业中，近12个月内主要负责人或安全管理人员尚未考核合格的企业，按街道列出，供街道逐家督促。",
    "active": "在册企业",
    "covered": "均已考核合格",
    "not_covered": "待培训考核",
    "companies_value": "{n} 家",
    "todo_none": "所选范围内在册企业的主要负责人和安全管理人员均已考核合格。",
    "todo_no_enterprises": "所选街道没有在册企业。",
    "todo_street": "{street}：待培训考核 {n} 家",
    "todo_file": "宣传教育_待培训企业_{as_of}",
    "todo_sheet": "待培训企业",
    "todo_summary_file": "宣传教育_各街道企业培训考核_{as_of}",
    "todo_summary_sheet": "各街道企业培训考核",
}
EDUCATION_STREET_HEADERS = {
    "area_name": "街道",
    "offline_activities": "线下活动（次）",
    "attendances": "参加人次",
    "residents_10k": "常住人口（万人）",
    "attendances_per_1000_residents": "每千名常住人口参加人次",
    "active_enterprises": "在册企业（家）",
    "enterprises_principal_assessed": "主要负责人已考核合格（家）",
    "enterprises_manager_assessed": "安全管理人员已考核合格（家）",
    "enterprises_covered": "均已考核合格（家）",
    "coverage_pct": "企业培训考核覆盖率（%）",
    "coverage_reference_date": "覆盖率统计日",
}
EDUCATION_ONLINE_HEADERS = {
    "activity_date": "日期",
    "activity_id": "课程编号",
    "topic": "课程主题",
    "organiser": "主办单位",
    "audience": "对象",
    "attendances": "浏览量（次）",
    "hours": "时长（小时）",
}
EDUCATION_TYPE_HEADERS = {
    "activity_type": "活动类型",
    "activities": "活动（次）",
    "people_reached": "覆盖人次",
    "online_views": "线上浏览量（次）",
    "passed": "考核合格（人）",
}
EDUCATION_ACTIVITY_HEADERS = {
    "activity_date": "活动日期",
    "activity_id": "活动编号",
    "activity_type": "活动类型",
    "topic": "主题",
    "organiser": "主办单位",
    "street_label": "街道",
    "audience": "对象",
    "attendances": "参加人次（线上为浏览量）",
    "people_reached": "覆盖人次",
    "passed": "考核合格（人）",
    "hours": "时长（小时）",
    "reported_ids": "重复报送的编号",
}
EDUCATION_TODO_STREET_HEADERS = {
    "street_name": "街道",
    "active_enterprises": "在册企业（家）",
    "covered": "均已考核合格（家）",
    "not_covered": "待培训考核（家）",
}
EDUCATION_TODO_HEADERS = {
    "street_name": "街道",
    "unit_name": "单位名称",
    "uscc": "统一社会信用代码",
    "roles_missing": "尚未考核合格",
    "principal_passed_on": "主要负责人考核合格日期",
    "manager_passed_on": "安全管理人员考核合格日期",
}


# data_health page (dashboards/views/data_health.py)
DATA_HEALTH_CADENCE_NAMES = {1: "每日", 7: "每周", 31: "每月", 92: "每季度"}
# marts.rpt_data_health_feeds.status, as the page names it (an unregistered feed has no cadence)
DATA_HEALTH_FEED_STATUS = {"on_time": "正常", "overdue": "逾期", "not_received": "未收到", "unregistered": "—"}
DATA_HEALTH_FRESHNESS_HEADERS = {
    "department": "部门",
    "title": "数据项",
    "freshness": "时效状态",
    "days_late": "逾期天数",
    "cadence_name": "约定交付周期",
    "last_loaded_local": "最近交付时间",
    "due_local": "下次交付截止时间",
    "last_file_name": "最近交付文件",
    "last_status_name": "最近文件状态",
}
DATA_HEALTH_FEED_CODES = {"feed_id": "数据项编码"}  # downloads only: the feed's code for machines
# Followed on the page by the files per delivery status (dashboards.data.FILE_STATUSES).
DATA_HEALTH_DELIVERY_HEADERS = {
    "department": "部门",
    "title": "数据项",
    "files": "交付文件数",
    "rows_delivered": "交付行数",
    "rows_loaded": "加载行数",
    "rows_quarantined": "隔离行数",
    "quarantine_pct": "隔离占比（%）",
}
DATA_HEALTH_REASON_HEADERS = {
    "department": "部门",
    "title": "数据项",
    "rank": "排名",
    "reason_text": "隔离原因",
    "rows_quarantined": "隔离行数",
    "files": "涉及文件数",
    "last_quarantined_local": "最近隔离时间",
}
DATA_HEALTH_REASON_CODES = {"reason": "原因代码"}  # downloads only: the raw layer's wording
DATA_HEALTH_UNMAPPED_HEADERS = {
    "department": "部门",
    "title": "数据项",
    "street_raw": "交付的街道取值",
    "rows": "行数",
    "first_seen_on": "首次交付",
    "last_seen_on": "最近交付",
}
DATA_HEALTH_FRESHNESS_STATUS = {"pass": "正常", "warn": "预警（超过约定周期）", "error": "超期（阻止发布）",
                    "no_data": "尚无数据"}
DATA_HEALTH_SOURCE_FRESHNESS_HEADERS = {
    "department": "部门",
    "title": "数据项",
    "status_name": "新鲜度",
    "last_loaded_local": "最近加载时间",
    "hours_since_load": "距今（小时）",
    "warn_after": "预警阈值",
    "error_after": "超期阈值",
}
DURATION_UNITS = {"day": "天", "hour": "小时", "minute": "分钟"}  # dbt freshness thresholds
DATA_HEALTH_QUALITY_HEADERS = {
    "department": "所属部门",
    "table_title": "数据表",
    "check_title": "检查项",
    "column_title": "字段",
    "result": "结果",
    "unexpected_count": "异常值数量",
}
# Beside the words, the codes for machines (downloads only).
DATA_HEALTH_QUALITY_CODES = {
    "table_name": "数据表代码",
    "expectation": "检查代码",
    "column_name": "字段代码",
}
# The columns of the delivery reconciliation the quality gate checks (audit.reconciliation).
RECONCILIATION_COLUMNS = {
    "rows_delivered": "交付行数",
    "rows_loaded": "加载行数",
    "rows_quarantined": "隔离行数",
}


# Published tables as a person names them (the quality gate's results, 数据健康): no table name
# on a page (issue 13). raw.<source>__<feed> and source.<source>__<feed> are named from the
# registry by ``table_title``.
TABLE_TITLES = {
    "marts.kpi_safety_targets": "三年行动计划考核指标",
    "marts.kpi_official_indicators": "官方安全指标",
    "marts.fct_casualty_events": "伤亡事件",
    "marts.dim_streets": "街道",
    "marts.dim_enterprises": "企业名录",
    "marts.fct_inspections": "执法检查",
    "marts.fct_inspections_v2": "执法检查（第2版）",
    "marts.agg_monitoring_coverage": "重大危险源监测覆盖率",
    "marts.agg_sensor_alarms_daily": "每日监测报警",
    "marts.fct_sensor_alarm_episodes": "监测报警明细",
    "marts.fct_inspection_priorities": "下月检查建议",
    "marts.inspection_model_card": "检查排序模型说明",
    "marts.rpt_inspection_list_followup": "检查建议清单落实情况",
    "marts.fct_enterprise_risk_features": "检查排序特征与结果",
    "marts.fct_risk_points": "城市安全风险点",
    "marts.agg_risk_points_by_street": "分街道风险点统计",
    "marts.fct_hazards": "隐患排查治理",
    "marts.fct_emergency_plans": "应急预案",
    "marts.fct_drills": "应急演练",
    "marts.agg_resources_by_street": "分街道应急资源",
    "marts.fct_alarm_responses": "告警响应明细",
    "marts.agg_alarm_response_by_month": "告警响应·按月统计",
    "marts.agg_street_values": "街道取值识别",
    "marts.rpt_targets_projection": "2020年目标研判",
    "marts.rpt_alerts_today_hazards": "今日提醒·隐患",
    "marts.rpt_alerts_today_monitoring": "今日提醒·监测",
    "marts.rpt_alerts_today_plans": "今日提醒·预案",
    "marts.rpt_hazards_by_month": "隐患排查治理·按月统计",
    "marts.rpt_enforcement_inspections": "执法检查·按月统计",
    "marts.rpt_enforcement_insurance": "安责险覆盖率",
    "marts.rpt_emergency_plans_by_tier": "应急预案·按层级统计",
    "marts.rpt_risk_by_category": "风险点·按类别统计",
    "marts.rpt_overview_casualties": "伤亡情况·按年统计",
    "marts.rpt_data_health_deliveries": "数据交付情况",
    "marts.rpt_data_health_quarantine_reasons": "隔离原因统计",
    "marts.rpt_monthly_briefing": "安全生产形势月报数据",
    "marts.rpt_monitoring_alarm_windows": "重大危险源·最近报警统计",
    "marts.rpt_emergency_drills_by_year": "应急演练·按年统计",
    "marts.rpt_data_health_source_freshness": "数据源新鲜度检查",
    "marts.rpt_data_health_feeds": "数据交付时效",
    "marts.fct_demonstration_units": "示范创建单位",
    "marts.agg_demonstration_by_street": "示范创建·按街道统计",
    "marts.fct_training_activities": "安全培训和宣传教育活动",
    "marts.fct_enterprise_training_status": "企业培训考核情况",
    "marts.agg_education_by_street": "宣传教育·按街道统计",
    "audit.reconciliation": "交付对账记录",
    "audit.quarantine": "隔离记录",
    "audit.quality_results": "质量门禁结果",
    "audit.source_freshness": "数据源新鲜度",
}
LAYER_TITLES = {"raw": "原始数据", "source": "数据源新鲜度"}

# The quality gate's checks (Great Expectations expectation types, dbt source freshness).
CHECK_TITLES = {
    "expect_column_values_to_not_be_null": "不得为空",
    "expect_column_values_to_be_between": "取值在规定范围内",
    "expect_column_values_to_be_in_set": "取值在规定清单内",
    "expect_column_values_to_be_unique": "取值不重复",
    "expect_column_values_to_match_regex": "格式符合规定",
    "expect_column_pair_values_a_to_be_greater_than_b": "两字段大小关系正确",
    "expect_compound_columns_to_be_unique": "字段组合不重复",
    "expect_column_pair_values_to_be_equal": "两字段取值相等",
    "expect_column_distinct_values_to_contain_set": "包含规定的全部取值",
    "expect_table_row_count_to_be_between": "行数在规定范围内",
    "expect_table_row_count_to_equal": "行数与规定相等",
    "expect_column_pair_values_to_be_in_set": "字段组合在规定清单内",
    "dbt_source_freshness": "数据源按时更新",
}


def table_title(qualified: str) -> str:
    """A published or raw table as a person names it: 企业名录, 区消防救援大队·火灾（原始数据）."""
    if qualified in TABLE_TITLES:
        return TABLE_TITLES[qualified]
    schema, _, name = str(qualified).partition(".")
    if schema in LAYER_TITLES and "__" in name:
        from citysafety.sources import SOURCES

        source, feed = name.split("__", 1)
        for s in SOURCES:
            for f in s.feeds:
                if (s.name, f.feed) == (source, feed):
                    return f"{s.department}·{f.title}（{LAYER_TITLES[schema]}）"
    return TABLE_TITLES.get(f"marts.{name}", "其他数据表")


def check_title(expectation: str) -> str:
    """A quality check in Chinese (an unknown check: 其他检查)."""
    return CHECK_TITLES.get(str(expectation), "其他检查")


# Quarantine reasons (audit.quarantine.reason, written by the raw layer in English, values masked
# as "…" by the page's query) in Chinese: (pattern, text) tried in order on each "; "-separated
# part, after an optional "<column>: " prefix. The English reason stays beside it in downloads,
# as the code for machines.
REASON_RULES: tuple[tuple[str, str], ...] = (
    (r"duplicate delivery: identical content already loaded from (\S+) \(there: (.*)\)",
     "重复交付：相同内容已从 \\1 加载（原文件：…）"),  # see _nested
    (r"duplicate delivery: identical content already loaded from (\S+)", "重复交付：相同内容已从 \\1 加载"),
    (r"file rejected: (.*)", "文件被拒收：\\1"),  # see _nested
    (r"not a valid date-time: (.*)", "不是有效的日期时间：\\1"),
    (r"unreadable date-time: (.*)", "日期时间无法识别：\\1"),
    (r"expected a date, got a date-time: (.*)", "应为日期，实为日期时间：\\1"),
    (r"required value is empty", "必填值为空"),
    (r"expected (\d+) fields, got (\d+)", "应有 \\1 个字段，实有 \\2 个"),
    (r"not a whole number \(bad thousands separators\): (.*)", "不是整数（千分位写法有误）：\\1"),
    (r"not a whole number: (.*)", "不是整数：\\1"),
    (r"not a number \(bad thousands separators\): (.*)", "不是数字（千分位写法有误）：\\1"),
    (r"not a number: (.*)", "不是数字：\\1"),
    (r"negative: (.*)", "不能为负数：\\1"),
    (r"not 是/否: (.*)", "应为“是”或“否”：\\1"),
    (r"not one of (.+?): (.*)", "不在约定取值（\\1）之内：\\2"),
    (r"not valid JSON: .*", "不是有效的 JSON"),
    (r"not readable JSON: .*", "不是有效的 JSON"),
    (r"not a JSON object but \w+", "不是 JSON 对象"),
    (r"duplicate JSON key (.*): which value holds is ambiguous", "JSON 键重复（\\1），无法确定取值"),
    (r"malformed CSV line: .*", "CSV 行格式错误"),
    (r"line is not valid (\S+)", "该行不是有效的 \\1 编码"),
    (r"line above the header row", "位于表头行之上"),
    (r"header row is missing or not valid (\S+)", "缺少表头行，或表头不是有效的 \\1 编码"),
    (r"header found on row (\d+), agreed row is (\d+)", "表头在第 \\1 行，约定为第 \\2 行"),
    (r"no header row found.*", "找不到表头行（前若干行都不含约定的列名）"),
    (r"file lacks required columns (.*)", "文件缺少必需的列：\\1"),
    (r"lacks required columns (.*)", "缺少必需的列：\\1"),
    (r"file name does not end in (\S+)", "文件名不以 \\1 结尾"),
    (r"not all of the file is valid (\S+).*", "文件部分内容不是有效的 \\1 编码"),
    (r"not a readable XLSX workbook.*", "不是可读取的 XLSX 工作簿"),
    (r"not a readable Parquet file.*", "不是可读取的 Parquet 文件"),
    (r"empty file", "空文件"),
    (r"empty workbook", "空工作簿"),
    (r"no rows", "没有数据行"),
)
_REASON_RULES = tuple((re.compile(p + r"\Z", re.S), t) for p, t in REASON_RULES)
_COLUMN_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|[\u3400-\u9fff（）]+): (.+)\Z", re.S)


def _column_title(column: str) -> str:
    if re.search(r"[\u3400-\u9fff]", column):
        return column
    for table in BY_TABLE.values():
        if column in table:
            return table[column]
    return COMMON.get(column, column)


def reason_text(reason: str) -> str:
    """A quarantine reason in Chinese ("死亡人数：不是整数：…"); unknown wording: 其他原因."""
    reason = str(reason)
    if not re.search(r"[A-Za-z]", reason):  # already words of a person (（未注明）)
        return reason
    whole = _nested(reason)
    if whole is not None:
        return whole
    parts = []
    for part in reason.split("; "):
        column = None if any(p.match(part) for p, _ in _REASON_RULES) else _COLUMN_PREFIX.match(part)
        if column:
            parts.append(f"{_column_title(column.group(1))}：{_reason_part(column.group(2))}")
        else:
            parts.append(_reason_part(part))
    return "；".join(parts)


def _nested(reason: str) -> str | None:
    """Reasons that carry another reason: a duplicate file (the original's reason) or a rejected
    file (why), translated whole so that the inner "; " stays inside."""
    found = _REASON_RULES[0][0].match(reason)
    if found:
        return f"重复交付：相同内容已从 {found.group(1)} 加载（原文件：{reason_text(found.group(2))}）"
    found = _REASON_RULES[2][0].match(reason)
    if found:
        return f"文件被拒收：{reason_text(found.group(1))}"
    return None


def _reason_part(part: str) -> str:
    for pattern, text in _REASON_RULES:
        found = pattern.match(part)
        if found:
            return found.expand(text)
    return "其他原因（见原因代码）"


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
