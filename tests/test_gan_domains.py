"""The domain-conditioned GAN's pieces (gan.domains) and the transfer recipe's helpers (gan.transfer),
on tiny arrays and models."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from classifier import build_classifier
from classifier.training import augmented_dataset
from gan.domains import classifier_over_labels, domain_critic, domain_dataset, domain_generator, domain_labels
from gan.models import build_critic, build_generator, generator_latent_dim, model_class_names
from gan.sampling import generate_windows
from gan.transfer import balance_domains, repeat_to

NAMES = ["stationary", "walking", "vehicle"]


def test_domain_dataset_labels_each_window_with_its_domain_and_class():
    xs, ys = np.zeros((4, 8, 3)), np.array([0, 1, 1, 0])
    xt, yt = np.ones((3, 8, 3)), np.array([2, 0, 1])
    x, y, names, label_class = domain_dataset(xs, ys, xt, yt, NAMES)
    assert names == ["source/stationary", "source/walking", "target/stationary", "target/walking", "target/vehicle"]
    assert label_class.tolist() == [0, 1, 0, 1, 2]
    assert y.tolist() == [0, 1, 1, 0, 4, 2, 3]
    assert np.array_equal(x[4:], xt) and label_class[y].tolist() == ys.tolist() + yt.tolist()


def test_classifier_over_labels_gives_the_classifiers_crossentropy_plus_a_constant():
    _, label_class = domain_labels(NAMES, {"source": [0, 1], "target": [0, 1, 2]})
    clf = build_classifier("cnn1d_tiny", 16, NAMES, 4.0, seed=0)
    over = classifier_over_labels(clf, label_class)
    x = np.random.default_rng(0).normal(0, 300, (6, 16, 3)).astype(np.float32)
    p_cls, p_lab = clf.predict(x, verbose=0), over.predict(x, verbose=0)
    assert p_lab.shape == (6, 5) and np.allclose(p_lab.sum(axis=1), 1.0, atol=1e-5)
    counts = np.bincount(label_class)
    for lab, c in enumerate(label_class):  # -log p(label) = -log p(class) + log n(class)
        assert np.allclose(-np.log(p_lab[:, lab]), -np.log(p_cls[:, c]) + np.log(counts[c]), atol=1e-4)
    with pytest.raises(ValueError, match="no \\(domain, class\\) label"):
        classifier_over_labels(clf, [0, 1])


def test_domain_generator_draws_the_domains_labels_and_knows_the_class_names(tmp_path):
    labels = ["source/stationary", "source/walking", "target/stationary", "target/vehicle"]
    gen = build_generator(4, labels, 16, 3, 4.0, width=8)
    target = domain_generator(gen, "target", NAMES)
    assert model_class_names(target) == NAMES
    x, y = generate_windows(target, [2, 2, 2], seed=3)
    z = np.random.default_rng(3).standard_normal((6, generator_latent_dim(gen))).astype(np.float32)
    mapped = np.array([2, 2, 1, 1, 3, 3], dtype=np.int32)  # walking: the target lacks it, the source's label
    assert np.allclose(x, np.asarray(gen([z, mapped])), atol=1e-5) and y.tolist() == [0, 0, 1, 1, 2, 2]
    target.save(tmp_path / "g.keras")
    again = keras.saving.load_model(tmp_path / "g.keras")
    assert model_class_names(again) == NAMES
    assert np.allclose(generate_windows(again, [2, 2, 2], seed=3)[0], x, atol=1e-5)
    with pytest.raises(ValueError, match="no label for class 'running'"):
        domain_generator(gen, "target", NAMES + ["running"])


def test_domain_critic_scores_windows_as_the_domains_labels(tmp_path):
    labels = ["source/stationary", "source/walking", "target/stationary", "target/vehicle"]
    critic = build_critic(labels, 16, 3, 4.0, width=8)
    target = domain_critic(critic, "target", NAMES)
    assert model_class_names(target) == NAMES
    x = np.random.default_rng(0).normal(0, 300, (6, 16, 3)).astype(np.float32)
    y = np.array([0, 0, 1, 1, 2, 2], dtype=np.int32)
    mapped = np.array([2, 2, 1, 1, 3, 3], dtype=np.int32)  # walking: the target lacks it, the source's label
    expected = np.asarray(critic([x, mapped]))
    assert np.allclose(np.asarray(target([x, y])), expected, atol=1e-5)
    target.save(tmp_path / "c.keras")
    again = keras.saving.load_model(tmp_path / "c.keras")
    assert np.allclose(np.asarray(again([x, y])), expected, atol=1e-5)


def test_balance_domains_repeats_the_target_to_its_share():
    xs, ys = np.zeros((90, 4, 3)), np.zeros(90, dtype=int)
    xt, yt = np.ones((7, 4, 3)), np.arange(7) % 2
    x, y = balance_domains(xs, ys, xt, yt, 0.5, seed=0)
    assert len(x) == 180 and np.sum(x[:, 0, 0] == 1) == 90
    assert abs(np.bincount(y[90:])[0] - 90 * 4 / 7) <= 1  # 7 windows (4 of class 0) repeated to 90
    x2, _ = repeat_to(xs, ys, 10, 0)
    assert len(x2) == 90
    with pytest.raises(ValueError):
        balance_domains(xs, ys, xt, yt, 1.0)


def test_rotations_about_the_gravity_axis_keep_z_and_the_horizontal_norm():
    x = np.random.default_rng(1).normal(0, 200, (32, 12, 3)).astype(np.float32)
    y = np.zeros(32, dtype=np.int64)
    batch, _ = next(iter(augmented_dataset(x, y, 32, 0, 180.0, 0.0, 0.0, rotate_axis="gravity")))
    batch = np.asarray(batch)
    order = np.argsort(x[:, 0, 2])  # match windows by their (unchanged) z
    got = batch[np.argsort(batch[:, 0, 2])]
    assert np.allclose(got[..., 2], x[order][..., 2], atol=1e-3)
    assert np.allclose(np.hypot(got[..., 0], got[..., 1]), np.hypot(x[order][..., 0], x[order][..., 1]), atol=1e-2)
    assert not np.allclose(got[..., 0], x[order][..., 0], atol=1.0)
