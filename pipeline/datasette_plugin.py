"""Kept so that an install made before the subpackages (its ``datasette`` entry point names this module) still
loads Datasette; the plugin is ``pipeline.research.datasette_plugin``. Reinstalling (``pip install -e .``) points
the entry point there."""

from pipeline.research.datasette_plugin import PLUGIN_NAME, prepare_connection, register, render_cell

__all__ = ["PLUGIN_NAME", "prepare_connection", "register", "render_cell"]
