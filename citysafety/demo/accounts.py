"""Demo sign-in accounts for the dashboards: `python -m citysafety.demo.accounts --home H`.

Writes `H/secrets/users.json` (folder 0700, file 0600, written aside and renamed into place):
one account per principal of the access policy (policy/access.yml) with a PBKDF2-SHA256 hash
of a documented demo password (never the password itself):

| username | password | sees |
|---|---|---|
| leader | leader-demo | every page, every street |
| emb, fire, traffic, stats, grid, safety_office, emergency | <name>-demo (emb-demo, ...) | its pages and tables |
| street_wl ... street_wh | wl-demo ... wh-demo | its street only |

DEMO ONLY: these passwords are public (README). A real installation writes its own users file
(or `.streamlit/secrets.toml`, or a file named by CITYSAFETY_USERS) with hashes made by
`citysafety.policy.hash_password`. An existing file is left alone unless `--force`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from citysafety import policy as P

ROLE_OF_KIND = {P.LEADER: P.LEADER, P.DEPARTMENT: P.DEPARTMENT, P.STREET: P.STREET}


def demo_password(principal: P.Principal) -> str:
    if principal.kind == P.STREET:
        return f"{principal.streets[0].lower()}-demo"
    return f"{principal.name}-demo"


def demo_users(iterations: int = P.HASH_ITERATIONS) -> dict[str, dict]:
    """username -> {role, scope, display_name, password_hash} for every principal of the policy."""
    users = {}
    for principal in P.load().principals.values():
        scope = (None if principal.kind == P.LEADER
                 else principal.streets[0] if principal.kind == P.STREET else principal.name)
        users[principal.name] = {
            "role": ROLE_OF_KIND[principal.kind],
            "scope": scope,
            "display_name": principal.name_zh,
            "password_hash": P.hash_password(demo_password(principal), iterations=iterations),
        }
    return users


def write_users(path: Path, users: dict[str, dict]) -> Path:
    """Write a users file readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"users": users}, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write demo dashboard accounts (hashed) to HOME/secrets/users.json.")
    parser.add_argument("--home", type=Path, default=None,
                        help="CITYSAFETY_HOME (default: the environment's, else ./var)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing users file")
    args = parser.parse_args(argv)
    if args.home is None:
        from citysafety.config import settings

        home = settings().home
    else:
        home = args.home.resolve()
    path = home / "secrets" / "users.json"
    if path.exists() and not args.force:
        print(f"{path} exists; left as it is (--force to overwrite)")
        return 0
    users = demo_users()
    write_users(path, users)
    print(f"wrote {len(users)} demo accounts to {path} (mode 0600): {', '.join(users)}")
    print("Demo passwords (leader-demo, emb-demo, ..., wl-demo, ...) are in README.md: demo only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
