"""Optional dependencies of export formats: a missing one is a plain message naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(RuntimeError):
    """An optional dependency an export format needs is not installed."""


def require(module: str, fmt: str) -> ModuleType:
    """Import `module` or say which extra installs it (both optional formats share `[export]`)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f'{fmt} export needs the {module.split(".")[0]} package: pip install "rupture-nlp[export]"') from None
