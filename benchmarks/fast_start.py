"""Fast start (issue 16): one small text document, timed three ways in one run, each in a fresh process:

1. in-process: ``analyse_document`` in a new Python process (imports and model load included);
2. the first ``tiltak run`` in a fresh Prefect home (it starts tiltak's local Prefect server);
3. a second ``tiltak run --refresh`` of it (the server is reused; the analysis is redone, not cached);

and how fast a mistake (a missing path, an unknown ``--nlp``) is refused, before any server is started.

The figures go into the README's performance table. The server started here is stopped at the end.

    python benchmarks/fast_start.py [--nlp best] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from policy_text import document  # noqa: E402

from pipeline.ops.prefect_server import free_port, stop_server  # noqa: E402

TILTAK = Path(sys.executable).parent / "tiltak"


def timed(command: list[str], env: dict[str, str], expect: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--repeat", type=int, default=2, help="second runs (and in-process runs) to time")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tiltak-fast-start-"))
    text = document(random.Random(16), sections=1)[:1200]
    path = work / "plan.txt"
    path.write_text(text, encoding="utf-8")
    home = work / "prefect"
    env = {**os.environ, "PREFECT_HOME": str(home), "TILTAK_SERVER_PORT": str(free_port()),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for name in ("PREFECT_API_URL", "TILTAK_PREFECT_SERVER"):
        env.pop(name, None)
    in_process = [sys.executable, "-c", "import sys; from pipeline.config import PipelineConfig; "
                  "from pipeline.analysis.process import analyse_document; "
                  "analyse_document(sys.argv[1], PipelineConfig(nlp=sys.argv[2]))", str(path), args.nlp]
    run = [str(TILTAK), "run", str(path), "--out", str(work / "out"), "--nlp", args.nlp]
    mistakes = {"missing path": [str(TILTAK), "run", str(work / "mangler.txt"), "--out", str(work / "out")],
                "unknown --nlp": [*run[:-1], "nb_finnes_ikke"]}
    try:
        refused = {name: timed(command, env, expect=2) for name, command in mistakes.items()}
        inline = [timed(in_process, env) for _ in range(args.repeat)]
        first = timed(run, env)
        second = [timed([*run, "--refresh"], env) for _ in range(args.repeat)]
    finally:
        stop_server(home)
        shutil.rmtree(work, ignore_errors=True)
    best_inline, best_second = min(inline), min(second)
    print(f"document: {len(text)} characters, --nlp {args.nlp}; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"in-process analyse_document (new process, model load): {', '.join(f'{s:.1f}' for s in inline)} s")
    print(f"first tiltak run (starts the local Prefect server):      {first:.1f} s")
    print(f"second tiltak run --refresh (server reused):            {', '.join(f'{s:.1f}' for s in second)} s")
    print(f"second run / in-process: {best_second / best_inline:.2f}x (target at most 1.5x)")
    for name, seconds in refused.items():
        print(f"a {name} refused in {seconds:.1f} s (target under 3 s)")


if __name__ == "__main__":
    main()
