"""The steps of the flow, one module each, in order: prepare, classifier, quantize, gan, sample,
evaluate, export (a transfer run: prepare, judge, domain_gan, classifier, quantize, sample, evaluate,
export; :mod:`hargan.steps.transfer`). Each holds the step's building block (usable on its own),
its :class:`~hargan.steps.base.Step` and its single-step command (``hargan prepare`` ...)."""
