"""The ``tiltak`` command line.

Exit codes: 0 everything worked; 1 some documents failed (the rest were written; see the run manifest) or
some files are invalid; 2 the command cannot start (a missing path, an unsupported file, a model that is
not installed); 130 / 143 `tiltak run` was interrupted by SIGINT (Ctrl-C) / SIGTERM (what finished is written, the
manifest says interrupted; the same command finishes the rest).
"""

from __future__ import annotations

# The modules whose commands are decorated with ``@app.command()``: imported for that, in the order of the help.
# isort: off
import pipeline.cli.run as run_commands  # run
import pipeline.cli.results as result_commands  # show, validate, schema
import pipeline.cli.training as training_commands  # train-*, evaluate
# isort: on
# The other command modules: each one's register() adds its commands to the app.
from pipeline.cli.compare import register as _register_compare
from pipeline.cli.doctor import register as _register_doctor
from pipeline.cli.export import register as _register_export
from pipeline.cli.group import app
from pipeline.cli.report import register as _register_report
from pipeline.cli.serve import register as _register_serve
from pipeline.cli.server import register as _register_server
from pipeline.cli.workers import register as _register_workers

_register_compare(app)
_register_export(app)
_register_report(app)
_register_serve(app)
_register_server(app)
_register_doctor(app)
_register_workers(app)

# Decorated at import (above), in this order; the rest register here.
DECORATED_COMMAND_MODULES = (run_commands, result_commands, training_commands)

__all__ = ["app"]
