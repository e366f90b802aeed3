{#- Generated from citysafety/sources.py by `python -m citysafety.sources dbt`: do not edit.
    Per feed (raw table name): key, latest_wins, choices - read by macros/latest_version.sql
    and tests/generic/registry_choices.sql. -#}
{% macro registry_feeds() -%}
{{ return({
    "emb__accidents": {"key": ["accident_id"], "latest_wins": "reported_on", "choices": {"accident_category": ["物体打击", "车辆伤害", "机械伤害", "起重伤害", "触电", "淹溺", "灼烫", "火灾", "高处坠落", "坍塌", "冒顶片帮", "透水", "放炮", "火药爆炸", "瓦斯爆炸", "锅炉爆炸", "容器爆炸", "其它爆炸", "中毒和窒息", "其它伤害"], "severity": ["一般", "较大", "重大", "特别重大"]}},
    "emb__enterprises": {"key": ["uscc"], "latest_wins": "_source_file", "choices": {"standardisation_grade": ["一级", "二级", "三级", "未达标"]}},
    "emb__hazard_sources": {"key": ["point_id"], "latest_wins": "_source_file", "choices": {"hazard_level": ["一级", "二级", "三级", "四级"], "metric": ["temperature", "pressure", "level", "gas"], "unit": ["℃", "MPa", "m", "%LEL"]}},
    "emb__sensor_readings": {"key": ["point_id", "ts"], "latest_wins": "_loaded_at", "choices": {}},
    "emb__inspections": {"key": ["inspection_id"], "latest_wins": "updated_at", "choices": {"result": ["合格", "责令整改", "行政处罚", "停产整顿"]}},
    "emb__trainings": {"key": ["activity_id"], "latest_wins": "_source_file", "choices": {"activity_type": ["安全培训", "宣传活动", "应急演练进社区", "安全教育基地参观", "线上课程"], "audience": ["企业主要负责人", "安全管理人员", "特种作业人员", "从业人员", "居民", "学生"]}},
    "fire__fires": {"key": ["fire_id"], "latest_wins": "reported_at", "choices": {"place_type": ["住宅", "商业", "工业", "仓储", "公共场所", "其他"], "cause": ["电气", "用火不慎", "吸烟", "放火", "生产作业", "其他", "不明"]}},
    "traffic__road_accidents": {"key": ["accident_no"], "latest_wins": "reported_at", "choices": {}},
    "stats__economy": {"key": ["year"], "latest_wins": "data_status", "choices": {"data_status": ["初步核算", "最终核实"]}},
    "grid__hazard_reports": {"key": ["report_id"], "latest_wins": "updated_at", "choices": {"level": ["一般", "重大"], "status": ["待整改", "整改中", "已整改", "已销号"]}},
    "safety_office__risk_points": {"key": ["risk_point_id"], "latest_wins": "_source_file", "choices": {"risk_category": ["工业企业", "人员密集场所", "城市建设", "交通运输", "城市生命线", "自然灾害", "其他"], "risk_level": ["红", "橙", "黄", "蓝"]}},
    "safety_office__demonstration": {"key": ["unit_id", "criterion_id"], "latest_wins": "_source_file", "choices": {"unit_tier": ["街道", "社区"], "creation_type": ["安全发展示范街道", "安全社区", "综合减灾示范社区"], "stage": ["未启动", "申报", "创建中", "自评", "区级评估", "市级命名", "复评"]}},
    "emergency__plans": {"key": ["plan_id"], "latest_wins": "_source_file", "choices": {"tier": ["区级", "部门", "街道", "社区", "企业"]}},
    "emergency__drills": {"key": ["drill_id"], "latest_wins": "_source_file", "choices": {"drill_form": ["桌面", "实战", "综合"]}},
    "emergency__resources": {"key": ["resource_id"], "latest_wins": "updated_on", "choices": {"resource_type": ["救援队伍", "应急物资", "应急装备"]}}
}) }}
{%- endmacro %}

{#- The codes of the seed streets (dbt_project/seeds/streets.csv, the one list) for tests that
    check a street_code without joining the seed (tests/generic/street_code.sql). -#}
{% macro street_codes() -%}
{{ return(["WL", "TS", "CH", "CM", "CQ", "SQ", "DX", "WH", "UNKNOWN"]) }}
{%- endmacro %}

{#- The feeds in registry order (source, feed, department, title, cadence_days,
    street_column) - read by marts/rpt_data_health_feeds.sql and
    intermediate/int_street_values_delivered.sql. -#}
{% macro registry_feed_list() -%}
{{ return([
    {"source": "emb", "feed": "accidents", "department": "区应急管理局", "title": "生产安全事故快报", "cadence_days": 31, "street_column": "street_raw"},
    {"source": "emb", "feed": "enterprises", "department": "区应急管理局", "title": "生产经营单位基础信息", "cadence_days": 31, "street_column": "street_raw"},
    {"source": "emb", "feed": "hazard_sources", "department": "区应急管理局", "title": "重大危险源及监测点", "cadence_days": 92, "street_column": none},
    {"source": "emb", "feed": "sensor_readings", "department": "区应急管理局", "title": "重大危险源在线监测", "cadence_days": 1, "street_column": none},
    {"source": "emb", "feed": "inspections", "department": "区应急管理局", "title": "执法检查", "cadence_days": 1, "street_column": none},
    {"source": "emb", "feed": "trainings", "department": "区应急管理局", "title": "安全宣传教育与培训", "cadence_days": 31, "street_column": "street_raw"},
    {"source": "fire", "feed": "fires", "department": "区消防救援大队", "title": "火灾", "cadence_days": 7, "street_column": "street_raw"},
    {"source": "traffic", "feed": "road_accidents", "department": "交警大队", "title": "道路交通事故", "cadence_days": 1, "street_column": "street_raw"},
    {"source": "stats", "feed": "economy", "department": "区统计局", "title": "地区生产总值与人口", "cadence_days": 92, "street_column": none},
    {"source": "grid", "feed": "hazard_reports", "department": "网格化治理平台", "title": "网格隐患排查", "cadence_days": 1, "street_column": "street_raw"},
    {"source": "safety_office", "feed": "risk_points", "department": "区安委办", "title": "城市安全风险清单", "cadence_days": 92, "street_column": "street_raw"},
    {"source": "safety_office", "feed": "demonstration", "department": "区安委办", "title": "示范街道和社区创建", "cadence_days": 92, "street_column": "street_raw"},
    {"source": "emergency", "feed": "plans", "department": "区应急指挥中心", "title": "应急预案", "cadence_days": 31, "street_column": none},
    {"source": "emergency", "feed": "drills", "department": "区应急指挥中心", "title": "应急演练", "cadence_days": 31, "street_column": none},
    {"source": "emergency", "feed": "resources", "department": "区应急指挥中心", "title": "应急资源", "cadence_days": 31, "street_column": "street_raw"}
]) }}
{%- endmacro %}

{#- The departments of record of casualty events, in registry order: source name -> the
    accident type its events count under (marts.fct_casualty_events.department_name). -#}
{% macro casualty_departments() -%}
{{ return({"emb": "工矿商贸", "fire": "火灾", "traffic": "道路交通"}) }}
{%- endmacro %}
