"""Agreement statistics on tables small enough to check by hand or against published examples."""

from __future__ import annotations

import numpy as np
import pytest

from rupture_nlp.reliability import alpha_nominal, icc, kappa_codes, session_bootstrap


def test_kappa_hand_worked_two_by_two():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = .70; p_e = (25/50)(30/50) + (25/50)(20/50) = .30 + .20 = .50; κ = (.70 − .50)/(1 − .50) = .40
    a = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert kappa_codes(a, b, 2) == pytest.approx(0.40)


def test_kappa_matches_scikit_learn_on_random_codes():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 3, 80), rng.integers(0, 3, 80)
    assert kappa_codes(a, b, 3) == pytest.approx(cohen_kappa_score(a, b))


def test_alpha_hand_worked_two_coders():
    # units (0,0) (0,1) (1,1) (1,1): coincidences o00=2, o01=o10=1, o11=4; n0=3, n1=5, n=8
    # α = 1 − (n−1)·Σ_{c≠k} o_ck / (n² − Σ n_c²) = 1 − 7·2/(64 − 9 − 25) = 1 − 14/30
    data = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])
    assert alpha_nominal(data) == pytest.approx(1 - 14 / 30)


def test_alpha_published_example_with_missing_values():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 coders × 12 units, nominal α = 0.743
    m = -1
    data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, m, m, m],
                     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, m, 3],
                     [m, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, m],
                     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, m]])
    assert alpha_nominal(data) == pytest.approx(0.743, abs=5e-4)


def test_alpha_agrees_with_the_krippendorff_package():
    krippendorff = pytest.importorskip("krippendorff", reason="the GPL 'krippendorff' package is a test-only cross-check")
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, (3, 40))
    data[rng.random((3, 40)) < 0.2] = -1
    reference = krippendorff.alpha(np.where(data < 0, np.nan, data).astype(float), level_of_measurement="nominal")
    assert alpha_nominal(data) == pytest.approx(reference)


def test_alpha_undefined_with_one_category():
    assert np.isnan(alpha_nominal(np.zeros((2, 5), dtype=int)))


def test_icc_hand_worked_three_targets_two_raters():
    # grand mean 3; row means 1.5, 3, 4.5; column means 3, 3
    # MSR = 2·(2.25 + 0 + 2.25)/2 = 4.5; MSC = 0; residuals ±.5 on rows 1 and 3 → SSE = 1, MSE = 1/2
    # ICC(2,1) = (4.5 − .5)/(4.5 + .5 + 2·(0 − .5)/3) = 4/(14/3) = 6/7; ICC(3,1) = 4/5
    result = icc(np.array([[1, 2], [3, 3], [5, 4]]))
    assert result["icc2_1"] == pytest.approx(6 / 7)
    assert result["icc3_1"] == pytest.approx(0.8)


def test_icc_shrout_fleiss_published_example():
    # Shrout & Fleiss (1979), Table 2: 6 targets × 4 judges; ICC(2,1) = .29, ICC(3,1) = .71
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    result = icc(ratings)
    assert result["icc2_1"] == pytest.approx(0.29, abs=0.005)
    assert result["icc3_1"] == pytest.approx(0.71, abs=0.005)


def test_icc_absolute_agreement_penalises_a_constant_offset():
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    result = icc(np.column_stack([base, base + 2]))
    assert result["icc3_1"] == pytest.approx(1.0)
    assert result["icc2_1"] < 0.7


def test_session_bootstrap_interval_contains_the_point_estimate():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"s{i}" for i in range(12)], 10)
    a = rng.integers(0, 3, len(groups))
    b = np.where(rng.random(len(groups)) < 0.7, a, rng.integers(0, 3, len(groups)))
    point = kappa_codes(a, b, 3)
    lo, hi = session_bootstrap(groups, lambda rows: kappa_codes(a[rows], b[rows], 3), n_boot=300)
    assert lo <= point <= hi and lo < hi


def test_session_bootstrap_resamples_whole_sessions():
    groups = np.array(["a", "a", "b"])
    seen = []
    session_bootstrap(groups, lambda rows: seen.append(sorted(rows)) or 0.0, n_boot=30)
    for rows in seen:
        assert rows.count(0) == rows.count(1)  # the two turns of session a always travel together
