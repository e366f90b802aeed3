"""The webhooks file: where the outbox may send, by name.

The file is named by CITYSAFETY_WEBHOOKS_FILE (`citysafety.config.webhooks_file`; default
`$CITYSAFETY_HOME/secrets/webhooks.yml`), YAML or JSON:

    endpoints:
      street_wl:    {channel: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=…", secret: "SEC…"}
      emb_duty:     {channel: wecom,    url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}
      grid_centre:  {channel: webhook,  url: "https://grid.example.gov.cn/hooks/alarms"}

A robot's URL carries its access token and the secret signs its messages, so the file is
refused (`ConfigError`, nothing sent) unless it belongs to the user running the platform, is
readable by that user only (0600 or 0400) and lies outside the repository (the platform's own
secrets folder, `$CITYSAFETY_HOME/secrets`, 0700 and ignored by git, excepted). Messages name an
endpoint, never a URL: the database holds no secret, and a name missing here sends nothing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from citysafety import config
from citysafety.act.robots import CHANNELS
from citysafety.config import ConfigError


@dataclass(frozen=True)
class Endpoint:
    name: str
    channel: str
    url: str = field(repr=False)  # holds the access token: never logged
    secret: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """`text` without this endpoint's URL, query or secret (for errors and logs)."""
        for value in filter(None, (self.url, urlsplit(self.url).query, self.secret)):
            text = text.replace(value, "***")
        return text


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_private(path: Path) -> Path:
    """The webhooks file, resolved, when it may hold secrets; `ConfigError` saying why not."""
    named = Path(path).expanduser()
    if not named.is_file():
        raise ConfigError(f"webhooks 文件 {named} 不存在（CITYSAFETY_WEBHOOKS_FILE）"
                          f" (the webhooks file {named} does not exist)")
    real = named.resolve()
    repo = config.PROJECT_ROOT.resolve()
    secrets = config.settings().secrets_dir.resolve()
    if _inside(real, repo) and not _inside(real, secrets):
        raise ConfigError(f"webhooks 文件 {real} 在代码仓库内：含令牌和密钥的文件须放在仓库之外"
                          f" (the webhooks file holds secrets and must live outside the repository {repo})")
    info = real.stat()
    if info.st_uid != os.getuid():
        raise ConfigError(f"webhooks 文件 {real} 不属于当前用户 (the webhooks file must belong to the user "
                          "running the platform)")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(f"webhooks 文件 {real} 的权限为 {mode:04o}，其他用户可读：请执行 chmod 600 {real}"
                          f" (the webhooks file must be readable by its owner only, mode 0600)")
    return real


def load(path: Path | str | None = None) -> dict[str, Endpoint]:
    """The endpoints of the webhooks file (default: the setting), checked; `ConfigError` when the
    file is missing, not private, in the repository or malformed."""
    real = check_private(Path(path) if path is not None else config.webhooks_file())
    try:
        doc = yaml.safe_load(real.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"webhooks 文件 {real} 无法解析 (not YAML/JSON): {str(exc).splitlines()[0]}") from None
    if isinstance(doc, dict) and "endpoints" in doc:
        doc = doc["endpoints"]
    if not isinstance(doc, dict) or not doc:
        raise ConfigError(f"webhooks 文件 {real} 中没有接收端 (expected endpoints: {{name: {{url, channel, secret?}}}})")
    return {str(name): _endpoint(real, str(name), spec) for name, spec in doc.items()}


def _endpoint(real: Path, name: str, spec) -> Endpoint:
    where = f"webhooks 文件 {real} 的接收端 {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} 应为 {{url, channel, secret?}} (endpoint {name!r} is not a mapping)")
    unknown = set(spec) - {"url", "channel", "secret"}
    if unknown:
        raise ConfigError(f"{where} 有未知字段 {sorted(unknown)} (unknown keys)")
    channel, url, secret = spec.get("channel"), spec.get("url"), spec.get("secret")
    if channel not in CHANNELS:
        raise ConfigError(f"{where} 的 channel 须为 {' / '.join(CHANNELS)}，现为 {channel!r}")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where} 的 url 须为 http(s) 地址 (endpoint {name!r}: url must be http(s)://host/…)")
    if secret is not None and (channel != "dingtalk" or not isinstance(secret, str) or not secret):
        raise ConfigError(f"{where}：只有钉钉机器人（dingtalk）使用 secret 加签 (only a dingtalk endpoint takes a secret)")
    return Endpoint(name=name, channel=channel, url=url, secret=secret)
