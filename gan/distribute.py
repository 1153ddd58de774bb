"""Multi-worker training: which process writes.

Under ``tf.distribute.MultiWorkerMirroredStrategy`` every worker runs the same script with its own
``TF_CONFIG`` (cluster addresses and this process's task) and ends with the same weights; only the
chief writes files, so workers sharing a file system never write one path twice.
"""

from __future__ import annotations

import json
import os


def is_chief(tf_config: str | None = None) -> bool:
    """True for a single process and for the chief of a ``TF_CONFIG`` cluster.

    The chief is the ``chief`` task when the cluster has one, else worker 0 (TensorFlow's rule).
    """
    raw = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not raw.strip():
        return True
    config = json.loads(raw)
    task = config.get("task") or {}
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind is None:
        return True
    if "chief" in (config.get("cluster") or {}):
        return kind == "chief"
    return kind == "worker" and index == 0
