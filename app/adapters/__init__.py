"""Adapters: one sub-package per outside system (``sms``, ``email``, ...).

Adapters take plain values and return plain results. They know nothing of models, the
database or Flask's request, so the dispatcher, the webhooks and the tests share them as is.
Each sub-package has a Protocol, a registry keyed by a setting, the real implementation and
a development stand-in (``console``).
"""
