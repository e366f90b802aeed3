"""Who may see what: the access policy (`policy/access.yml`), and credentials.

* **Policy.** `load()` reads the one policy file: principals (the leader, the departments, one
  office per street), the tables each is granted and the streets whose rows it may see.
  `select_sql()` is the one place that turns a grant into SQL; the exports and analyst files
  (citysafety.share.exports) and, through them, the dashboard data layer (dashboards.auth) use it.
* **Personal data** is citysafety.share.privacy's: `select_sql()` refuses a table that carries
  one of its `PERSONAL_COLUMNS`.
* **Credentials.** PBKDF2-SHA256 (hashlib) with a salt per user: `hash_password()` /
  `verify_password()`. The users themselves live outside the repository (dashboards.auth).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from citysafety.config import PROJECT_ROOT
from citysafety.share.privacy import PERSONAL_COLUMNS, PersonalDataError
from citysafety.sql import ident
from citysafety.streets import STREETS_SEED, street_codes

POLICY_FILE = PROJECT_ROOT / "policy" / "access.yml"

LEADER, DEPARTMENT, STREET = "leader", "department", "street"
KINDS = (LEADER, DEPARTMENT, STREET)
ALL = "all"
AUDIT_TABLES = ("audit.reconciliation", "audit.quarantine", "audit.quality_results", "audit.source_freshness")


class PolicyError(ValueError):
    """The policy file is inconsistent (unknown table, street, set or page; a missing office)."""


# --- the policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    name: str  # leader, emb, ..., street_wl
    kind: str  # leader | department | street
    name_zh: str
    tables: frozenset[str] | None  # qualified names (marts.x, audit.y); None: every table
    streets: tuple[str, ...] | None  # None: every street (and rows without one)
    pages: frozenset[str] | None  # url_paths or titles; None: every page

    def sees_table(self, qualified: str) -> bool:
        return self.tables is None or qualified in self.tables

    def sees_page(self, url_path: str | None, title: str | None = None) -> bool:
        return self.pages is None or bool({url_path, title} & self.pages)

    @property
    def unrestricted(self) -> bool:
        """Every table and every row: the published warehouse itself may be read."""
        return self.tables is None and self.streets is None


@dataclass(frozen=True)
class RowRule:
    """What a principal limited to some streets sees of one table, besides its streets' rows.

    Declared in `row_rules:` as `none` (no row at all), `whole` (every row: a table that
    belongs to no street) or `{column: [values]}` (also the rows whose published column holds
    one of the values). Only equality and membership on published columns: which street a row
    belongs to is decided in dbt (the `street_code` column), never here."""

    mode: str  # none | whole | admit
    admit: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, values) for mode admit


NONE, WHOLE, ADMIT = "none", "whole", "admit"


@dataclass(frozen=True)
class Policy:
    version: int
    street_column: str
    streets: tuple[str, ...]
    withheld_columns: dict[str, tuple[str, ...]]
    row_rules: dict[str, "RowRule"]  # qualified table -> rows a street-limited principal sees
    pages: dict[str, str]  # url_path -> title
    principals: dict[str, Principal]
    digest: str  # sha256 of the policy file (recorded in export manifests)

    def principal(self, name: str) -> Principal:
        try:
            return self.principals[name]
        except KeyError:
            raise KeyError(f"no principal {name!r} in the access policy") from None

    def street_office(self, code: str) -> Principal:
        code = str(code).strip().upper()
        for p in self.principals.values():
            if p.kind == STREET and p.streets == (code,):
                return p
        raise KeyError(f"no street office for street {code!r} in the access policy")

    def for_user(self, role: str, scope: str | None) -> Principal:
        """The principal of a signed-in user: leader, a department by name, a street by code."""
        if role == LEADER:
            return next(p for p in self.principals.values() if p.kind == LEADER)
        if role == DEPARTMENT:
            p = self.principal(str(scope or ""))
            if p.kind != DEPARTMENT:
                raise KeyError(f"{scope!r} is not a department in the access policy")
            return p
        if role == STREET:
            return self.street_office(str(scope or ""))
        raise KeyError(f"unknown role {role!r} (leader, department, street)")

    def withheld(self, qualified: str) -> tuple[str, ...]:
        return self.withheld_columns.get(qualified, ())

    def page_grants(self, principal: Principal) -> frozenset[str] | None:
        """url_paths and titles of the pages a principal may open (None: every page)."""
        if principal.pages is None:
            return None
        return frozenset(principal.pages | {self.pages[p] for p in principal.pages if p in self.pages})


def _qualify(name: str) -> str:
    return name if "." in name else f"marts.{name}"


def _published_columns() -> dict[str, list[tuple[str, ...]]]:
    """marts.<table> -> the columns of each of its published relations (all versions)."""
    from citysafety.share import contracts

    out: dict[str, list[tuple[str, ...]]] = {}
    for rel in contracts.mart_relations().values():
        out.setdefault(f"marts.{rel.model}", []).append(tuple(c.name for c in rel.columns))
    return out


def _row_rule(path: Path, qualified: str, spec, columns_of: dict[str, list[tuple[str, ...]]]) -> RowRule:
    if spec in (NONE, WHOLE):
        return RowRule(spec)
    if not isinstance(spec, dict) or not spec:
        raise PolicyError(f"{path}: row_rules.{qualified}: expected none, whole or "
                          f"{{column: [values]}}, got {spec!r}")
    admit = []
    for column, values in spec.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, (str, int)) for v in values):
            raise PolicyError(f"{path}: row_rules.{qualified}.{column}: expected a list of values")
        missing = [cols for cols in columns_of.get(qualified, [()]) if str(column) not in cols]
        if missing:
            raise PolicyError(f"{path}: row_rules.{qualified}: {column!r} is not a published column "
                              "of every relation of the table")
        admit.append((str(column), tuple(str(v) for v in values)))
    return RowRule(ADMIT, tuple(admit))


def _parse(path: Path) -> Policy:
    from citysafety.share import contracts

    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: expected a mapping at the top level")
    known = {t.qualified for t in contracts.shared_tables().values()} | set(AUDIT_TABLES)
    columns_of = _published_columns()
    streets = street_codes()
    if "streets" in doc:
        raise PolicyError(f"{path}: the streets are the seed {STREETS_SEED}, not a list in the policy")
    pages = {str(k): str(v) for k, v in (doc.get("pages") or {}).items()}
    sets: dict[str, frozenset[str]] = {}
    for name, tables in (doc.get("table_sets") or {}).items():
        qualified = frozenset(_qualify(str(t)) for t in tables or [])
        unknown = sorted(qualified - known)
        if unknown:
            raise PolicyError(f"{path}: table set {name!r} names unknown tables {unknown}")
        sets[str(name)] = qualified
    withheld = {_qualify(str(k)): tuple(str(c) for c in v or [])
                for k, v in (doc.get("withheld_columns") or {}).items()}
    street_column = str(doc.get("street_column", "street_code"))
    unknown = sorted((set(withheld) | {_qualify(str(k)) for k in doc.get("row_rules") or {}}) - known)
    if unknown:
        raise PolicyError(f"{path}: withheld_columns/row_rules name unknown tables {unknown}")
    row_rules = {_qualify(str(k)): _row_rule(path, _qualify(str(k)), v, columns_of)
                 for k, v in (doc.get("row_rules") or {}).items()}

    def grant(where: str, spec: dict) -> frozenset[str] | None:
        if spec.get("tables") == ALL:
            return None
        tables: set[str] = set()
        for s in spec.get("sets") or []:
            if s not in sets:
                raise PolicyError(f"{path}: {where}: unknown table set {s!r}")
            tables |= sets[s]
        for t in spec.get("tables") or []:
            q = _qualify(str(t))
            if q not in known:
                raise PolicyError(f"{path}: {where}: unknown table {t!r}")
            tables.add(q)
        return frozenset(tables)

    def page_list(where: str, value) -> frozenset[str] | None:
        if value == ALL:
            return None
        out = frozenset(str(p) for p in value or [])
        unknown = sorted(out - set(pages) - set(pages.values()))
        if unknown:
            raise PolicyError(f"{path}: {where}: unknown pages {unknown} (add them under pages:)")
        return out

    principals: dict[str, Principal] = {}
    for name, spec in (doc.get("principals") or {}).items():
        kind = spec.get("kind")
        if kind not in (LEADER, DEPARTMENT):
            raise PolicyError(f"{path}: {name}: kind must be leader or department (streets: street_offices)")
        street_spec = spec.get("streets", ALL)
        if street_spec == ALL:
            allowed_streets = None
        else:
            allowed_streets = tuple(str(s) for s in street_spec)
            if set(allowed_streets) - set(streets):
                raise PolicyError(f"{path}: {name}: unknown streets {sorted(set(allowed_streets) - set(streets))}")
        principals[str(name)] = Principal(str(name), kind, str(spec.get("name_zh", name)),
                                          grant(str(name), spec), allowed_streets,
                                          page_list(str(name), spec.get("pages")))
    offices = doc.get("street_offices") or {}
    template = str(offices.get("name_template", "street_{code}"))
    named = {str(k): str(v) for k, v in (offices.get("offices") or {}).items()}
    if set(named) != set(streets):
        raise PolicyError(f"{path}: street_offices must name one office per street {list(streets)}, "
                          f"got {sorted(named)}")
    office_tables = grant("street_offices", offices)
    office_pages = page_list("street_offices", offices.get("pages"))
    for code in streets:
        name = template.format(code=code.lower())
        if name in principals:
            raise PolicyError(f"{path}: principal {name!r} defined twice")
        principals[name] = Principal(name, STREET, named[code], office_tables, (code,), office_pages)
    if sum(p.kind == LEADER for p in principals.values()) != 1:
        raise PolicyError(f"{path}: exactly one principal of kind leader")
    # Fail closed: a table granted to a principal limited to some streets either carries the
    # street column in every published relation, or says in row_rules what such a principal sees.
    for p in principals.values():
        if p.streets is None or p.tables is None:
            continue
        for qualified in sorted(p.tables):
            if qualified in row_rules:
                continue
            relations = columns_of.get(qualified) or [()]
            if not all(street_column in cols for cols in relations):
                raise PolicyError(
                    f"{path}: {p.name} is limited to streets {list(p.streets)} but is granted "
                    f"{qualified}, which has no {street_column} column: declare its rows under "
                    f"row_rules (none, whole, or {{column: [values]}})")
    return Policy(
        version=int(doc.get("version", 1)),
        street_column=street_column,
        streets=streets, withheld_columns=withheld, row_rules=row_rules, pages=pages,
        principals=principals,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> Policy:
    del mtime_ns, size  # cache key only
    return _parse(Path(path))


def load(path: Path | None = None) -> Policy:
    """The access policy (read again whenever the file changes)."""
    path = Path(path or POLICY_FILE)
    stat = path.stat()
    return _cached(str(path), stat.st_mtime_ns, stat.st_size)



def select_sql(policy: Policy, principal: Principal, catalog: str, qualified: str,
               columns: list[str], relation: str | None = None) -> tuple[str, dict] | None:
    """SELECT of what `principal` may see of `catalog.qualified` (which has `columns`), with its
    named parameters; None when the table is not granted. Withheld columns are left out. For a
    principal limited to some streets, a table keeps the rows whose street column holds one of
    its streets (never UNKNOWN, the district row ALL, an empty or NULL street) and the rows its
    row rule admits by membership of a published column; `none` keeps no row, `whole` every row.
    Every value is a bound parameter.

    `relation` reads another relation of the same schema under `qualified`'s rules: during a
    version change, `marts.fct_x_v2` is granted, withheld and cut as `marts.fct_x` is."""
    if not principal.sees_table(qualified):
        return None
    personal = [c for c in columns if c in PERSONAL_COLUMNS]
    if personal:
        raise PersonalDataError(f"{qualified} carries personal-data columns {personal}: not exported")
    withheld = set(policy.withheld(qualified))
    keep = [c for c in columns if c not in withheld]
    schema, table = qualified.split(".", 1)
    table = relation or table
    sql = (f"select {', '.join('t.' + ident(c) for c in keep)} "
           f"from {ident(catalog)}.{ident(schema)}.{ident(table)} as t")
    params: dict = {}
    if principal.streets is None:
        return sql, params
    rule = policy.row_rules.get(qualified)
    if rule is not None and rule.mode == WHOLE:
        return sql, params
    if rule is not None and rule.mode == NONE:
        return sql + " where false", params
    admitted = []
    if policy.street_column in columns:
        admitted.append(f"list_contains($streets::varchar[], t.{ident(policy.street_column)})")
        params["streets"] = list(principal.streets)
    for i, (column, values) in enumerate(rule.admit if rule is not None else ()):
        if column not in columns:  # checked at load for contracted tables; fail closed here too
            raise PolicyError(f"row_rules.{qualified}: {column!r} is not a column of {table}")
        admitted.append(f"list_contains($admit_{i}::varchar[], t.{ident(column)}::varchar)")
        params[f"admit_{i}"] = list(values)
    # Nothing admits a row: none (a table without a street and without a rule is refused at load).
    return sql + " where " + (" or ".join(admitted) if admitted else "false"), params


# --- credentials ------------------------------------------------------------------------------

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 600_000  # OWASP's figure for PBKDF2-HMAC-SHA256


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64), a random 16-byte salt per call."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"{HASH_SCHEME}${iterations}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of a password against `hash_password`'s output; False when malformed."""
    try:
        scheme, iterations, salt, digest = str(encoded).split("$")
        if scheme != HASH_SCHEME or not 1 <= int(iterations) <= 10_000_000:
            return False
        expected = base64.b64decode(digest, validate=True)
        got = hashlib.pbkdf2_hmac("sha256", str(password).encode("utf-8"),
                                  base64.b64decode(salt, validate=True), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
