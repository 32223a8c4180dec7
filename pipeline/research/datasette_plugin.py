"""Datasette plugin for ``tiltak browse``: the Norwegian stemming functions of ``pipeline.research.search`` on every
connection (the ``search`` query uses ``tiltak_match``), and ``report_url`` cells as links to the report."""

from __future__ import annotations

from datasette import hookimpl
from markupsafe import Markup, escape

PLUGIN_NAME = "tiltak"
# Where `tiltak browse` serves the datasets folder, so that a measure's report_url opens the report beside it.
FILES_MOUNT = "files"


@hookimpl
def prepare_connection(conn):
    from pipeline.research.search import register_functions

    register_functions(conn)


@hookimpl
def render_cell(value, column):
    if column != "report_url" or not isinstance(value, str) or "#" not in value or "//" in value:
        return None
    return Markup('<a href="/{}/{}">{}</a>').format(FILES_MOUNT, escape(value), "rapport")


def register() -> None:
    """Register this module with Datasette's plugin manager once per process."""
    import sys

    from datasette.plugins import pm

    module = sys.modules[__name__]
    if not pm.is_registered(module) and pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(module, name=PLUGIN_NAME)
