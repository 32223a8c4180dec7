"""``python -m pipeline.cli``: the ``tiltak`` command line without the installed console script."""

from pipeline.cli.main import app

app()
