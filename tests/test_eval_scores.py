"""Classifier-based scores (TRTR/TSTR, augmentation, discriminative score, int8 acceptance) and the whole
``evaluate_synthetic`` on tiny sine data with known answers. Uses the ``ign`` preset (no BatchNorm: it
learns these sines in a few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_data import CLASSES, sines, window_set

from evaluation.scores import (QUICK, discriminative_score, evaluate_synthetic, int8_acceptance, resolve_acceptance,
                            train_test_scores)
from evaluation.report import REQUIRED_KEYS, flatten_metrics, write_report
from har_data import InputError

CONTRACT_KEYS = {"trtr_accuracy", "tstr_accuracy", "tstr_ratio", "discriminative_score", "mmd", "mmd_by_class",
                 "psd_distance_by_class", "nn_dtw", "acceptance_rate", "acceptance_by_class", "augmentation_gain"}


@pytest.fixture(scope="module")
def real():
    return window_set()


@pytest.fixture(scope="module")
def int8(real):
    import classifier

    tr = real.subset("train")
    model = classifier.train_classifier(tr.x, tr.y, CLASSES, preset="ign", epochs=6, verbose=0, seed=0)
    return classifier.Int8Classifier(classifier.quantize_int8(model, tr.x, num_samples=60, seed=0), CLASSES)


@pytest.fixture(scope="module")
def same_distribution(real, int8, tmp_path_factory):
    """Synthetic windows = fresh draws from the real data's own distribution: the ideal generator."""
    x_syn, y_syn = sines(40, seed=99)
    out = tmp_path_factory.mktemp("eval")
    hist = {"critic_loss": [-3.0, -2.0, -1.0], "generator_loss": [1.0, 0.5, 0.2], "wasserstein": [3.0, 2.0, 1.0],
            "classifier_accuracy": [0.3, 0.6, 0.9]}
    metrics = evaluate_synthetic(real, x_syn, y_syn, preset="ign", seed=0, int8=int8, quick=True, out_dir=out,
                                 history=hist, synthesizer=lambda seen, seed: sines(40, seed=99))
    return metrics, out


def test_ideal_generator_scores(same_distribution):
    m, _ = same_distribution
    assert set(m) >= CONTRACT_KEYS
    assert m["trtr_accuracy"] > 0.9
    assert abs(m["tstr_accuracy"] - m["trtr_accuracy"]) <= 0.1 and 0.9 <= m["tstr_ratio"] <= 1.1
    assert m["discriminative_score"] < 0.2
    assert 0.0 <= m["discriminative_reference"] < 0.2  # real test vs real train recordings of one distribution
    assert abs(m["mmd"]) < 0.02 and all(abs(v) < 0.03 for v in m["mmd_by_class"].values())
    assert m["psd_distance"] < 0.15
    assert m["memorised_fraction"] == 0.0 and 0.7 < m["nn_dtw"]["ratio"] < 1.3
    assert set(m["augmentation_gain"]) == {str(p) for p in QUICK.augment_percents}
    low = m["augmentation_gain"]["10"]
    assert low["fraction"] == 0.1 and 0 < low["n_real"] < m["n_real_train"]
    assert low["gain"] == pytest.approx(low["real_plus_synthetic"] - low["real_only"])
    assert m["augmentation_gain"]["100"]["real_only"] == m["trtr_accuracy"]
    assert m["acceptance_rate"] > 0.8 and set(m["acceptance_by_class"]) == set(CLASSES)
    assert m["n_synthetic_by_class"] == {c: 40 for c in CLASSES}
    assert json.dumps(m)  # plain JSON values only


def test_report_from_evaluation(same_distribution):
    m, out = same_distribution
    m = dict(m)
    figures = m.pop("figures")
    assert set(figures) == {"windows", "pca", "tsne", "psd", "confusion_trtr", "confusion_tstr", "training_curves"}
    json_path, md_path = write_report({"gan": m, "timing": {"total_seconds": 1.0}}, out, figures)
    flat = flatten_metrics(json.loads(json_path.read_text()))
    assert all(k in flat for k in REQUIRED_KEYS) and flat["gan.tstr_ratio"] == m["tstr_ratio"]
    md = md_path.read_text()
    assert all(f"]({name}.png)" in md for name in figures)


def test_acceptance_known_answer(int8):
    x, y = sines(20, seed=5)
    rate, by_class = int8_acceptance(int8, x, y, CLASSES)
    assert rate == pytest.approx(np.mean(int8.accept(x, y, min_confidence=0.5)))
    assert rate > 0.8
    wrong_rate, wrong = int8_acceptance(int8, x, (y + 1) % 3, CLASSES)  # every label wrong
    assert wrong_rate < 0.2 and all(v < 0.2 for v in wrong.values())
    _, partial = int8_acceptance(int8, x[y != 2], y[y != 2], CLASSES)
    assert partial["run"] is None


def test_acceptance_from_sampling_takes_precedence():
    class Stub:  # accepts the windows whose label is 0
        def accept(self, x, labels, min_confidence=0.5):
            return np.asarray(labels) == 0

    x, y = sines(2, seed=1)
    rate, by_class, source = resolve_acceptance(Stub(), x, y, CLASSES)
    assert rate == pytest.approx(1 / 3) and by_class == {"still": 1.0, "walk": 0.0, "run": 0.0}
    assert "evaluated windows" in source
    sampled = {"acceptance_rate": 0.4, "acceptance_by_class": {"still": 0.5}}
    assert resolve_acceptance(Stub(), x, y, CLASSES, acceptance=sampled) == (0.4, {"still": 0.5},
                                                                             "int8 model at sampling time")
    # a sampling step without figures does not wipe out the int8 ones
    assert resolve_acceptance(Stub(), x, y, CLASSES, acceptance={"acceptance_rate": None})[0] == pytest.approx(1 / 3)
    assert resolve_acceptance(None, x, y, CLASSES) == (None, None, None)


def test_tstr_collapses_when_synthetic_labels_are_wrong(real):
    x_syn, y_syn = sines(40, seed=98)
    s = train_test_scores(real, x_syn, (y_syn + 1) % 3, preset="ign", seed=0, settings=QUICK)
    assert s["trtr_accuracy"] > 0.9 and s["tstr_accuracy"] < 0.3 and s["tstr_ratio"] < 0.35
    assert np.trace(np.asarray(s["tstr_confusion"])) < np.trace(np.asarray(s["trtr_confusion"]))


def test_discriminative_score_identical_vs_different(real):
    tr = real.subset("train")
    kw = dict(seeds=1, seed=4, epochs=QUICK.disc_epochs, patience=QUICK.disc_patience)
    same_a = discriminative_score(tr.x, tr.y, tr.x, tr.y, 3, **kw)  # identical sets
    same_b = discriminative_score(tr.x, tr.y, tr.x, tr.y, 3, **kw)
    assert same_a == same_b  # same seed on CPU: same numbers
    assert same_a["score"] < 0.1 and same_a["n_per_set"] == len(tr)
    x_far, y_far = sines(48, seed=3, freqs=(2.0, 5.0, 9.0), offset=1000.0, amp=400.0)
    far = discriminative_score(tr.x, tr.y, x_far, y_far, 3, **kw)
    assert far["score"] > 0.4


def test_the_synthetic_score_takes_as_many_windows_per_class_as_the_real_floor(real, monkeypatch):
    """More windows alone train a stronger post-hoc model: the score and its reference compare only on equal
    counts, so the synthetic set is cut to the test split's count per class."""
    from evaluation import scores

    seen = []

    def spy(x_real, y_real, x_syn, y_syn, num_classes, **kwargs):
        seen.append(np.bincount(y_syn, minlength=num_classes).tolist())
        return {"score": 0.1, "std": 0.0, "accuracies": [0.6]}

    monkeypatch.setattr(scores, "discriminative_score", spy)
    x_syn, y_syn = sines(40, seed=99)
    test = real.subset("test")
    scores._discriminative(real.subset("train"), test, x_syn, y_syn, 3, seed=0, settings=QUICK)
    assert seen[0] == seen[1] == np.bincount(test.y, minlength=3).tolist() and max(seen[0]) < 40


def test_discriminative_score_of_a_few_windows_per_class():
    """A small synthetic set (``per_class`` near its minimum) has fewer windows than (source, class) strata
    in the early-stopping split: the score is still computed (stratified by source alone there)."""
    x_real, y_real = sines(4, seed=1, freqs=(1.0, 2.0, 3.0, 4.0))
    x_syn, y_syn = sines(4, seed=2, freqs=(1.0, 2.0, 3.0, 4.0))
    d = discriminative_score(x_real, y_real, x_syn, y_syn, 4, seeds=1, seed=0, epochs=1, patience=1)
    assert d["n_per_set"] == 16 and 0.0 <= d["score"] <= 0.5


def test_bad_input_is_reported(real):
    x, y = sines(4, seed=1)
    with pytest.raises(InputError, match="synthetic windows are"):
        evaluate_synthetic(real, x[:, :20], y, preset="ign", quick=True)
    with pytest.raises(InputError, match="labels outside"):
        evaluate_synthetic(real, x, y + 5, preset="ign", quick=True)
    with pytest.raises(InputError, match="'test' split"):
        evaluate_synthetic(real.subset(["train", "val"]), x, y, preset="ign", quick=True)


def test_augmentation_gain_never_leaks_held_out_windows(real, monkeypatch):
    """Each row's generator sees exactly that row's real windows; fixed windows from a GAN trained on
    every training window are used for the 100 % row only."""
    import evaluation.scores as scores

    monkeypatch.setattr(scores, "_fit_and_score", lambda x, y, *a, **k: ({"accuracy": len(x) / 1000.0}, None))
    train, val = real.subset("train"), real.subset("val")
    seen_log = []

    def synthesizer(seen, seed):
        seen_log.append(seen)
        return sines(5, seed=seed + 7)

    aug = scores.augmentation_gain(real, synthesizer, preset="ign", seed=3, percents=(25, 100))
    assert len(seen_log) == 2 and aug["25"]["n_real"] < len(train) == aug["100"]["n_real"]
    for s, pct in zip(seen_log, ("25", "100")):
        tr = s.subset("train")
        assert len(tr) == aug[pct]["n_real"] and not len(s.subset("test"))
        assert set(s.group) <= set(train.group) | set(val.group)  # never a test recording
        np.testing.assert_array_equal(s.subset("val").x, val.x)
        idx = scores.subsample_by_group(train.y, train.group, int(pct) / 100, 3) if pct != "100" else \
            np.arange(len(train))
        np.testing.assert_array_equal(tr.x, train.x[idx])
        assert aug[pct]["n_synthetic"] == 15 and aug[pct]["generator_trained_on"] == "this row's real windows only"
    fixed = scores.augmentation_gain(real, sines(5, seed=1), preset="ign", percents=(25, 100))
    assert fixed["25"] == {"fraction": 0.25, "n_real": aug["25"]["n_real"], "skipped": scores.LEAK_NOTE}
    assert fixed["100"]["gain"] == pytest.approx(15 / 1000) and "full real training split" in \
        fixed["100"]["generator_trained_on"]


def test_pipeline_subset_synthesizer_trains_on_the_row_only(real, tmp_path, monkeypatch):
    """hargan's evaluate step (evaluation.augmentation_retrain): classifier, int8 judge, GAN and sampling
    all see the row's windows and nothing else."""
    import types

    import classifier
    import gan.training
    from hargan.config import ClassifierConfig, Config, EvaluationConfig, GanConfig, SamplingConfig
    from hargan.steps.evaluate import subset_synthesizer

    seen_by = {}
    real_train_on_windows, real_train_gan = classifier.train_on_windows, gan.training.train_gan

    def spy_classifier(ws, **kw):
        seen_by["classifier"] = ws
        return real_train_on_windows(ws, **kw)

    def spy_gan(ws, clf, **kw):
        seen_by["gan"] = ws
        return real_train_gan(ws, clf, **kw)

    real_quantize = classifier.quantize_int8

    def spy_quantize(model, x, **kw):
        seen_by["int8_calibration"] = x
        return real_quantize(model, x, **kw)

    monkeypatch.setattr(classifier, "train_on_windows", spy_classifier)
    monkeypatch.setattr(gan.training, "train_gan", spy_gan)
    monkeypatch.setattr(classifier, "quantize_int8", spy_quantize)
    # a 2-epoch judge may never pick some class: let it accept everything (what it was trained on is checked)
    monkeypatch.setattr(classifier.Int8Classifier, "accept", lambda self, x, y, *a, **k: np.ones(len(y), bool))
    cfg = Config(classifier=ClassifierConfig(preset="ign", epochs=2, representative_samples=20),
                 gan=GanConfig(steps=2, batch_size=16, latent_dim=8, n_critic=1),
                 sampling=SamplingConfig(per_class=2, min_confidence=0.0, max_tries=40, realism_gate=False),
                 evaluation=EvaluationConfig(augmentation_retrain=True))
    ctx = types.SimpleNamespace(cfg=cfg, is_transfer=False, sensor=real.sensor, log=lambda m: None)
    from evaluation.scores import seen_windows, subsample_by_group

    train, val = real.subset("train"), real.subset("val")
    seen = seen_windows(train, val, subsample_by_group(train.y, train.group, 0.25, 0))
    x, y = subset_synthesizer(ctx)(seen, 0)
    assert seen_by["classifier"] is seen and seen_by["gan"] is seen
    np.testing.assert_array_equal(seen_by["int8_calibration"], seen.subset("train").x)
    assert x.shape[1:] == real.x.shape[1:] and np.bincount(y, minlength=len(CLASSES)).tolist() == [2, 2, 2]
