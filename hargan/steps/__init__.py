"""The steps of the flow, one module each, in order: prepare, classifier, quantize, gan (and
finetune), sample, evaluate, export. Each holds the step's building block (usable on its own),
its :class:`~hargan.steps.base.Step` and its single-step command (``hargan prepare`` ...)."""
