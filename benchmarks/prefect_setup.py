"""What the Prefect benchmarks share: a fresh ``PREFECT_HOME`` (so no run finds an earlier cache) set before
Prefect is imported, and Prefect's temporary server started once up front, so no timed run pays its start-up."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def fresh_prefect_home(prefix: str) -> Path:
    """A new temporary work folder whose ``prefect/`` subfolder is ``PREFECT_HOME``. Call before importing
    ``flows`` or ``prefect``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return work


def start_temporary_server() -> float:
    """Start Prefect's temporary server with a trivial flow run; returns the seconds it took."""
    from prefect import flow

    @flow(name="benchmark-server-start")
    def start_server() -> None:
        return None

    started = time.perf_counter()
    start_server()
    return time.perf_counter() - started
