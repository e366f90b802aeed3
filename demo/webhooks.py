"""The demo's webhooks file: every endpoint the alarm policy names, pointing at the demo receiver.

`write_demo_webhooks(home, port, hazard_source_ids)` writes `<home>/secrets/webhooks.yml` (file
0600, folder 0700, written atomically: the outbox refuses a file others can read) with one
endpoint for each name `policy/alarms.yml` uses (`routing.load().endpoint_names()`: the street
offices' robots, the duty officer, the leader) and one enterprise endpoint per hazard source
(`enterprise_<hazard_source_id>`), each with the policy's channel and a URL on the demo receiver
(demo/receiver.py) at 127.0.0.1:<port>: `/dingtalk` (with a `secret`: the signed form),
`/wecom`, `/hook`, all carrying a demo `access_token`. The secret and the token are random;
a file written before keeps its own, so that a receiver already reading it goes on agreeing.
The file is then checked as the dispatcher will read it (`routing.check_endpoints`).

`demo_hazard_source_ids(home)` lists the hazard sources of the newest landed snapshot.
"""

from __future__ import annotations

import csv
import io
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from citysafety import sources as S
from citysafety.act import endpoints, routing
from citysafety.secretfiles import write_secret

HAZARDS = S.EMB_HAZARD_SOURCES
PATH_OF_CHANNEL = {"dingtalk": "/dingtalk", "wecom": "/wecom", "webhook": "/hook"}
HEADER = """\
# 演示用 webhooks 文件（demo/webhooks.py 生成）：告警推送策略 policy/alarms.yml 用到的每个接收端，
# 都指向本机的演示接收端（python -m demo.receiver）。生产环境请换成真实的钉钉、企业微信机器人和
# webhook 地址；本文件含令牌和加签密钥，权限须为 0600。
"""


def webhooks_path(home: Path) -> Path:
    return Path(home) / "secrets" / "webhooks.yml"


def demo_hazard_source_ids(home: Path) -> list[str]:
    """The hazard sources of the newest landed snapshot (`landing/emb/hazard_sources/
    hazard_sources_*.csv`), sorted; none landed: []."""
    folder = Path(home) / "landing" / HAZARDS.source / HAZARDS.feed
    files = sorted(p for p in folder.glob(HAZARDS.file_glob) if not p.name.startswith("."))
    if not files:
        return []
    column = next(c.delivered for c in HAZARDS.columns if c.name == "hazard_source_id")
    text = files[-1].read_bytes().decode(HAZARDS.encoding).lstrip("\ufeff")
    return sorted({(row.get(column) or "").strip() for row in csv.DictReader(io.StringIO(text))} - {""})


def wanted_endpoints(policy: routing.RoutingPolicy, hazard_source_ids: list[str]) -> dict[str, str]:
    """Every endpoint name the policy needs for these hazard sources -> its channel."""
    wanted = dict(policy.endpoint_names())
    for r in policy.recipients.values():
        if r.principal is None and not r.per_street:  # the enterprise template
            wanted.update({r.endpoint.format(hazard_source_id=h): r.channel for h in hazard_source_ids})
    return dict(sorted(wanted.items()))


def _kept_credentials(path: Path) -> tuple[str | None, str | None]:
    """(secret, access token) of a demo file written before, to keep them; (None, None) otherwise."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        specs = list(doc["endpoints"].values())
    except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError):
        return None, None
    secret = next((s.get("secret") for s in specs if isinstance(s, dict) and s.get("secret")), None)
    token = next((parse_qs(urlsplit(str(s.get("url", ""))).query).get("access_token", [None])[0]
                  for s in specs if isinstance(s, dict)), None)
    return secret, token


def write_demo_webhooks(home: Path, port: int, hazard_source_ids: list[str], *,
                        host: str = "127.0.0.1") -> Path:
    """Write the demo's webhooks file under `home` (module docstring) and return its path."""
    if not 0 < int(port) < 65536:
        raise ValueError(f"端口 {port} 无效 (port must be 1-65535)")
    policy = routing.load()
    path = webhooks_path(home)
    secret, token = _kept_credentials(path)
    secret = secret or "SEC" + secrets.token_hex(32)  # DingTalk's secrets start with SEC
    token = token or "demo" + secrets.token_hex(16)
    spec = {}
    for name, channel in wanted_endpoints(policy, list(hazard_source_ids)).items():
        entry = {"channel": channel, "url": f"http://{host}:{port}{PATH_OF_CHANNEL[channel]}?access_token={token}"}
        if channel == "dingtalk":
            entry["secret"] = secret
        spec[name] = entry
    text = HEADER + yaml.safe_dump({"endpoints": spec}, allow_unicode=True, sort_keys=False, width=200)
    write_secret(path, text)
    # Read back as the dispatcher reads it (private, parsed) and checked against the policy: a
    # file the outbox would refuse fails here, where it is made.
    routing.check_endpoints(policy, endpoints.load(path), list(hazard_source_ids))
    return path
