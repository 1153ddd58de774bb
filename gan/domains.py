"""A domain-conditioned GAN: one generator for two domains, conditioned on (domain, class).

Transfer learns from a big public set (the *source*, e.g. PAMAP2 on the wrist) and a few logs
of the user's own device (the *target*, e.g. a phone in a pocket), which may hold classes the
source lacks. Instead of fine-tuning a source GAN onto the target (which forgets the source and
collapses onto the few target logs), one ConditionalWGANGP learns both domains at once: its label
ids are (domain, class) pairs named ``"source/walking"``, ``"target/walking"``, ``"target/vehicle"``
..., so the generator and critic stay the unchanged models of :mod:`gan.models` and share every
weight across domains; only the label tables tell the domains apart.

The classifier feedback needs class probabilities per *label*: :func:`classifier_over_labels` wraps
the board classifier (C classes) into a model over the L labels, ``p(label) = p(class) / n(class)``
where ``n(class)`` is how many labels share that class. Its cross-entropy is the classifier's own
plus a constant, so the generator gets exactly the classifier's gradients. (The GAN's logged
``classifier_accuracy`` is an argmax over labels, where a class's source and target labels tie:
read ``classifier_loss``, or the judge's acceptance of drawn windows, instead.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import layers, ops

if TYPE_CHECKING:
    from gan.wgan import ConditionalWGANGP

DOMAINS = ("source", "target")
SEP = "/"


def label_name(domain: str, class_name: str) -> str:
    return f"{domain}{SEP}{class_name}"


def split_label(label: str) -> tuple[str, str]:
    """``"target/walking"`` -> ``("target", "walking")``."""
    domain, _, name = str(label).partition(SEP)
    return domain, name


def domain_labels(class_names: Sequence[str],
                  present: Mapping[str, Iterable[int]]) -> tuple[list[str], np.ndarray]:
    """Label names and each label's class id, for the classes ``present`` in each domain (domain -> class ids)."""
    names, classes = [], []
    for domain in DOMAINS:
        for c in sorted(set(int(i) for i in present.get(domain, ()))):
            names.append(label_name(domain, class_names[c]))
            classes.append(c)
    return names, np.asarray(classes, dtype=np.int64)


def domain_dataset(x_source: np.ndarray, y_source: np.ndarray, x_target: np.ndarray, y_target: np.ndarray,
                   class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Both domains' windows with (domain, class) label ids: ``(x, label ids, label names, class id per label)``."""
    y_source = np.asarray(y_source, dtype=np.int64)
    y_target = np.asarray(y_target, dtype=np.int64)
    names, label_class = domain_labels(class_names, {"source": np.unique(y_source), "target": np.unique(y_target)})
    index = {n: i for i, n in enumerate(names)}
    ys = np.array([index[label_name("source", class_names[c])] for c in y_source], dtype=np.int64)
    yt = np.array([index[label_name("target", class_names[c])] for c in y_target], dtype=np.int64)
    x = np.concatenate([np.asarray(x_source, np.float32), np.asarray(x_target, np.float32)])
    return x, np.concatenate([ys, yt]), names, label_class


@keras.saving.register_keras_serializable(package="hargan")
class ClassToLabel(layers.Layer):
    """Class probabilities (B, C) -> label probabilities (B, L): ``p(label) = p(class(label)) / n(class)``."""

    def __init__(self, label_class: Sequence[int] | np.ndarray, num_classes: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.label_class = [int(c) for c in label_class]
        self.num_classes = int(num_classes)
        counts = np.bincount(self.label_class, minlength=self.num_classes).astype(np.float32)
        m = np.zeros((self.num_classes, len(self.label_class)), dtype=np.float32)
        for j, c in enumerate(self.label_class):
            m[c, j] = 1.0 / counts[c]
        self._matrix = m

    def call(self, probs: Any) -> Any:
        return ops.matmul(probs, ops.convert_to_tensor(self._matrix, dtype=probs.dtype))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], len(self.label_class))

    def get_config(self) -> dict:
        return {**super().get_config(), "label_class": list(self.label_class), "num_classes": self.num_classes}


def classifier_over_labels(classifier: keras.Model, label_class: Sequence[int] | np.ndarray) -> keras.Model:
    """The classifier as a model over (domain, class) labels, for the GAN's classifier feedback.

    Every class the classifier knows must have at least one label (a class no domain holds
    could never be asked for, but its probability would leak out of the labels' total).
    """
    n_cls = int(classifier.outputs[0].shape[-1])
    missing = sorted(set(range(n_cls)) - {int(c) for c in label_class})
    if missing:
        raise ValueError(f"classes {missing} have no (domain, class) label")
    inputs = keras.Input(shape=tuple(classifier.inputs[0].shape[1:]), name="x_mg")
    probs = ClassToLabel(label_class, n_cls, name="class_to_label")(classifier(inputs))
    return keras.Model(inputs, probs, name=f"{classifier.name}_over_labels")


def _label_ids(model: keras.Model, domain: str, class_names: Sequence[str]) -> list[int]:
    """Each class's label id in ``domain`` (a class the domain lacks takes the other domain's label)."""
    from gan.models import model_class_names

    labels = model_class_names(model)
    ids = []
    for c in class_names:
        own = label_name(domain, c)
        other = [n for n in labels if split_label(n)[1] == str(c)]
        if own not in labels and not other:
            raise ValueError(f"the {model.name} has no label for class {c!r}; it knows {labels}")
        ids.append(labels.index(own if own in labels else other[0]))
    return ids


def _class_conditioned(model: keras.Model, domain: str, class_names: Sequence[str], first: keras.KerasTensor,
                       name: str) -> keras.Model:
    """``model`` (inputs ``[first, label id]``) as a model over ``[first, class id]`` of one domain."""
    from gan.models import DomainLabel

    label = keras.Input(shape=(), dtype="int32", name="label")
    mapped = DomainLabel(class_names, _label_ids(model, domain, class_names), name=f"{domain}_label")(label)
    return keras.Model([first, label], model([first, mapped]), name=name)


def domain_generator(generator: keras.Model, domain: str, class_names: Sequence[str]) -> keras.Model:
    """The domain-conditioned ``generator`` as a class-conditioned one: ``[z, class id] -> windows`` of
    ``domain`` (a class the domain lacks comes from the other domain's label). Its class names are
    ``class_names``, so ``generate_windows`` and ``sample_validated`` take it as any generator."""
    from gan.models import generator_latent_dim

    z = keras.Input(shape=(generator_latent_dim(generator),), name="z")
    return _class_conditioned(generator, domain, class_names, z, f"{domain}_generator")


def domain_critic(critic: keras.Model, domain: str, class_names: Sequence[str]) -> keras.Model:
    """The domain-conditioned ``critic`` as a class-conditioned one: ``[x_mg, class id] -> score`` as a
    window of ``domain``, so the realism gate's critic test (``gan.realism``) takes it as any critic."""
    x = keras.Input(shape=tuple(critic.inputs[0].shape[1:]), name="x_mg")
    return _class_conditioned(critic, domain, class_names, x, f"{domain}_critic")


def domain_gan(gan: ConditionalWGANGP, domain: str, class_names: Sequence[str]) -> ConditionalWGANGP:
    """The domain-conditioned ``gan`` as a class-conditioned GAN of one ``domain`` (its generator and critic
    through :func:`domain_generator` and :func:`domain_critic`, the same hyperparameters and updates done,
    no classifier), so it is saved and loaded as any GAN (``save_models``, ``load_models``)."""
    from gan.wgan import ConditionalWGANGP

    half = ConditionalWGANGP(domain_generator(gan.generator, domain, class_names),
                             domain_critic(gan.critic, domain, class_names), None, **gan.hyperparameters())
    half.step_counter.assign(gan.step_counter)
    return half
