"""``python -m pipeline.cli``: the ``tiltak`` command line without the installed console script."""

from pipeline.cli.main import app

if __name__ == "__main__":  # importing this module (a tool walking the tree) runs nothing
    app()
