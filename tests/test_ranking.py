"""The inspection risk ranking (citysafety.mart.ranking) on small synthetic data: the metrics
against their definitions, the backtest's folds, a planted signal found and a shuffled one not,
the explanations and the published scores.

The synthetic city: a few hundred units over seven as-of years (1 January 2018–2024, the last
one the ranking to publish). Each unit has a latent risk, persistent with a yearly drift; the
risk drives the next year's events and, noisily, several features — most of all the overdue
hazards (the planted feature). The baselines see it only through past incidents (the events
of earlier years) and an official colour that follows it weakly.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from citysafety.mart import ranking

FEATURES = ["incidents_3y", "hazards_overdue", "findings_12m", "hazards_12m", "sensor_alarms_12m",
            "uninsured", "log_employees", "risk_colour", "industry_manufacturing"]
PLANTED = "hazards_overdue"
YEARS = range(2018, 2025)  # 2018–2023 label complete, 2024 to score


def city(seed: int = 7, units: int = 300, shuffled: bool = False) -> pd.DataFrame:
    """The synthetic frame (one row per unit and as-of year); `shuffled` permutes the outcome
    within each year, leaving nothing to find."""
    rng = np.random.default_rng(seed)
    uscc = [f"91330100MA{i:08d}" for i in range(units)]
    base = rng.normal(scale=0.6, size=units)  # the unit's lasting risk
    state = rng.normal(scale=0.8, size=units)  # and its current state, which drifts
    size = rng.normal(3.0, 1.0, size=units)
    manufacturing = (rng.random(units) < 0.4).astype(int)
    past = rng.poisson(np.exp(-1.0 + 1.5 * base))  # incidents before the first as-of date
    rows = []
    for year in YEARS:
        state = 0.5 * state + rng.normal(scale=0.7, size=units)
        risk = base + state
        events = rng.poisson(np.exp(-2.0 + 1.5 * risk))
        frame = pd.DataFrame({
            "uscc": uscc,
            "as_of_date": pd.Timestamp(year, 1, 1).date(),
            "as_of_year": year,
            "street_code": "330102001",
            "incidents_3y": past.copy(),
            PLANTED: rng.poisson(np.exp(-0.3 + 1.2 * risk)),
            "findings_12m": rng.poisson(np.exp(0.2 + 0.3 * risk)),
            "hazards_12m": rng.poisson(np.exp(0.5 + 0.25 * risk)),
            "sensor_alarms_12m": rng.poisson(np.exp(-1.0 + 0.3 * risk)).astype(float),
            "uninsured": (rng.random(units) < 0.2).astype(int),
            "log_employees": size.round(3),
            "risk_colour": np.clip(np.round(1.5 + 0.3 * risk + rng.normal(size=units)), 0, 4).astype(int),
            "industry_manufacturing": manufacturing,
            "events_next_12m": events,
            "had_event_next_12m": events > 0,
            "label_complete": year < YEARS[-1],
            "is_scoring_row": year == YEARS[-1],
        })
        if shuffled:
            order = rng.permutation(units)
            frame["events_next_12m"] = events[order]
            frame["had_event_next_12m"] = events[order] > 0
        past = past + events
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out.loc[rng.random(len(out)) < 0.02, "sensor_alarms_12m"] = np.nan  # nulls count as 0
    out.loc[~out["label_complete"], ["events_next_12m", "had_event_next_12m"]] = [0, False]
    return out


@pytest.fixture(scope="module")
def signal():
    frame = city()
    started = time.perf_counter()
    result = ranking.score(frame, FEATURES, seed=11)
    return frame, result, time.perf_counter() - started


@pytest.fixture(scope="module")
def noise():
    frame = city(shuffled=True)
    return frame, ranking.score(frame, FEATURES, seed=11)


def overall(bt: pd.DataFrame) -> pd.DataFrame:
    return bt[bt["fold"] == "overall"].set_index("ranker")


# -- the metrics -------------------------------------------------------------------------------


def test_auc_is_sklearns_with_ties_counted_half():
    rng = np.random.default_rng(1)
    for n in (5, 40, 500):
        y = rng.random(n) < 0.3
        y[:2] = [True, False]
        score = rng.integers(0, 6, size=n).astype(float)  # many ties
        assert ranking.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        score = rng.normal(size=n)
        assert ranking.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert ranking.auc([1, 0, 1], [3, 3, 3]) == 0.5
    assert np.isnan(ranking.auc([1, 1], [0.2, 0.4]))
    assert np.isnan(ranking.auc([], []))


def test_capture_counts_ties_at_the_cut_fractionally():
    # top 40 % of 5 units = 2: the unit scoring 3 (1 event) and one of the three scoring 2 —
    # on average a third of their 3 events; 2 of the 6 events
    events, score = [1, 0, 3, 0, 2], [3, 2, 2, 2, 1]
    assert ranking.capture(events, score, 0.4) == pytest.approx(2 / 6)
    # every unit tied: the expected capture is the share itself, whatever the order
    assert ranking.capture([5, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1.0] * 10, 0.2) == pytest.approx(0.2)
    # the cut is ceil(share·n): 10 % of 15 units is 2 units
    assert ranking.capture([1] * 15, list(range(15)), 0.1) == pytest.approx(2 / 15)
    assert ranking.capture([0, 0, 4], [0, 1, 2], 0.1) == 1.0
    assert np.isnan(ranking.capture([0, 0], [1, 2], 0.2))


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_more_rows():
    rng = np.random.default_rng(2)
    widths = []
    for n in (100, 2000):
        y = rng.random(n) < 0.3
        score = y + rng.normal(scale=1.5, size=n)
        low, high = ranking.bootstrap_auc(y, score, n_boot=1000, seed=3)
        assert low < ranking.auc(y, score) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2
    assert ranking.bootstrap_auc(y, score, 200, 3) == ranking.bootstrap_auc(y, score, 200, 3)
    assert all(np.isnan(ranking.bootstrap_auc([1, 1, 1], [1, 2, 3], 100, 3)))
    y, score = rng.random(500) < 0.2, rng.normal(size=500)
    started = time.perf_counter()
    ranking.bootstrap_auc(y, score, n_boot=1000, seed=4)
    assert time.perf_counter() - started < 0.5


def test_baselines_rank_by_their_inputs():
    frame = pd.DataFrame({"uscc": list("abcd"), "as_of_date": pd.Timestamp(2024, 1, 1).date(),
                          "incidents_3y": [2, 2, 0, None], "log_employees": [1.0, 5.0, 9.0, 0.0],
                          "risk_colour": [4, 4, 1, 0]})
    past = ranking.baseline_score(frame, ranking.PAST_INCIDENTS)
    assert list(np.argsort(-past)) == [1, 0, 2, 3]  # incidents, then size; null as none
    tied = ranking.baseline_score(frame, ranking.RISK_COLOUR, break_ties=False)
    assert list(tied) == [4, 4, 1, 0]
    broken = ranking.baseline_score(frame, ranking.RISK_COLOUR, seed=5)
    assert broken[0] != broken[1] and min(broken[:2]) > broken[2] > broken[3]
    # deterministic per unit, whatever the other rows or their order
    again = ranking.baseline_score(frame.iloc[::-1], ranking.RISK_COLOUR, seed=5)[::-1]
    assert list(again) == list(broken)
    random = ranking.baseline_score(frame, ranking.RANDOM, seed=5)
    assert ((0 <= random) & (random < 1)).all()
    assert list(random) == list(ranking.baseline_score(frame, ranking.RANDOM, seed=5))
    assert list(random) != list(ranking.baseline_score(frame, ranking.RANDOM, seed=6))


# -- the backtest ------------------------------------------------------------------------------


def test_no_fold_trains_on_its_test_year_or_later():
    frame = city(units=60)
    plan = ranking.folds(frame, min_train_years=2)
    assert [f.test_year for f in plan] == [2020, 2021, 2022, 2023]
    for fold in plan:
        train, test = frame.loc[fold.train], frame.loc[fold.test]
        assert (train["as_of_year"] < fold.test_year).all()
        assert (pd.to_datetime(train["as_of_date"]) + pd.DateOffset(months=12)
                <= pd.to_datetime(test["as_of_date"]).min()).all()
        assert (test["as_of_year"] == fold.test_year).all()
        assert train["label_complete"].all() and test["label_complete"].all()
        assert fold.train_years == tuple(range(2018, fold.test_year))
    # a row dated mid-year has an outcome window reaching into the next year: not trained on then
    mid = frame[frame["as_of_year"] == 2021].assign(as_of_date=pd.Timestamp(2021, 7, 1).date())
    plan = ranking.folds(pd.concat([frame, mid], ignore_index=True), min_train_years=2)
    fold = next(f for f in plan if f.test_year == 2022)
    assert not (pd.concat([frame, mid], ignore_index=True).loc[fold.train, "as_of_date"]
                == pd.Timestamp(2021, 7, 1).date()).any()
    # years without an event teach nothing: no fold trains on them alone
    quiet = frame.copy()
    quiet.loc[quiet["as_of_year"] < 2020, ["events_next_12m", "had_event_next_12m"]] = [0, False]
    assert [f.test_year for f in ranking.folds(quiet)] == [2021, 2022, 2023]


def test_a_young_platform_publishes_a_baseline():
    frame = city(units=80)
    young = frame[frame["as_of_year"] >= 2021]  # three label-complete years: one fold
    scores, bt, chosen, reason = ranking.score(young, FEATURES, n_boot=50)
    assert bt["fold"].tolist() == ["2023"] * 4 + ["overall"] * 4
    assert chosen == "baseline_past_incidents" and reason.startswith("回测年份不足三年（1 年）")
    assert len(scores) == 80 and scores["reason_1"].isin(["incidents_3y", "log_employees"]).all()
    newborn = frame[frame["as_of_year"] >= 2023]  # nothing to backtest, nothing learnt
    scores, bt, chosen, reason = ranking.score(newborn, FEATURES)
    assert bt.empty and list(bt.columns) == ranking.BACKTEST_COLUMNS
    assert chosen == "baseline_past_incidents" and len(scores) == 80
    scores, *_ = ranking.score(frame[~frame["is_scoring_row"]], FEATURES, n_boot=50)
    assert scores.empty and list(scores.columns) == ranking.SCORE_COLUMNS


def test_a_planted_signal_is_found(signal):
    frame, (scores, bt, chosen, reason), _ = signal
    years = bt[bt["fold"] != "overall"]
    assert years["fold"].nunique() >= 3
    assert (years["train_years"].str[-4:].astype(int) < years["test_year"]).all()
    assert list(bt.columns) == ranking.BACKTEST_COLUMNS
    assert len(bt) == (years["fold"].nunique() + 1) * len(ranking.RANKERS)
    top = overall(bt)
    assert top.at["model", "auc"] >= 0.75
    for baseline in ranking.BASELINES:
        assert top.at["model", "auc"] > top.at[baseline, "auc"]
        assert top.at["model", "top20_capture"] > top.at[baseline, "top20_capture"]
    assert top.at["model", "auc_low"] > 0.5
    assert top.at["model", "auc_low"] <= top.at["model", "auc"] <= top.at["model", "auc_high"]
    # the overall capture is the events-weighted mean of the years'
    model_years = years[years["ranker"] == "model"]
    weighted = (model_years["top20_capture"] * model_years["events"]).sum() / model_years["events"].sum()
    assert top.at["model", "top20_capture"] == pytest.approx(weighted)
    assert top.at["model", "units"] == model_years["units"].sum()
    assert chosen == "model" and "模型" in reason
    assert ranking.choose(bt) == (chosen, reason)


def test_a_shuffled_outcome_is_not_found(noise):
    frame, (scores, bt, chosen, reason) = noise
    top = overall(bt)
    assert top.at["model", "auc_low"] < 0.5 < top.at["model", "auc_high"]
    assert chosen != "model" and chosen != "baseline_random"
    assert "基线" in reason
    assert (scores["ranker"] == chosen).all()
    assert scores["model_version"].eq(chosen).all()


def test_choose_wants_three_years_and_a_win_on_both_measures(signal):
    _, (_, bt, _, _), _ = signal
    two = bt[bt["fold"].isin(["overall", "2022", "2023"])]
    chosen, reason = ranking.choose(two)
    assert chosen != "model" and reason.startswith("回测年份不足三年")
    worse = bt.copy()
    at = (worse["fold"] == "overall") & (worse["ranker"] == "baseline_risk_colour")
    worse.loc[at, "top20_capture"] = 1.0
    chosen, reason = ranking.choose(worse)
    assert chosen == "baseline_past_incidents"  # the best AUC among the baselines
    assert reason.startswith("模型回测未优于基线（官方风险等级）")
    assert ranking.choose(bt.iloc[0:0])[0] == "baseline_past_incidents"


# -- the model, its reasons and the scores -----------------------------------------------------


def test_the_explanations_name_the_planted_feature_most_often(signal):
    frame, (scores, _, _, _), _ = signal
    firsts = scores["reason_1"].value_counts()
    assert firsts.index[0] == PLANTED
    assert firsts[PLANTED] > 1.2 * firsts.iloc[1]
    # a reason's value is the unit's raw value; no reason is one that lowers the score
    merged = scores.merge(frame[frame["is_scoring_row"]], on=["uscc", "as_of_date"])
    planted = merged["reason_1"] == PLANTED
    assert (merged.loc[planted, "reason_1_value"] == merged.loc[planted, PLANTED]).all()
    assert scores["reason_1"].isna().sum() < len(scores) / 2
    assert scores.loc[scores["reason_1"].isna(), ["reason_2", "reason_3"]].isna().all().all()


def test_the_model_explains_relative_to_the_training_average():
    frame = city(units=120)
    train = frame[frame["label_complete"]]
    fitted = ranking.fit(train, FEATURES)
    # a unit at the training average (of the log1p'd counts) has no reason either way
    mean = fitted.pipeline.named_steps["standardise"].mean_
    counts = [FEATURES.index(name) for name in fitted.counts]
    raw = mean.copy()
    raw[counts] = np.expm1(mean[counts])
    average = pd.DataFrame([raw], columns=FEATURES)
    assert np.abs(ranking.contributions(fitted, average)).max() < 1e-9
    assert ranking.explain(fitted, average)["reason_1"].isna().all()
    above = average.assign(**{PLANTED: raw[FEATURES.index(PLANTED)] + 3})
    assert ranking.explain(fitted, above).loc[0, "reason_1"] == PLANTED
    assert ranking.explain(fitted, above).loc[0, "reason_1_value"] == pytest.approx(raw[FEATURES.index(PLANTED)] + 3)
    contrib = ranking.contributions(fitted, train)
    logit = np.log(ranking.predict(fitted, train) / (1 - ranking.predict(fitted, train)))
    assert np.allclose(contrib.sum(axis=1) + fitted.pipeline.named_steps["logistic"].intercept_[0], logit)
    assert PLANTED in fitted.counts and "log_employees" not in fitted.counts
    assert "uninsured" not in fitted.counts
    # the fit does not depend on the order of the rows
    assert ranking.fit(train.iloc[::-1], FEATURES).version == fitted.version
    assert fitted.version.startswith("lr-") and len(fitted.version) == 15


def test_baseline_reasons_are_the_baselines_inputs():
    rows = pd.DataFrame({"uscc": list("abc"), "as_of_date": None, "incidents_3y": [3, 0, 0],
                         "log_employees": [2.5, 4.0, 0.0], "risk_colour": [0, 2, 0]})
    past = ranking.explain(ranking.PAST_INCIDENTS, rows)
    assert past["reason_1"].tolist() == ["incidents_3y", "log_employees", None]
    assert past["reason_1_value"].tolist()[:2] == [3.0, 4.0]
    assert past["reason_2"].tolist() == ["log_employees", None, None]
    assert past["reason_3"].isna().all()
    colour = ranking.explain(ranking.RISK_COLOUR, rows)
    assert colour["reason_1"].tolist() == [None, "risk_colour", None]
    assert ranking.explain(ranking.RANDOM, rows)["reason_1"].isna().all()
    assert list(past.columns) == ranking.REASON_COLUMNS


def test_scores_are_probabilities_and_deterministic(signal):
    frame, (scores, bt, chosen, reason), _ = signal
    assert list(scores.columns) == ranking.SCORE_COLUMNS
    scoring = frame[frame["is_scoring_row"]]
    assert len(scores) == len(scoring) and set(scores["uscc"]) == set(scoring["uscc"])
    assert scores["risk_score"].between(0, 1).all()
    assert scores["risk_score"].is_monotonic_decreasing
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["model_version"].nunique() == 1 and scores["model_version"][0].startswith("lr-")
    again = ranking.score(frame.sample(frac=1, random_state=3), FEATURES, seed=11)
    pd.testing.assert_frame_equal(again[0], scores)
    pd.testing.assert_frame_equal(again[1], bt)
    assert again[2:] == (chosen, reason)


def test_open_rows_are_ranked_with_what_was_known_on_their_date(signal):
    frame, (scores, bt, chosen, reason), _ = signal
    # a monthly list of July 2023: its 12 months are not over on 1 January 2024 either
    july = frame[frame["as_of_year"] == 2023].assign(
        as_of_date=pd.Timestamp(2023, 7, 1).date(), label_complete=False, is_scoring_row=False)
    monthly = pd.concat([frame, july], ignore_index=True)
    open_rows = ranking.score_open_rows(monthly, FEATURES, bt, seed=11)
    assert list(open_rows.columns) == [*ranking.SCORE_COLUMNS, "decision_zh"]
    assert (open_rows["decision_zh"] == reason).all() and (open_rows["ranker"] == "model").all()
    assert not open_rows.duplicated(["uscc", "as_of_date"]).any()
    latest = open_rows[open_rows["as_of_date"] == pd.Timestamp(2024, 1, 1).date()].reset_index(drop=True)
    pd.testing.assert_frame_equal(latest.drop(columns="decision_zh"), scores)  # the published one
    earlier = open_rows[open_rows["as_of_date"] == pd.Timestamp(2023, 7, 1).date()]
    assert earlier["rank"].tolist() == list(range(1, len(july) + 1))
    # fitted on the years whose outcome was known by July 2023: up to 2022, not 2023's
    known = frame[frame["as_of_year"] <= 2022]
    assert earlier["model_version"].unique().tolist() == [ranking.fit(known, FEATURES).version]
    assert earlier["model_version"].iloc[0] != scores["model_version"].iloc[0]


def test_baseline_scores_are_rank_percentiles(noise):
    _, (scores, _, chosen, _) = noise
    assert chosen in ranking.BASELINES
    assert scores["risk_score"].between(0, 1).all() and scores["risk_score"].max() == 1.0
    assert scores["risk_score"].is_unique  # the published order is strict
    assert scores["risk_score"].is_monotonic_decreasing


def test_the_ranking_is_quick(signal):
    *_, seconds = signal
    assert seconds < 5


def test_the_backtest_reruns_from_a_published_file(tmp_path, capsys):
    """`python -m citysafety.mart.ranking FILE` reruns the backtest from the published features
    and agrees with the card the build published beside them; a card that was not computed
    from these features is reported (exit 1)."""
    import duckdb

    frame = city(seed=5, units=120)
    frame["unit_name"] = "单位" + frame["uscc"].str[-3:]
    bt, ranker, reason = ranking.rerun(frame)
    card = bt.assign(published_ranker=ranker)
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("features", frame)
    con.register("card", card)
    con.execute("create table marts.fct_enterprise_risk_features as select * from features")
    con.execute("create table marts.inspection_model_card as select * from card")
    con.close()
    assert ranking.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and reason in out and "一致" in out

    con = duckdb.connect(str(path))
    con.execute("update marts.inspection_model_card set auc = auc - 0.01 where fold = 'overall'")
    con.close()
    assert ranking.main([str(path)]) == 1
    assert "不一致" in capsys.readouterr().err
