"""The checks a config gets once it is read: ranges, names that become paths, known sources, presets
and sensors, so a mistake is one line naming the file and key before any step runs."""

from __future__ import annotations


from har_data.errors import InputError
from har_data.names import first_bad_name
from hargan.config import (CHOICES, CLASSIFIER_PRESETS, FORMATS, RANGES, SOURCES, Config, dotted_value,
                           needs_path)
from hargan.config_types import Locator


def check_values(cfg: Config, loc: Locator) -> None:
    """Range checks that the types alone do not catch; the first problem is one error naming the file, line and key."""
    def bad(msg: str, key: str) -> InputError:
        return loc.error(msg, key)

    for dom_key in ("data.source", "data.target"):
        dom = cfg.data.source if dom_key == "data.source" else cfg.data.target
        if dom is None:
            continue
        if dom.name not in SOURCES:
            raise bad(f"{dom_key}.name: unknown data source {dom.name!r}; valid sources: {', '.join(SOURCES)}",
                      f"{dom_key}.name")
        if needs_path(dom.name) and not dom.path:
            raise bad(f"{dom_key}.path: the {dom.name} loader needs a path", f"{dom_key}")
    if len(set(cfg.data.classes)) != len(cfg.data.classes):
        raise bad("data.classes: a class is listed twice", "data.classes")
    named = [("data.classes", c) for c in cfg.data.classes] + [
        (f"{key}.class_map", v) for key, dom in (("data.source", cfg.data.source), ("data.target", cfg.data.target))
        if dom is not None for v in dom.class_map.values() if v]
    found = first_bad_name(named)  # class names become folder names (synthetic/csv/<id>_<class>/)
    if found:
        raise bad(found[1], found[0])
    if cfg.classifier.preset not in CLASSIFIER_PRESETS:
        raise bad(f"classifier.preset: unknown preset {cfg.classifier.preset!r}; valid presets: "
                  f"{', '.join(CLASSIFIER_PRESETS)}", "classifier.preset")
    from har_data.sensors import SensorSpec  # light: numpy only

    try:
        SensorSpec(cfg.sensor.name, cfg.sensor.full_scale_g, cfg.sensor.odr_hz)
    except InputError as exc:
        key = ("sensor.full_scale_g" if "range" in exc.message else
               "sensor.odr_hz" if "data rate" in exc.message else "sensor.name")
        raise bad(f"{key}: {exc.message}", key) from None
    values = cfg.to_dict()
    for key, allowed in RANGES.items():
        problem = allowed.problem(dotted_value(values, key))
        if problem:
            raise bad(f"{key} {problem}", key)
    w = cfg.windows
    if len(w.fractions) != 3 or any(f < 0 for f in w.fractions) or abs(sum(w.fractions) - 1) > 1e-6 \
            or w.fractions[0] <= 0:
        raise bad(f"windows.fractions must be three non-negative train/val/test fractions summing to 1 "
                  f"(got {w.fractions})", "windows.fractions")
    if not 0.0 < cfg.transfer.target_share < 1.0:
        raise bad(f"transfer.target_share must be between 0 and 1 (got {cfg.transfer.target_share})",
                  "transfer.target_share")
    q = list(cfg.sampling.realism_critic_quantiles)
    if len(q) != 2 or not 0.0 <= q[0] < q[1] <= 1.0:
        raise bad(f"sampling.realism_critic_quantiles must be [low, high] with 0 <= low < high <= 1 (got {q})",
                  "sampling.realism_critic_quantiles")
    for key, choices in CHOICES.items():
        if dotted_value(values, key) not in choices:
            raise bad(f"{key} must be one of {', '.join(choices)} (got {dotted_value(values, key)!r})", key)
    for key, (pattern, what) in FORMATS.items():
        if not pattern.fullmatch(dotted_value(values, key)):
            raise bad(f"{key} must be {what} (got {dotted_value(values, key)!r})", key)
