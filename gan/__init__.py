"""gan"""

# evaluation, plots and report (evaluation developer)
from gan.evaluation import evaluate_synthetic  # noqa: E402
from gan.report import flatten_metrics, write_report  # noqa: E402
