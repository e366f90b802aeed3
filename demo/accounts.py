"""Demo sign-in accounts for the dashboards: `python -m demo.accounts --home H`.

Writes, readable by their owner only (folder 0700, files 0600, through
`citysafety.secretfiles.write_secret`):

* `H/secrets/users.json`: one account per principal of the access policy (policy/access.yml)
  with a PBKDF2-SHA256 hash of its password (never the password itself);
* `H/secrets/demo_passwords.txt`: the passwords, random for each installation (nothing about
  them is in the repository), for the person who ran `make demo-data` to hand out.

The passwords are printed at the end of the run (`--no-print`: not; `make demo` prints them when
the dashboard is up instead). An existing users file is left alone unless `--force`; a users file
from before (the public `leader-demo` passwords) is replaced.

A real installation writes its own users file (or `.streamlit/secrets.toml`, or a file named by
CITYSAFETY_USERS) with hashes made by `citysafety.share.policy.hash_password`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

from citysafety.share import policy as P
from citysafety.secretfiles import write_secret

ROLE_OF_KIND = {P.LEADER: P.LEADER, P.DEPARTMENT: P.DEPARTMENT, P.STREET: P.STREET}
USERS_FILE = "users.json"
PASSWORDS_FILE = "demo_passwords.txt"
# Letters and digits that cannot be mistaken for each other when read out or typed.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PUBLIC_PASSWORD = "leader-demo"  # what the demo accounts were before: public, replaced on sight


def new_password() -> str:
    """A random password, three groups of four (about 69 bits)."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


def scope_of(principal: P.Principal) -> str | None:
    if principal.kind == P.LEADER:
        return None
    return principal.streets[0] if principal.kind == P.STREET else principal.name


def demo_users(passwords: dict[str, str] | None = None,
               iterations: int = P.HASH_ITERATIONS) -> tuple[dict[str, dict], dict[str, str]]:
    """(users, passwords): username -> {role, scope, display_name, password_hash} for every
    principal of the policy, and username -> password (random unless given)."""
    users, plain = {}, {}
    for principal in P.load().principals.values():
        password = (passwords or {}).get(principal.name) or new_password()
        users[principal.name] = {
            "role": ROLE_OF_KIND[principal.kind],
            "scope": scope_of(principal),
            "display_name": principal.name_zh,
            "password_hash": P.hash_password(password, iterations=iterations),
        }
        plain[principal.name] = password
    return users, plain


def write_users(path: Path, users: dict[str, dict]) -> Path:
    """Write a users file readable by its owner only (0600, folder 0700), atomically."""
    return write_secret(path, json.dumps({"users": users}, ensure_ascii=False, indent=2))


def passwords_text(users: dict[str, dict], passwords: dict[str, str]) -> str:
    lines = ["# 演示账号（仅供演示；每次安装随机生成，请勿外传）", "用户名\t密码\t名称"]
    for name, password in passwords.items():
        lines.append(f"{name}\t{password}\t{users.get(name, {}).get('display_name', '')}")
    return "\n".join(lines) + "\n"


def paths(home: Path) -> tuple[Path, Path]:
    secrets_dir = Path(home) / "secrets"
    return secrets_dir / USERS_FILE, secrets_dir / PASSWORDS_FILE


def _has_public_passwords(path: Path) -> bool:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))["users"]["leader"]
        return P.verify_password(_PUBLIC_PASSWORD, entry.get("password_hash", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def ensure(home: Path, *, force: bool = False) -> tuple[Path, Path, bool]:
    """(users file, passwords file, written now): write demo accounts unless they exist."""
    users_path, passwords_path = paths(home)
    if users_path.exists() and not force and not _has_public_passwords(users_path):
        return users_path, passwords_path, False
    users, plain = demo_users()
    write_users(users_path, users)
    write_secret(passwords_path, passwords_text(users, plain))
    return users_path, passwords_path, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write demo dashboard accounts (hashed) to HOME/secrets/users.json.")
    parser.add_argument("--home", type=Path, default=None,
                        help="CITYSAFETY_HOME (default: the environment's, else ./var)")
    parser.add_argument("--force", action="store_true", help="new accounts and passwords even if some exist")
    parser.add_argument("--no-print", action="store_true", help="do not print the passwords")
    args = parser.parse_args(argv)
    if args.home is None:
        from citysafety.config import settings

        home = settings().home
    else:
        home = args.home.resolve()
    users_path, passwords_path, written = ensure(home, force=args.force)
    if written:
        print(f"wrote demo accounts to {users_path} (mode 0600), passwords to {passwords_path} (mode 0600)")
    else:
        print(f"{users_path} exists; left as it is (--force for new accounts)")
    if not args.no_print:
        print(show_passwords(home))
    return 0


def show_passwords(home: Path) -> str:
    """What to print for the person running the demo: the passwords file, or where it would be."""
    users_path, passwords_path = paths(home)
    if passwords_path.exists():
        return (f"仪表盘演示账号（{passwords_path}，仅本人可读）：\n"
                + passwords_path.read_text(encoding="utf-8").rstrip())
    return f"仪表盘账号：{users_path}（密码不在本机保存；如需演示账号：make demo-data 或 --force 重新生成）"


if __name__ == "__main__":
    sys.exit(main())
