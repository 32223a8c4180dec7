import re

from conftest import REPO


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_readme_has_two_setup_commands_and_ci_runs_the_test_command():
    commands = _setup_commands()
    assert len(commands) == 2
    run_corpus, run_tests = commands
    assert "tiltak run corpus/" in run_corpus
    assert "pytest" in run_tests
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert run_tests in ci.splitlines()
