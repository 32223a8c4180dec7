import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Prefect reads PREFECT_HOME at import: keep the suite's Prefect state and analysis cache out of the project.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="tiltak-test-prefect-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Commands started by the tests use Prefect's per-process temporary server (or the harness's), never tiltak's local
# server that outlives them; tests/test_fast_start.py starts that one itself, in its own home, and stops it.
os.environ["TILTAK_PREFECT_SERVER"] = "temporary"
# Classifiers trained by the tests are recorded in a trust list of the suite's own, not the user's.
os.environ["TILTAK_HOME"] = tempfile.mkdtemp(prefix="tiltak-test-home-")
atexit.register(shutil.rmtree, os.environ["TILTAK_HOME"], ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "eval" / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("../shared/eval/seeds is not present")
    return SEEDS


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session (starting one costs ~10-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def prefect_api(prefect_harness) -> str:
    """The test server's API URL, for processes started by a test (CLI runs, Dask workers) to report to."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def parsed_pipeline():
    """The trained spaCy pipeline, for tests of rules that read the parse (skipped when only the blank one loads)."""
    from pipeline.analysis.nlp import load_nlp

    loaded = load_nlp("best")
    if loaded.info.kind == "blank":
        pytest.skip("no trained spaCy pipeline: the clause rules read the parse")
    return loaded
