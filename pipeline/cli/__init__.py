"""The ``tiltak`` command line: one module per command or group of commands, the shared console and error handling
in ``pipeline.cli.console``, the app in ``pipeline.cli.group``, all put together by ``pipeline.cli.main``.

``app`` is re-exported here for the ``tiltak`` console script (``pipeline.cli:app``); no module of this package
imports from here."""

from pipeline.cli.main import app

__all__ = ["app"]
