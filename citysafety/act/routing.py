"""Routing an alarm from the one policy file, `policy/alarms.yml`: its grade, its notice, who gets it.

* **The policy.** `load()` reads and checks the file and fails closed: a missing file, broken
  YAML, a grade table that leaves out a threshold or a hazard level or names an unknown grade, a
  recipient, principal (of `policy/access.yml`), street or channel that does not exist, stops with
  a `RoutingPolicyError` saying where. Nothing falls back to "everyone". `check_endpoints()`
  checks the policy against the webhooks file (`citysafety.act.endpoints`): every endpoint it
  names is there with the same channel.
* **The grade.** `grade(threshold_crossed, hazard_level)`: the threshold crossed (高高报 / 高报,
  or high_high / high) and the hazard source's level (一级..四级, the choices of
  `sources.EMB_HAZARD_SOURCES`) give the grade Ⅰ..Ⅳ (红, 橙, 黄, 蓝) from the policy's table. The
  alarm stores the grade's code (`Ⅰ`); `GradeRule.label` spells it out (`Ⅰ级（红色）`).
* **The notice.** `notice()` writes the fields a warning notice carries (预警编号, 预警类型,
  预警级别, 发布时间, 开始时间, 地点（街道）, 危险源, 监测点, 处置要求, 发布单位) as Chinese markdown.
  Its number is `<alarm_key>/notice`; a change (变更) or cancellation (解除) notice has its own
  number and names the first notice's number (原预警编号) it changes.
* **Routing.** `route_new_alarm()` sets the alarm's grade and enqueues one outbox message per
  recipient of the grade, keyed `<alarm_key>/notice/<recipient>`, in the caller's transaction:
  routing the same alarm again enqueues nothing new. `route_change()` sends a change or a
  cancellation to everyone the first notice went to (and, on a raised grade, to the recipients
  the new grade adds), keyed `<alarm_key>/change/<grade>/<recipient>` or
  `<alarm_key>/cancel/<recipient>`.

A recipient that cannot be resolved for an alarm (an alarm with no street has no street office;
an alarm with no hazard source no enterprise contact) is left out, logged and returned in
`Routed.skipped`: never replaced by someone else.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from citysafety.act import outbox
from citysafety.act.endpoints import Endpoint
from citysafety.act.robots import CHANNELS
from citysafety.act.store import SHANGHAI, Alarm, Notification, instant, utcnow
from citysafety.config import PROJECT_ROOT, ConfigError
from citysafety.sources import EMB_HAZARD_SOURCES
from citysafety.streets import STREETS_SEED, UNKNOWN_STREET, street_codes

log = logging.getLogger(__name__)

POLICY_FILE = PROJECT_ROOT / "policy" / "alarms.yml"

HIGH_HIGH, HIGH = "高高报", "高报"
THRESHOLDS = (HIGH_HIGH, HIGH)
THRESHOLD_ALIASES = {"high_high": HIGH_HIGH, "high": HIGH, HIGH_HIGH: HIGH_HIGH, HIGH: HIGH}
GRADES = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ")  # highest first
COLORS = {"Ⅰ": "红色", "Ⅱ": "橙色", "Ⅲ": "黄色", "Ⅳ": "蓝色"}
HAZARD_LEVELS = EMB_HAZARD_SOURCES.column("hazard_level").choices
STREET_OFFICE = "street_office"
ENTERPRISE_FIELDS = ("hazard_source_id",)  # what an enterprise endpoint template may use
NEW, CHANGE, CANCEL = "发布", "变更", "解除"
KINDS = (NEW, CHANGE, CANCEL)
METRICS_ZH = {"temperature": "温度", "pressure": "压力", "level": "液位", "gas": "可燃气体浓度"}


class RoutingPolicyError(ConfigError):
    """The routing policy is missing or broken: nothing is routed rather than routed wrongly."""


# --- the policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeRule:
    code: str  # Ⅰ..Ⅳ
    color: str  # 红色..蓝色
    ack_minutes: int
    notify: tuple[str, ...]  # recipient names
    requirement: str  # 处置要求

    @property
    def label(self) -> str:
        return f"{self.code}级（{self.color}）"


@dataclass(frozen=True)
class Recipient:
    name: str  # enterprise, street_office, emb_duty, leader
    name_zh: str
    principal: str | None = None  # of policy/access.yml (street offices: street_<code>)
    endpoint: str | None = None  # a name of the webhooks file, or a template (enterprise)
    channel: str | None = None
    per_street: bool = False  # the street office of the alarm's street (RoutingPolicy.street_offices)


@dataclass(frozen=True)
class Target:
    """One recipient resolved for one alarm."""

    role: str  # the recipient's name in the policy
    recipient: str  # who: a principal (street_wl, emb, leader) or enterprise:<hazard source>
    name_zh: str
    endpoint: str
    channel: str


@dataclass(frozen=True)
class RoutingPolicy:
    path: Path
    issuing_unit: str
    alarm_types: dict[str, str]  # threshold -> 预警类型
    grades: dict[str, GradeRule]
    table: dict[tuple[str, str], str]  # (threshold, hazard level) -> grade code
    recipients: dict[str, Recipient]
    street_offices: dict[str, tuple[str, str, str]]  # street code -> (principal, endpoint, channel)
    ladder: tuple[str, ...]  # recipient names, first level first

    def grade(self, threshold_crossed: str, hazard_level: str) -> GradeRule:
        threshold = THRESHOLD_ALIASES.get(str(threshold_crossed).strip())
        if threshold is None:
            raise ValueError(f"未知的阈值类型 {threshold_crossed!r}（应为 {' / '.join(THRESHOLDS)}，"
                             "或 high_high / high）")
        level = str(hazard_level).strip()
        if level not in HAZARD_LEVELS:
            raise ValueError(f"未知的危险源等级 {hazard_level!r}（应为 {'、'.join(HAZARD_LEVELS)}）")
        return self.grades[self.table[(threshold, level)]]

    def rule(self, code: str | None) -> GradeRule:
        try:
            return self.grades[str(code)]
        except KeyError:
            raise ValueError(f"未知的预警级别 {code!r}（{self.path} 中为 {'、'.join(self.grades)}）") from None

    def target(self, role: str, alarm: Alarm) -> Target | None:
        """Who `role` is for `alarm`; None when the alarm lacks what it takes (a street, a source)."""
        r = self.recipients[role]
        if r.per_street:
            office = self.street_offices.get(alarm.street_code or "")
            if office is None:
                return None
            principal, endpoint, channel = office
            return Target(role, principal, r.name_zh, endpoint, channel)
        if r.principal is None:  # the enterprise contact of the hazard source
            if not alarm.hazard_source_id:
                return None
            endpoint = r.endpoint.format(hazard_source_id=alarm.hazard_source_id)
            return Target(role, f"enterprise:{alarm.hazard_source_id}", r.name_zh, endpoint, r.channel)
        return Target(role, r.principal, r.name_zh, r.endpoint, r.channel)

    def endpoint_names(self) -> dict[str, str]:
        """Every fixed endpoint the policy names -> its channel (enterprise templates left out)."""
        out = {r.endpoint: r.channel for r in self.recipients.values() if r.principal is not None and not r.per_street}
        out.update({endpoint: channel for _p, endpoint, channel in self.street_offices.values()})
        return out


def _fail(path: Path, where: str, what: str) -> RoutingPolicyError:
    return RoutingPolicyError(f"告警推送策略 {path}：{where} {what}")


def _text(path: Path, where: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, "须为非空文字 (must be non-empty text)")
    return " ".join(value.split())


def _channel(path: Path, where: str, value) -> str:
    if value not in CHANNELS:
        raise _fail(path, where, f"的渠道 channel 须为 {' / '.join(CHANNELS)}，现为 {value!r} (unknown channel)")
    return value


def _mapping(path: Path, where: str, value) -> dict:
    if not isinstance(value, dict) or not value:
        raise _fail(path, where, "须为非空的映射 (must be a non-empty mapping)")
    return value


def _parse(path: Path, access=None) -> RoutingPolicy:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RoutingPolicyError(f"告警推送策略 {path} 不存在：没有它，告警不推送给任何人"
                                 f" (the routing policy {path} does not exist)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RoutingPolicyError(f"告警推送策略 {path} 无法解析 (not valid YAML)：{str(exc).splitlines()[0]}") from None
    doc = _mapping(path, "顶层", doc)
    known_keys = {"version", "issuing_unit", "alarm_types", "grades", "grade_table", "recipients",
                  "street_offices", "escalation"}
    unknown = sorted(set(map(str, doc)) - known_keys)
    if unknown:
        raise _fail(path, "顶层", f"有未知字段 {unknown} (unknown keys)")
    if doc.get("version") != 1:
        raise _fail(path, "version", f"须为 1，现为 {doc.get('version')!r}")
    if access is None:
        from citysafety.share import policy as access_policy

        access = access_policy.load()
    issuing_unit = _text(path, "issuing_unit（发布单位）", doc.get("issuing_unit"))

    types = _mapping(path, "alarm_types（预警类型）", doc.get("alarm_types"))
    if set(map(str, types)) != set(THRESHOLDS):
        raise _fail(path, "alarm_types（预警类型）", f"须且只须写出 {'、'.join(THRESHOLDS)}，现为 {sorted(map(str, types))}")
    alarm_types = {str(k): _text(path, f"alarm_types.{k}", v) for k, v in types.items()}

    # recipients first: the grades name them
    recipients: dict[str, Recipient] = {}
    for name, spec in _mapping(path, "recipients（接收对象）", doc.get("recipients")).items():
        name, where = str(name), f"recipients.{name}"
        spec = _mapping(path, where, spec)
        extra = sorted(set(map(str, spec)) - {"name", "principal", "endpoint", "channel", "street_offices"})
        if extra:
            raise _fail(path, where, f"有未知字段 {extra} (unknown keys)")
        name_zh = _text(path, f"{where}.name", spec.get("name"))
        if spec.get("street_offices") is True:
            if set(spec) & {"principal", "endpoint", "channel"}:
                raise _fail(path, where, "按街道接收（street_offices: true）时接收端写在 street_offices 下，"
                                         "此处不能再写 principal / endpoint / channel")
            recipients[name] = Recipient(name, name_zh, per_street=True)
            continue
        endpoint = _text(path, f"{where}.endpoint", spec.get("endpoint"))
        channel = _channel(path, where, spec.get("channel"))
        principal = spec.get("principal")
        if principal is None:  # an enterprise contact: the endpoint is a template on the hazard source
            try:
                endpoint.format(**{f: "X" for f in ENTERPRISE_FIELDS})
            except (KeyError, IndexError, ValueError) as exc:
                raise _fail(path, f"{where}.endpoint", f"{endpoint!r} 只能使用占位符 "
                            f"{', '.join('{' + f + '}' for f in ENTERPRISE_FIELDS)} (bad template: {exc})") from None
            if "{hazard_source_id}" not in endpoint:
                raise _fail(path, where, "没有责任主体 principal 时是危险源企业联系人，接收端须含 {hazard_source_id}，"
                                         "否则所有企业的告警会发到同一个接收端")
        else:
            principal = str(principal)
            if principal not in access.principals:
                raise _fail(path, f"{where}.principal", f"{principal!r} 不是 policy/access.yml 中的责任主体 "
                            f"(unknown principal; known: {sorted(access.principals)})")
        recipients[name] = Recipient(name, name_zh, principal, endpoint, channel)

    offices: dict[str, tuple[str, str, str]] = {}
    if any(r.per_street for r in recipients.values()):
        spec = _mapping(path, "street_offices（街道办事处接收端）", doc.get("street_offices"))
        streets = street_codes()
        named = {str(k).strip().upper(): v for k, v in spec.items()}
        if set(named) != set(streets):
            raise _fail(path, "street_offices（街道办事处接收端）", f"须为每个街道 {list(streets)} 各写一条，"
                        f"缺 {sorted(set(streets) - set(named))}，多 {sorted(set(named) - set(streets))}")
        for code, office in named.items():
            where = f"street_offices.{code}"
            office = _mapping(path, where, office)
            if set(map(str, office)) - {"endpoint", "channel"}:
                raise _fail(path, where, f"有未知字段 {sorted(set(map(str, office)) - {'endpoint', 'channel'})}")
            try:
                principal = access.street_office(code).name
            except KeyError:
                raise _fail(path, where, f"在 policy/access.yml 中没有街道办事处 (no street office for {code})") from None
            offices[code] = (principal, _text(path, f"{where}.endpoint", office.get("endpoint")),
                             _channel(path, where, office.get("channel")))
    elif doc.get("street_offices"):
        raise _fail(path, "street_offices", "写了街道接收端，但没有接收对象使用它（street_offices: true）")

    grades: dict[str, GradeRule] = {}
    spec = _mapping(path, "grades（预警级别）", doc.get("grades"))
    if set(map(str, spec)) != set(GRADES):
        raise _fail(path, "grades（预警级别）", f"须且只须写出 {'、'.join(GRADES)}，现为 {sorted(map(str, spec))}"
                    " (unknown or missing grade)")
    for code in GRADES:
        where = f"grades.{code}"
        rule = _mapping(path, where, spec[code])
        extra = sorted(set(map(str, rule)) - {"color", "ack_minutes", "notify", "requirement"})
        if extra:
            raise _fail(path, where, f"有未知字段 {extra} (unknown keys)")
        if rule.get("color") != COLORS[code]:
            raise _fail(path, f"{where}.color", f"须为 {COLORS[code]}，现为 {rule.get('color')!r}")
        minutes = rule.get("ack_minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 24 * 60:
            raise _fail(path, f"{where}.ack_minutes", f"签收时限须为 1 到 1440 的整数分钟，现为 {minutes!r}")
        notify = rule.get("notify")
        if not isinstance(notify, list) or not notify:
            raise _fail(path, f"{where}.notify", "须列出至少一个接收对象 (who is notified)")
        notify = [str(n) for n in notify]
        unknown = [n for n in notify if n not in recipients]
        if unknown:
            raise _fail(path, f"{where}.notify", f"有未知的接收对象 {unknown}（recipients 中为 {sorted(recipients)}）")
        if len(set(notify)) != len(notify):
            raise _fail(path, f"{where}.notify", "有重复的接收对象")
        requirement = "".join(_text(path, f"{where}.requirement", rule.get("requirement")).split())  # 中文：折行不留空格
        grades[code] = GradeRule(code, COLORS[code], minutes, tuple(notify), requirement)

    table: dict[tuple[str, str], str] = {}
    spec = _mapping(path, "grade_table（分级表）", doc.get("grade_table"))
    if set(map(str, spec)) != set(THRESHOLDS):
        raise _fail(path, "grade_table（分级表）", f"须且只须写出 {'、'.join(THRESHOLDS)} 两行，现为 {sorted(map(str, spec))}")
    for threshold in THRESHOLDS:
        row = _mapping(path, f"grade_table.{threshold}", spec[threshold])
        if set(map(str, row)) != set(HAZARD_LEVELS):
            raise _fail(path, f"grade_table.{threshold}", f"须写出每个危险源等级 {'、'.join(HAZARD_LEVELS)}，"
                        f"现为 {sorted(map(str, row))}")
        for level in HAZARD_LEVELS:
            code = str(row[level])
            if code not in grades:
                raise _fail(path, f"grade_table.{threshold}.{level}", f"是未知的预警级别 {code!r}（应为 {'、'.join(GRADES)}）")
            table[(threshold, level)] = code

    ladder = doc.get("escalation")
    if not isinstance(ladder, list) or not ladder:
        raise _fail(path, "escalation（升级链）", "须列出至少一级接收对象")
    ladder = tuple(str(x) for x in ladder)
    unknown = [x for x in ladder if x not in recipients]
    if unknown:
        raise _fail(path, "escalation（升级链）", f"有未知的接收对象 {unknown}（recipients 中为 {sorted(recipients)}）")
    if len(set(ladder)) != len(ladder):
        raise _fail(path, "escalation（升级链）", "有重复的接收对象")
    missing = [code for code, g in grades.items() if ladder[0] not in g.notify]
    if missing:
        raise _fail(path, "escalation（升级链）", f"第一级 {ladder[0]} 须在每个级别的 notify 中（缺 {missing}）："
                    "否则要签收的人没有收到通知")
    return RoutingPolicy(path, issuing_unit, alarm_types, grades, table, recipients, offices, ladder)


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> RoutingPolicy:
    del mtime_ns, size  # cache key only
    return _parse(Path(path))


def load(path: Path | str | None = None, access=None) -> RoutingPolicy:
    """The routing policy (default `policy/alarms.yml`, read again whenever it changes), checked
    against the access policy (`access`, default `citysafety.share.policy.load()`)."""
    path = Path(path or POLICY_FILE)
    if access is not None:
        return _parse(path, access)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise RoutingPolicyError(f"告警推送策略 {path} 不存在：没有它，告警不推送给任何人"
                                 f" (the routing policy {path} does not exist)") from None
    return _cached(str(path), stat.st_mtime_ns, stat.st_size)


def check_endpoints(policy: RoutingPolicy, available: dict[str, Endpoint],
                    hazard_sources: list[str] | tuple[str, ...] = ()) -> None:
    """`RoutingPolicyError` unless every endpoint the policy names (and the enterprise endpoint of
    each of `hazard_sources`) is in the webhooks file with the policy's channel."""
    wanted = dict(policy.endpoint_names())
    for r in policy.recipients.values():
        if r.principal is None and not r.per_street:
            wanted.update({r.endpoint.format(hazard_source_id=h): r.channel for h in hazard_sources})
    problems = []
    for name, channel in sorted(wanted.items()):
        found = available.get(name)
        if found is None:
            problems.append(f"{name}（webhooks 文件中没有）")
        elif found.channel != channel:
            problems.append(f"{name}（策略为 {channel}，webhooks 文件为 {found.channel}）")
    if problems:
        raise RoutingPolicyError(f"告警推送策略 {policy.path} 引用的接收端不可用：{'；'.join(problems)}"
                                 " (endpoints missing from the webhooks file or of another channel)")


def grade(threshold_crossed: str, hazard_level: str, policy: RoutingPolicy | None = None) -> str:
    """The grade code (Ⅰ..Ⅳ) of an alarm crossing `threshold_crossed` (高高报 / 高报, high_high /
    high) at a hazard source of `hazard_level` (一级..四级)."""
    return (policy or load()).grade(threshold_crossed, hazard_level).code


# --- the notice --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def street_names() -> dict[str, str]:
    """Street code -> its name (武林街道), from the seed."""
    with STREETS_SEED.open(encoding="utf-8", newline="") as handle:
        return {row["street_code"]: row["street_name"] for row in csv.DictReader(handle)
                if row["street_code"] != UNKNOWN_STREET}


def notice_number(alarm: Alarm, kind: str = NEW, new_grade: str | None = None) -> str:
    """A notice's number: `<alarm_key>/notice` (the first), `/change/<grade>`, `/cancel`."""
    if kind == NEW:
        return f"{alarm.alarm_key}/notice"
    if kind == CHANGE:
        return f"{alarm.alarm_key}/change/{new_grade}"
    if kind == CANCEL:
        return f"{alarm.alarm_key}/cancel"
    raise ValueError(f"unknown notice kind {kind!r} (one of {', '.join(KINDS)})")


def _local(value: datetime | None) -> str:
    return instant(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "—"


@dataclass(frozen=True)
class Notice:
    number: str
    title: str
    text: str  # markdown


def notice(alarm: Alarm, grade_code: str, threshold_crossed: str, *, policy: RoutingPolicy | None = None,
           kind: str = NEW, now: datetime | None = None, hazard_source_name: str | None = None,
           metric: str | None = None, value: float | None = None, threshold: float | None = None,
           unit: str | None = None, reason: str | None = None) -> Notice:
    """A warning notice (预警通知) of `alarm` at `grade_code`, in Chinese markdown. `kind` 发布 (the
    first), 变更 (the grade changed: `grade_code` is the new one) or 解除 (cancelled); a change or a
    cancellation names the first notice's number."""
    policy = policy or load()
    rule = policy.rule(grade_code)
    threshold_name = THRESHOLD_ALIASES.get(str(threshold_crossed).strip())
    if threshold_name is None:
        raise ValueError(f"未知的阈值类型 {threshold_crossed!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r} (one of {', '.join(KINDS)})")
    number = notice_number(alarm, kind, grade_code)
    street = street_names().get(alarm.street_code or "", None)
    place = f"{street}（{alarm.street_code}）" if street else "未落到街道"
    source = alarm.hazard_source_id or "—"
    if hazard_source_name:
        source = f"{hazard_source_name}（{source}）"
    point = alarm.point_id
    if metric or value is not None:
        reading = " ".join(str(x) for x in (METRICS_ZH.get(metric or "", metric), value, unit) if x is not None)
        if threshold is not None:
            reading += f"，{threshold_name}阈值 {threshold}{' ' + unit if unit else ''}"
        point += f"（{reading}）"
    heading = {NEW: "预警发布", CHANGE: "预警变更", CANCEL: "预警解除"}[kind]
    title = f"【{rule.label}{heading}】{policy.alarm_types[threshold_name]}·{street or '未落到街道'}"
    lines = [f"- 预警编号：{number}"]
    if kind != NEW:
        lines.append(f"- 原预警编号：{notice_number(alarm)}（本通知是对该预警的{kind}）")
    lines += [
        f"- 预警类型：{policy.alarm_types[threshold_name]}",
        f"- 预警级别：{rule.label}",
        f"- 发布时间：{_local(instant(now) or utcnow())}",
        f"- 开始时间：{_local(alarm.started_at)}",
    ]
    if alarm.ended_at is not None:
        lines.append(f"- 结束时间：{_local(alarm.ended_at)}")
    lines += [
        f"- 地点（街道）：{place}",
        f"- 危险源：{source}",
        f"- 监测点：{point}",
        f"- 处置要求：{'预警解除，请做好后续核查并在平台反馈、归档。' if kind == CANCEL else rule.requirement}",
    ]
    if reason:
        lines.append(f"- {kind}原因：{' '.join(reason.split())}")
    if kind != CANCEL:
        lines.append(f"- 签收时限：{rule.ack_minutes} 分钟内在平台签收，逾期未签收将逐级上报")
    lines.append(f"- 发布单位：{policy.issuing_unit}")
    return Notice(number, title, "\n".join(lines))


# --- routing -----------------------------------------------------------------------------------------


@dataclass
class Routed:
    """What routing one alarm did."""

    grade: str
    number: str
    enqueued: list[str] = field(default_factory=list)  # idempotency keys added now
    already: list[str] = field(default_factory=list)  # keys that were there already
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (recipient, why)


def _skip_reason(role: str, alarm: Alarm) -> str:
    return (f"告警 {alarm.alarm_key} 没有街道，不能通知街道办事处" if role == STREET_OFFICE
            else f"告警 {alarm.alarm_key} 没有危险源编号，不能通知企业联系人" if role == "enterprise"
            else f"告警 {alarm.alarm_key} 无法确定 {role}")


def _send(s: Session, routed: Routed, alarm: Alarm, key: str, target: Target, made: Notice,
          now: datetime) -> None:
    added = outbox.enqueue(s, key, target.recipient, target.channel, target.endpoint, made.title, made.text,
                           alarm_id=alarm.id, now=now)
    (routed.enqueued if added else routed.already).append(key)


def route_new_alarm(s: Session, alarm: Alarm, hazard_level: str, threshold_crossed: str, *,
                    policy: RoutingPolicy | None = None, now: datetime | None = None, **details) -> Routed:
    """Grade `alarm` and enqueue its notice to every recipient of its grade, in the session's
    transaction, keyed `<alarm_key>/notice/<recipient>` (routing it again adds nothing).
    `details`: hazard_source_name, metric, value, threshold, unit (shown in the notice)."""
    policy = policy or load()
    rule = policy.grade(threshold_crossed, hazard_level)
    if alarm.grade and alarm.grade != rule.code:
        raise ValueError(f"告警 {alarm.alarm_key} 已定为 {alarm.grade} 级，现算得 {rule.code} 级："
                         "级别变化请用 route_change() 发变更通知")
    now = instant(now) or utcnow()
    if alarm.grade != rule.code:
        alarm.grade, alarm.updated_at = rule.code, now
        s.flush()
    made = notice(alarm, rule.code, threshold_crossed, policy=policy, now=now, **details)
    routed = Routed(rule.code, made.number)
    for role in rule.notify:
        target = policy.target(role, alarm)
        if target is None:
            routed.skipped.append((role, _skip_reason(role, alarm)))
            log.warning("routing: %s", routed.skipped[-1][1])
            continue
        _send(s, routed, alarm, f"{made.number}/{role}", target, made, now)
    return routed


def route_change(s: Session, alarm: Alarm, threshold_crossed: str, *, kind: str, new_grade: str | None = None,
                 reason: str | None = None, policy: RoutingPolicy | None = None, now: datetime | None = None,
                 **details) -> Routed:
    """A change (变更, to `new_grade`) or cancellation (解除) of an alarm already routed: sent to
    everyone its first notice went to (and, for a change, to whom the new grade adds), naming the
    first notice's number; keyed `<alarm_key>/change/<grade>/<recipient>` or
    `<alarm_key>/cancel/<recipient>` (sending it again adds nothing)."""
    policy = policy or load()
    if kind not in (CHANGE, CANCEL):
        raise ValueError(f"route_change 只发{CHANGE}或{CANCEL}通知，不是 {kind!r}")
    first = notice_number(alarm)
    sent = s.scalars(sa.select(Notification).where(Notification.alarm_id == alarm.id,
                                                   Notification.idempotency_key.startswith(first + "/"))
                     .order_by(Notification.id)).all()
    if not sent:
        raise ValueError(f"告警 {alarm.alarm_key} 还没有发布过预警通知（{first}），不能{kind}")
    now = instant(now) or utcnow()
    code = alarm.grade
    if kind == CHANGE:
        code = policy.rule(new_grade).code
        if code != alarm.grade:
            alarm.grade, alarm.updated_at = code, now
            s.flush()
    made = notice(alarm, code, threshold_crossed, policy=policy, kind=kind, now=now, reason=reason, **details)
    routed = Routed(code, made.number)
    targets = [Target(n.idempotency_key[len(first) + 1:], n.recipient, n.recipient, n.endpoint, n.channel)
               for n in sent]
    if kind == CHANGE:
        have = {t.role for t in targets}
        for role in policy.rule(code).notify:
            if role in have:
                continue
            target = policy.target(role, alarm)
            if target is None:
                routed.skipped.append((role, _skip_reason(role, alarm)))
                continue
            targets.append(target)
    for target in targets:
        _send(s, routed, alarm, f"{made.number}/{target.role}", target, made, now)
    return routed
