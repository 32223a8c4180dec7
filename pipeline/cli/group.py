"""The ``tiltak`` Typer app: the command group, ``--version``, the help's value labels, and how a command reaches
the Prefect API (``use_prefect_api``). The commands are defined in the other modules of ``pipeline.cli``;
``pipeline.cli.main`` puts them all on this app."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer._click.exceptions import UsageError  # typer carries its own Click
from typer.core import TyperGroup

import pipeline.cli.console as output
from pipeline import __version__
from pipeline.cli.console import console, fail


class _Commands(TyperGroup):
    """The ``tiltak`` command group: with ``--json``, a command line that does not parse (an unknown option, a
    missing argument) still gives one JSON object on stdout, beside Click's message on stderr."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if "--json" in sys.argv[1:]:
                command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
                output.configure(command or "tiltak", as_json=True)
                output.failed_json(exc.format_message(), exc.exit_code)
            raise


app = typer.Typer(
    cls=_Commands,
    name="tiltak",
    help="Read Norwegian policy documents and turn their measures, actors and commitments into data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def use_prefect_api(ctx: typer.Context, port: int | None = None):
    """The Prefect API this command's flow runs go to (``pipeline.ops.prefect_server.prefect_api``), held until the
    command ends. Called after the command's own checks and before Prefect is imported (it reads PREFECT_API_URL at
    import)."""
    from pipeline.ops.prefect_server import ServerError, prefect_api

    try:
        return ctx.with_resource(prefect_api(port=port, announce=output.note))
    except ServerError as exc:
        raise fail(str(exc)) from exc


def _version(value: bool) -> None:
    if value:
        console.print(f"tiltak {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """tiltak: Norwegian policy documents in, structured measures out."""
    output.quiet_prefect()


def _plain_help_labels() -> None:
    """Typer's help shows a value type after every option, ``<bool>`` even for a flag, and required arguments as
    ``{paths}`` in the usage line. Shown instead: nothing for a flag, the value in capitals (PATH, TEXT, NUMBER) for
    an option that takes one, and arguments as PATHS / [PATH]."""
    from typer.core import TyperArgument, TyperOption

    names = {"path": "PATH", "str": "TEXT", "int": "INTEGER", "float": "NUMBER", "bool": None}

    def value_label(param, ctx) -> str | None:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            return None
        if param.metavar is not None:
            return param.metavar
        label = param.display_type(ctx).strip("<>")
        label = label.removeprefix("list[").removesuffix("]").removesuffix(" range").lower()
        return names.get(label, label.upper())

    def usage_name(param) -> str:
        name = param.metavar or param.name.upper()
        name = name if param.required else f"[{name}]"
        return name + ("..." if param.nargs != 1 else "")

    TyperOption.display_type_rich = value_label
    TyperArgument.display_type_rich = lambda param, ctx: None  # the name column already says it
    TyperArgument._usage_display_name = usage_name
    TyperArgument.display_name_raw = property(lambda param: param.metavar or param.name.upper())


_plain_help_labels()
