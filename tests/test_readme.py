"""Every Python code block of the README runs as shown."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(source: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = re.search(r"# prints:\n((?:# .*\n)+)", source)
    if expected is not None:
        lines = [line[2:] for line in expected.group(1).splitlines()]
        assert result.stdout.splitlines()[: len(lines)] == lines


ROOT = README.parent


def test_the_test_command_and_ci_install_the_one_pinned_test_extra() -> None:
    setup = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)[0]
    assert "pip install -e '.[test]' && pytest" in setup.splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install" in ci and "-e '.[test]'" in ci
    # The development tools in that extra are pinned, so a fresh machine runs what
    # was checked; anyio is a runtime dependency, whose floor the extra repeats.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = set()
    for requirement in extras["test"]:
        name = re.split(r"[\[=<>;! ]", requirement, maxsplit=1)[0]
        names.add(name)
        if name != "anyio":
            assert "==" in requirement, requirement
    assert {"pytest", "hypothesis", "ruff", "mypy"} <= names


def test_install_advice_is_what_works_from_a_checkout() -> None:
    # The package is not on PyPI: "pip install 'realtime-session[ws]'" fails.
    texts = [README, ROOT / "CHANGELOG.md", *ROOT.glob("realtime_session/**/*.py")]
    texts += [*ROOT.glob("examples/*.py")]
    for path in texts:
        assert "install 'realtime-session[" not in path.read_text(encoding="utf-8"), path
    assert "pip install -e '.[ws]'" in README.read_text(encoding="utf-8")
