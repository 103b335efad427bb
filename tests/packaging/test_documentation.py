"""The README and the shipped unit point at what really exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_layout_lists_every_simulator() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    listed = set(re.findall(r"^(sims/\w+)/", layout, flags=re.MULTILINE))
    assert listed == {f"sims/{path.name}" for path in (ROOT / "sims").iterdir() if (path / "pyproject.toml").exists()}


def test_the_units_documentation_is_a_file_the_install_steps_install() -> None:
    """The package installs it too (test_deb.py); here: the steps that install without a package."""
    unit = (ROOT / "packaging" / "trueconf-calendar.service").read_text()
    documented = re.findall(r"^Documentation=file://(\S+)$", unit, flags=re.MULTILINE)
    assert documented, "the unit names no local documentation"
    operations = (ROOT / "docs" / "operations.md").read_text()
    install = operations.split("### Without a package", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = install.replace("\\\n", " ").splitlines()
    steps = [" ".join(line.split(" #")[0].split()) for line in lines]  # without comments
    for path in map(Path, documented):
        assert (ROOT / "docs" / path.name).exists(), f"docs/{path.name} does not exist"
        copies = [
            step for step in steps
            if re.search(r"\binstall\b", step) and re.search(rf"\sdocs/(\*\.md|{re.escape(path.name)})\s", step)
            and re.search(rf"\s{re.escape(str(path.parent))}/?$", step)
        ]
        assert copies, f"the install steps in docs/operations.md do not install {path}"
