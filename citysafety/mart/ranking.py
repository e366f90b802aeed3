"""The inspection risk ranking: which enterprises the bureau should inspect next.

Pure functions over one pandas DataFrame (no I/O): the dbt Python model that ranks the units
reads the dated features (int_enterprise_features_dated: one row per uscc and as-of date, the
features known on that date, the outcome of the 12 months from it) and calls `backtest()`, then
`score_open_rows()` (or `score()`, both in one).

- Four rankers are compared (`RANKERS`): a logistic regression over the features (`fit`,
  `predict`), and three baselines (`baseline_score`): past incidents and size (the bureau's own
  practice), the official risk colour, and a seeded random order (the floor).
- `backtest()` replays the ranking year by year (rolling origin): trained on the years whose
  outcome was known at the time, tested on the next year; AUC (`auc`, with a bootstrap interval,
  `bootstrap_auc`) and the share of next year's events held by the top 10 % / 20 % of units
  (`capture`).
- `choose()` publishes the model only when its backtest beats every baseline; otherwise the
  best baseline, with the reason in Chinese for the dashboard.
- `explain()` gives each ranked unit up to three reasons (the features that raise its score).

Nulls in a feature count as 0 (a record that is absent is a count of none). Everything is
deterministic for the same input: seeds are parameters, the model's fit does not depend on the
order of the rows.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

MODEL = "model"
PAST_INCIDENTS = "baseline_past_incidents"
RISK_COLOUR = "baseline_risk_colour"
RANDOM = "baseline_random"
RANKERS = (MODEL, PAST_INCIDENTS, RISK_COLOUR, RANDOM)
BASELINES = RANKERS[1:]

# What the reason text calls each ranker.
LABELS = {MODEL: "风险模型", PAST_INCIDENTS: "历史事故与规模", RISK_COLOUR: "官方风险等级", RANDOM: "随机排序"}

# The inputs of each baseline, in the order they rank (also its reasons in `explain`).
BASELINE_INPUTS = {PAST_INCIDENTS: ("incidents_3y", "log_employees"), RISK_COLOUR: ("risk_colour",), RANDOM: ()}

SEED = 20180101
SHARES = (0.10, 0.20)
MIN_FOLDS = 3  # a ranking beaten or not in fewer years is an anecdote, not a backtest
WINDOW = pd.DateOffset(months=12)  # the outcome window of a row

BACKTEST_COLUMNS = ["fold", "train_years", "test_year", "ranker", "units", "positives", "events",
                    "auc", "auc_low", "auc_high", "top10_capture", "top20_capture"]
REASONS = 3
REASON_COLUMNS = [c for i in range(1, REASONS + 1) for c in (f"reason_{i}", f"reason_{i}_value")]
SCORE_COLUMNS = ["uscc", "as_of_date", "risk_score", "rank", "ranker", "model_version", *REASON_COLUMNS]


# -- the data ----------------------------------------------------------------------------------


def feature_matrix(frame: pd.DataFrame, columns) -> np.ndarray:
    """The named columns as a float matrix, nulls as 0 (a count not recorded is none)."""
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"ranking: the frame has no column {', '.join(missing)}")
    if not columns:
        return np.zeros((len(frame), 0))
    # to_numeric raises on text: a feature column of strings is a bug upstream, not a zero.
    numeric = frame[columns].apply(lambda c: pd.to_numeric(c).astype("float64"))
    return numeric.fillna(0.0).to_numpy(dtype=float, copy=True)


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column with nulls as False."""
    return frame[column].fillna(False).astype(bool).to_numpy()


def _outcome(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(had an event in the next 12 months, the number of events) of the rows."""
    events = pd.to_numeric(frame["events_next_12m"]).fillna(0).to_numpy(dtype=float)
    return _flag(frame, "had_event_next_12m"), events


def _uniform(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """A seeded uniform number in [0, 1) per row, a function of (uscc, as_of_date, seed) only:
    the same unit gets the same number whatever the order or the other rows of the frame."""
    dates = pd.to_datetime(frame["as_of_date"]).dt.strftime("%Y-%m-%d")
    keys = frame["uscc"].astype(str) + "|" + dates
    key = f"{int(seed) % 10**16:016d}"  # pandas' hash key: 16 characters
    hashed = pd.util.hash_pandas_object(keys, index=False, hash_key=key).to_numpy(dtype=np.uint64)
    return (hashed >> np.uint64(11)).astype(float) / float(2**53)


# -- the baselines -----------------------------------------------------------------------------


def baseline_score(frame: pd.DataFrame, ranker: str, *, seed: int = SEED,
                   break_ties: bool = True) -> np.ndarray:
    """The score of a baseline ranker for each row of `frame` (higher = inspect first).

    - baseline_past_incidents: incidents_3y (accidents, casualty fires and 重大 hazards of the
      3 years before) plus 0.4·x/(1+|x|) of log_employees, a tie-break within (−0.4, 0.4) so that
      it only orders units of the same incident count (the larger first);
    - baseline_risk_colour: risk_colour (0 none … 4 红);
    - baseline_random: a seeded uniform number.

    With `break_ties` (the published ranking) units of the same colour are ordered by a seeded
    uniform number in [0, 0.5), deterministic per (uscc, as_of_date, seed). The backtest scores
    without it: the tie-aware metrics then give the expected value over every order of the ties,
    neither flattering nor punishing the colour for the luck of one draw.
    """
    if ranker == PAST_INCIDENTS:
        incidents, size = feature_matrix(frame, BASELINE_INPUTS[PAST_INCIDENTS]).T
        return incidents + 0.4 * size / (1.0 + np.abs(size))
    if ranker == RISK_COLOUR:
        colour = feature_matrix(frame, BASELINE_INPUTS[RISK_COLOUR])[:, 0]
        return colour + 0.5 * _uniform(frame, seed + 1) if break_ties else colour
    if ranker == RANDOM:
        return _uniform(frame, seed)
    raise ValueError(f"ranking: {ranker!r} is not a baseline ({', '.join(BASELINES)})")


# -- the metrics -------------------------------------------------------------------------------


def _arrays(y, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(bool).ravel()
    score = np.asarray(score, dtype=float).ravel()
    if y.shape != score.shape:
        raise ValueError(f"ranking: {y.size} labels but {score.size} scores")
    if np.isnan(score).any():
        raise ValueError("ranking: a score is NaN")
    return y, score


def auc(y, score) -> float:
    """ROC AUC: the chance that a unit with an event scores above one without, ties counted as
    half (Mann–Whitney U over average ranks). NaN when either class is absent."""
    y, score = _arrays(y, score)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, group, counts = np.unique(score, return_inverse=True, return_counts=True)
    # average rank (1-based) of each group of equal scores
    average = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average[group]
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def bootstrap_auc(y, score, n_boot: int = 1000, seed: int = SEED) -> tuple[float, float]:
    """95 % percentile interval of the AUC over `n_boot` resamples of the rows (with
    replacement). Resamples with one class only are left out; (NaN, NaN) when none is left.

    Vectorised: the scores are grouped once into equal values; a resample is then its count of
    positives and negatives per group, and its AUC a cumulative sum over the groups.
    """
    y, score = _arrays(y, score)
    n = y.size
    if n == 0 or n_boot <= 0 or y.all() or not y.any():
        return math.nan, math.nan
    _, group = np.unique(score, return_inverse=True)
    groups = int(group.max()) + 1
    cell_of = group.astype(np.int64) * 2 + y  # (group of equal scores, outcome) of each row
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // n)  # bounded memory for a large test year
    values = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        cells = cell_of[rng.integers(0, n, size=(size, n))]
        cells += (np.arange(size, dtype=np.int64) * (2 * groups))[:, None]
        counts = np.bincount(cells.ravel(), minlength=size * 2 * groups).reshape(size, groups, 2)
        neg, pos = counts[:, :, 0], counts[:, :, 1]
        below = np.cumsum(neg, axis=1) - neg
        # twice the wins, in integers: a tie is half a win
        wins2 = (pos * (2 * below + neg)).sum(axis=1)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values.append(np.where(pairs > 0, wins2 / (2.0 * pairs), np.nan))
    values = np.concatenate(values)
    if np.isnan(values).all():
        return math.nan, math.nan
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def _cut(n: int, share: float) -> int:
    """How many units the top `share` is: ceil(share·n) (the list holds at least that share),
    the 1e-9 against 0.1·30 = 3.0000000000000004."""
    return min(n, max(0, math.ceil(share * n - 1e-9)))


def captured(events, score, share: float) -> tuple[float, float]:
    """(events held by the top `share` of units by score, all events). Units tied with the last
    one in count fractionally: the expected events over a random order of the ties."""
    events = np.nan_to_num(np.asarray(events, dtype=float).ravel())
    _, score = _arrays(np.zeros(events.size), score)
    total = float(events.sum())
    k = _cut(events.size, share)
    if k == 0:
        return 0.0, total
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    inside = float(events[above].sum()) + (k - int(above.sum())) / int(tied.sum()) * float(events[tied].sum())
    return inside, total


def capture(events, score, share: float) -> float:
    """The share of all events (events_next_12m) held by the top `share` of units by score
    (the cut at ceil(share·n) units, ties at the cut fractional); NaN when there are no events."""
    inside, total = captured(events, score, share)
    return inside / total if total > 0 else math.nan


# -- the model ---------------------------------------------------------------------------------


def _log1p_columns(x: np.ndarray, columns: tuple[int, ...] = ()) -> np.ndarray:
    """log1p of the count columns (clipped at 0: a count is never negative), the rest as is."""
    x = np.array(x, dtype=float, copy=True)
    if columns:
        index = list(columns)
        x[:, index] = np.log1p(np.clip(x[:, index], 0.0, None))
    return x


@dataclass(frozen=True)
class Fitted:
    """A fitted ranking model: the features it reads, which of them are log-transformed counts,
    the scikit-learn pipeline (log1p → StandardScaler → LogisticRegression) and its version."""

    features: tuple[str, ...]
    counts: tuple[str, ...]
    pipeline: Pipeline
    version: str
    train_rows: int


def model_version(x: np.ndarray, y: np.ndarray, coefficients: np.ndarray) -> str:
    """"lr-" and 12 hex digits of a SHA-1 over the training values, the outcome and the fitted
    coefficients (rounded, so that a last-bit difference between machines does not show)."""
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(x, dtype=float).tobytes())
    digest.update(np.ascontiguousarray(y, dtype=np.int8).tobytes())
    digest.update(np.ascontiguousarray(np.round(coefficients, 8), dtype=float).tobytes())
    return "lr-" + digest.hexdigest()[:12]


def fit(train: pd.DataFrame, features, *, c: float = 0.5) -> Fitted:
    """Fit the model on `train` (label-complete rows): P(had_event_next_12m) by an L2 logistic
    regression (C = `c`) over the standardised features, the counts log1p-transformed first.

    A count is a feature that is never negative in `train`, takes values above 1 and is not
    already a logarithm (log_*): log1p keeps one unit with 200 findings from dominating a linear
    score; flags (0/1) and logarithms are only standardised. The rows are sorted by
    (uscc, as_of_date) first so the fit does not depend on their order. Raises ValueError when
    `train` holds only one outcome (nothing to learn from).
    """
    features = tuple(features)
    if {"uscc", "as_of_date"} <= set(train.columns):
        train = train.sort_values(["uscc", "as_of_date"], kind="stable")
    x = feature_matrix(train, features)
    y, _ = _outcome(train)
    if y.size == 0 or y.all() or not y.any():
        raise ValueError("ranking: the training rows hold one outcome only; no model to fit")
    is_count = [not name.startswith("log_") and x[:, j].min() >= 0 and x[:, j].max() > 1
                for j, name in enumerate(features)]
    counts = tuple(j for j, flag in enumerate(is_count) if flag)
    pipeline = Pipeline([
        ("log1p_counts", FunctionTransformer(_log1p_columns, kw_args={"columns": counts})),
        ("standardise", StandardScaler()),
        # l1_ratio=0 is the L2 penalty (scikit-learn ≥ 1.8 spells it so); lbfgs is deterministic.
        ("logistic", LogisticRegression(C=c, l1_ratio=0.0, class_weight=None, max_iter=1000)),
    ])
    pipeline.fit(x, y.astype(int))
    logistic = pipeline.named_steps["logistic"]
    version = model_version(x, y, np.concatenate([logistic.coef_.ravel(), logistic.intercept_]))
    return Fitted(features, tuple(features[j] for j in counts), pipeline, version, int(y.size))


def predict(fitted: Fitted, rows: pd.DataFrame) -> np.ndarray:
    """The model's probability of an event in the next 12 months, one per row."""
    if len(rows) == 0:
        return np.zeros(0)
    return fitted.pipeline.predict_proba(feature_matrix(rows, fitted.features))[:, 1]


def contributions(fitted: Fitted, rows: pd.DataFrame) -> np.ndarray:
    """Each feature's contribution to each row's log-odds relative to the training average:
    coef_j · z_j, z the standardised (log1p'd) value; the training average standardises to 0."""
    x = feature_matrix(rows, fitted.features)
    if len(x) == 0:  # scikit-learn refuses an empty matrix
        return x
    z = fitted.pipeline[:-1].transform(x)
    return z * fitted.pipeline.named_steps["logistic"].coef_.ravel()


def explain(fitted: Fitted | str, rows: pd.DataFrame, features=None, top: int = REASONS) -> pd.DataFrame:
    """Up to `top` reasons per row, the features that raise its score most: columns reason_1 …
    reason_<top> (a feature name, None when fewer features raise it) and reason_<i>_value (the
    raw value, nulls as 0), indexed like `rows`.

    For the model (`fitted` a `Fitted`) a reason is a feature with a positive contribution
    (`contributions`), largest first. For a baseline (`fitted` its ranker name) the reasons are
    its own inputs when positive (incidents_3y then log_employees; risk_colour); the random
    order has none. `features` is accepted for symmetry with the model; the model reads its own.
    """
    if isinstance(fitted, Fitted):
        names = list(fitted.features)
        raw = feature_matrix(rows, names)
        weight = contributions(fitted, rows)
    else:
        names = list(BASELINE_INPUTS[fitted]) if fitted in BASELINE_INPUTS else None
        if names is None:
            raise ValueError(f"ranking: no ranker {fitted!r}")
        raw = feature_matrix(rows, names)
        # a baseline ranks by its inputs in order, so they are its reasons in that order
        weight = np.where(raw > 0, (len(names) - np.arange(len(names)))[None, :], 0.0)
    n = len(rows)
    out = {}
    order = np.argsort(-weight, axis=1, kind="stable") if names else np.zeros((n, 0), dtype=int)
    for i in range(top):
        name = np.full(n, None, dtype=object)
        value = np.full(n, np.nan)
        if i < order.shape[1]:
            j = order[:, i]
            positive = weight[np.arange(n), j] > 0
            name[positive] = np.asarray(names, dtype=object)[j[positive]]
            value[positive] = raw[np.arange(n), j][positive]
        out[f"reason_{i + 1}"] = pd.Series(name, index=rows.index, dtype=object)
        out[f"reason_{i + 1}_value"] = pd.Series(value, index=rows.index, dtype="float64")
    return pd.DataFrame(out, index=rows.index)


# -- the backtest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """One year of the backtest: trained on `train` (row labels of the frame), tested on `test`."""

    test_year: int
    train_years: tuple[int, ...]
    train: pd.Index
    test: pd.Index


def _years(years) -> str:
    years = sorted(years)
    return "" if not years else str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def folds(frame: pd.DataFrame, *, min_train_years: int = 2) -> list[Fold]:
    """The rolling-origin folds: for each year t+1 of label-complete rows, trained on the
    label-complete rows of the years ≤ t whose 12-month outcome window had closed by the first
    as-of date of t+1 (so nothing trains on an outcome that was not known at the time; with one
    as-of date a year, 1 January, that is every row of the years ≤ t); kept when at least
    `min_train_years` years train it and its training rows hold both outcomes (a year with
    nothing to learn from is no test of the model). `frame`'s index must be unique."""
    complete = frame[_flag(frame, "label_complete")]
    dates = pd.to_datetime(complete["as_of_date"])
    years = complete["as_of_year"].astype(int)
    out = []
    for test_year in sorted(years.unique()):
        first = dates[years == test_year].min()
        train = complete.index[((years < test_year) & (dates + WINDOW <= first)).to_numpy()]
        train_years = tuple(sorted(int(y) for y in years.loc[train].unique()))
        learnable = complete.loc[train, "had_event_next_12m"].fillna(False).astype(bool).nunique() == 2
        if len(train_years) >= min_train_years and learnable:
            out.append(Fold(int(test_year), train_years, train, complete.index[(years == test_year).to_numpy()]))
    return out


def _scores(ranker: str, train: pd.DataFrame, test: pd.DataFrame, features, seed: int) -> np.ndarray:
    """Out-of-sample scores of `test` for the backtest (the baselines with their ties)."""
    if ranker == MODEL:
        return predict(fit(train, features), test)
    return baseline_score(test, ranker, seed=seed, break_ties=False)


def _metrics(y, events, score, n_boot: int, seed: int) -> dict:
    low, high = bootstrap_auc(y, score, n_boot, seed)
    return {"auc": auc(y, score), "auc_low": low, "auc_high": high,
            "top10_capture": capture(events, score, SHARES[0]),
            "top20_capture": capture(events, score, SHARES[1])}


def backtest(frame: pd.DataFrame, features, *, min_train_years: int = 2, n_boot: int = 1000,
             seed: int = SEED) -> pd.DataFrame:
    """The rolling-origin backtest of every ranker: one row per (fold, ranker), `BACKTEST_COLUMNS`.

    A fold row ("2023") tests the label-complete rows of that as-of year, trained as `folds`
    says. The "overall" rows pool the folds' test rows: units, positives and events are sums;
    the AUC and its interval are computed over the pooled predictions (each fold's model scores
    its own year); the captures are the events-weighted average of the folds' captures (events
    captured in all folds / all events), since a list is drawn up, and inspected, year by year —
    pooling the years into one list would let a year with higher scores crowd out another.
    The bootstrap seeds depend on the year and not the ranker, so the rankers are compared on
    the same resamples. Fewer folds than needed by `choose` are returned as they are.
    """
    features = list(features)
    # in a fixed order, so that the bootstrap draws the same rows whatever the caller's order
    frame = frame.sort_values(["as_of_date", "uscc"], kind="stable").reset_index(drop=True)
    rows, pooled = [], {r: ([], [], []) for r in RANKERS}
    caught = {r: np.zeros((len(SHARES), 2)) for r in RANKERS}
    plan = folds(frame, min_train_years=min_train_years)
    for fold in plan:
        train, test = frame.loc[fold.train], frame.loc[fold.test]
        y, events = _outcome(test)
        for ranker in RANKERS:
            score = _scores(ranker, train, test, features, seed)
            row = {"fold": str(fold.test_year), "train_years": _years(fold.train_years),
                   "test_year": fold.test_year, "ranker": ranker, "units": int(y.size),
                   "positives": int(y.sum()), "events": float(events.sum())}
            row.update(_metrics(y, events, score, n_boot, seed + fold.test_year))
            rows.append(row)
            pooled[ranker][0].append(y)
            pooled[ranker][1].append(events)
            pooled[ranker][2].append(score)
            for i, share in enumerate(SHARES):
                caught[ranker][i] += captured(events, score, share)
    if plan:
        for ranker in RANKERS:
            y, events, score = (np.concatenate(parts) for parts in pooled[ranker])
            row = {"fold": "overall", "train_years": _years({y_ for f in plan for y_ in f.train_years}),
                   "test_year": pd.NA, "ranker": ranker, "units": int(y.size),
                   "positives": int(y.sum()), "events": float(events.sum())}
            row.update(_metrics(y, events, score, n_boot, seed))
            for i, share in enumerate(SHARES):
                inside, total = caught[ranker][i]
                row[f"top{round(share * 100)}_capture"] = inside / total if total > 0 else math.nan
            rows.append(row)
    out = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    out["test_year"] = out["test_year"].astype("Int64")
    for column in ("units", "positives"):
        out[column] = out[column].astype("int64")
    for column in ("events", "auc", "auc_low", "auc_high", "top10_capture", "top20_capture"):
        out[column] = out[column].astype("float64")
    return out


# -- the choice --------------------------------------------------------------------------------


def _overall(backtest_frame: pd.DataFrame, ranker: str, column: str) -> float:
    at = (backtest_frame["fold"] == "overall") & (backtest_frame["ranker"] == ranker)
    return float(backtest_frame.loc[at, column].iloc[0]) if at.any() else math.nan


def best_baseline(backtest_frame: pd.DataFrame) -> str:
    """The baseline with the best overall AUC: past incidents before colour on a tie, the random
    order only when no other baseline has an AUC, past incidents (the bureau's practice) when
    none has one."""
    aucs = {r: _overall(backtest_frame, r, "auc") for r in BASELINES}
    candidates = [r for r in BASELINES if r != RANDOM and not math.isnan(aucs[r])]
    if not candidates and not math.isnan(aucs[RANDOM]):
        candidates = [RANDOM]
    return max(candidates, key=lambda r: aucs[r]) if candidates else PAST_INCIDENTS


def choose(backtest_frame: pd.DataFrame) -> tuple[str, str]:
    """(the ranker to publish, the reason in Chinese).

    The model when it was backtested on at least three years, its overall AUC and top-20 %
    capture are both strictly above every baseline's (the random order included), and its AUC
    interval lies above 0.5 (the model is better than chance, not only than baselines that may
    be at chance themselves). Otherwise `best_baseline`.
    """
    bt = backtest_frame

    def value(ranker: str, column: str) -> float:
        return _overall(bt, ranker, column)

    model_years = bt[(bt["fold"] != "overall") & (bt["ranker"] == MODEL)]
    n_folds = int(model_years["auc"].notna().sum())
    best = best_baseline(bt)
    fallback = f"本期采用基线排序（{LABELS[best]}）"

    if n_folds < MIN_FOLDS:
        return best, f"回测年份不足三年（{n_folds} 年），{fallback}"
    model_auc, model_top20 = value(MODEL, "auc"), value(MODEL, "top20_capture")
    # a baseline without a value (no events to capture) is not one the model failed to beat
    beaten = [r for r in BASELINES
              if model_auc <= value(r, "auc") or model_top20 <= value(r, "top20_capture")]
    if math.isnan(model_auc) or math.isnan(model_top20) or beaten:
        against = LABELS[beaten[0]] if beaten else LABELS[best]
        return best, f"模型回测未优于基线（{against}），{fallback}"
    if not value(MODEL, "auc_low") > 0.5:
        return best, f"模型回测区分度的区间含 0.5（未显著优于随机），{fallback}"
    return MODEL, (f"模型回测 {n_folds} 年，整体区分度 {model_auc:.2f}、前 20% 单位覆盖 "
                   f"{model_top20:.0%} 的事件，均优于各基线，本期采用模型排序")


# -- the published ranking ---------------------------------------------------------------------


def _ranked(rows: pd.DataFrame, ranker: str, fitted: Fitted | None, seed: int) -> pd.DataFrame:
    """`rows` (of one as-of date) scored by `ranker`, first to inspect first: `SCORE_COLUMNS`."""
    if ranker == MODEL:
        risk = predict(fitted, rows)
        order_score, version, explained = risk, fitted.version, explain(fitted, rows)
    else:
        order_score = baseline_score(rows, ranker, seed=seed, break_ties=True)
        # the rank percentile: in [0, 1] and monotone in the score, not a probability
        risk = pd.Series(order_score).rank(method="average", pct=True).to_numpy() if len(rows) else order_score
        version, explained = ranker, explain(ranker, rows)
    # as_of_date as dates (DuckDB hands a date column to pandas as timestamps; a DATE goes back)
    scores = pd.DataFrame({"uscc": rows["uscc"].to_numpy(),
                           "as_of_date": pd.to_datetime(rows["as_of_date"]).dt.date.to_numpy(),
                           "risk_score": np.asarray(risk, dtype=float), "_order": order_score})
    for column in REASON_COLUMNS:
        scores[column] = explained[column].to_numpy()
        if not column.endswith("_value"):  # a feature name or None (not pandas' str dtype's NaN)
            scores[column] = scores[column].astype(object).where(scores[column].notna(), None)
    scores = scores.sort_values(["_order", "uscc"], ascending=[False, True], kind="stable")
    scores = scores.drop(columns="_order").reset_index(drop=True)
    scores["rank"] = np.arange(1, len(scores) + 1, dtype="int64")
    scores["ranker"] = ranker
    scores["model_version"] = version
    return scores[SCORE_COLUMNS]


def _score_dates(frame: pd.DataFrame, rows: pd.DataFrame, features, ranker: str, fallback: str,
                 seed: int) -> pd.DataFrame:
    """`rows` ranked as-of date by as-of date, the model fitted on what was known on each date:
    the label-complete rows whose 12-month window had closed by it (for the current as-of date,
    every label-complete row). A date with nothing to learn from is ranked by `fallback`."""
    complete = frame[_flag(frame, "label_complete")]
    closes = pd.to_datetime(complete["as_of_date"]) + WINDOW
    parts = []
    dates = pd.to_datetime(rows["as_of_date"])
    for date in sorted(dates.unique()):
        these = rows[(dates == date).to_numpy()]
        fitted, used = None, ranker
        if ranker == MODEL:
            try:
                fitted = fit(complete[(closes <= date).to_numpy()], features)
            except ValueError:  # one outcome only (or no rows) known on that date
                used = fallback
        parts.append(_ranked(these, used, fitted, seed))
    if not parts:
        return _ranked(rows, fallback, None, seed)
    return pd.concat(parts, ignore_index=True)


def score(frame: pd.DataFrame, features, *, seed: int = SEED, min_train_years: int = 2,
          n_boot: int = 1000) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """Backtest, choose, and rank the scoring rows (is_scoring_row).

    Returns (scores, backtest, ranker, reason). `scores` has `SCORE_COLUMNS`, one row per
    scoring row, first to inspect first: risk_score in [0, 1] — for the model the probability
    of an event in the next 12 months (fitted on every label-complete row); for a baseline the
    rank percentile of its tie-broken score among the scored units (1.0 = first; an order, not
    a probability) — rank (1 = first; equal scores ordered by uscc), the ranker, model_version
    ("lr-…" for the model, the ranker's name for a baseline) and the reasons (`explain`).
    """
    features = list(features)
    bt = backtest(frame, features, min_train_years=min_train_years, n_boot=n_boot, seed=seed)
    ranker, reason = choose(bt)
    rows = frame[_flag(frame, "is_scoring_row")]
    return _score_dates(frame, rows, features, ranker, best_baseline(bt), seed), bt, ranker, reason


def score_open_rows(frame: pd.DataFrame, features, backtest_frame: pd.DataFrame, *,
                    seed: int = SEED) -> pd.DataFrame:
    """Every row whose 12 months are not over (not label_complete: the ranking to publish and
    the monthly lists of the last 12 months) ranked by the ranker `choose` picks from an
    already computed `backtest_frame`: `SCORE_COLUMNS` (rank within the as-of date) and
    decision_zh (the reason for the ranker). As `score`, except that the model of each as-of
    date is fitted on what was known on that date (see `_score_dates`), so a monthly list is
    the one that would have been published then.
    """
    ranker, reason = choose(backtest_frame)
    rows = frame[~_flag(frame, "label_complete")]
    scores = _score_dates(frame, rows, list(features), ranker, best_baseline(backtest_frame), seed)
    return scores.assign(decision_zh=reason)


# -- rerunning the backtest from a published file ---------------------------------------------

# Columns of marts.fct_enterprise_risk_features that are not features (the key, the unit, the
# outcome): every other column is one, as in the dbt model that trains.
NOT_FEATURES = frozenset({"uscc", "as_of_date", "unit_name", "as_of_year", "street_code", "is_scoring_row",
                          "label_complete", "events_next_12m", "had_event_next_12m"})


def rerun(frame: pd.DataFrame, *, n_boot: int = 1000, seed: int = SEED) -> tuple[pd.DataFrame, str, str]:
    """The backtest of the published features (marts.fct_enterprise_risk_features), as the build
    ran it: (backtest, the ranker to publish, why)."""
    features = sorted(c for c in frame.columns if c not in NOT_FEATURES)
    bt = backtest(frame, features, n_boot=n_boot, seed=seed)
    ranker, reason = choose(bt)
    return bt, ranker, reason


def main(argv: list[str] | None = None) -> int:
    """`python -m citysafety.mart.ranking FILE`: rerun the inspection ranking's backtest from a
    published warehouse or a department's analyst file (marts.fct_enterprise_risk_features),
    print it, and compare it with the file's marts.inspection_model_card: exit 1 when they differ."""
    import argparse
    import sys

    import duckdb

    parser = argparse.ArgumentParser(prog="python -m citysafety.mart.ranking", description=main.__doc__)
    parser.add_argument("database", help="a published warehouse or analyst DuckDB file")
    args = parser.parse_args(argv)
    con = duckdb.connect(args.database, read_only=True)
    try:
        frame = con.execute("select * from marts.fct_enterprise_risk_features").df()
        card = con.execute("select fold, ranker, auc, top20_capture, published_ranker "
                           "from marts.inspection_model_card").df()
    finally:
        con.close()
    bt, ranker, reason = rerun(frame)
    pd.set_option("display.width", 160)
    print(bt[["fold", "ranker", "units", "positives", "events", "auc", "auc_low", "auc_high",
              "top10_capture", "top20_capture"]].round(3).to_string(index=False))
    print(f"{reason}（{ranker}）")
    merged = bt.merge(card, on=["fold", "ranker"], how="outer", suffixes=("", "_published"))
    differ = merged[~(np.isclose(merged["auc"], merged["auc_published"], equal_nan=True)
                      & np.isclose(merged["top20_capture"], merged["top20_capture_published"], equal_nan=True))]
    if len(differ) or (len(card) and card["published_ranker"].iloc[0] != ranker):
        print("与发布的模型说明不一致 (differs from marts.inspection_model_card):", file=sys.stderr)
        print(differ[["fold", "ranker", "auc", "auc_published"]].to_string(index=False), file=sys.stderr)
        return 1
    print("与发布的模型说明一致 (agrees with marts.inspection_model_card)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
