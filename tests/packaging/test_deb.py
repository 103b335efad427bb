"""The Debian package installs like the admin guide's, upgrades keeping the administrator's config.json and
migrating the database, and removes cleanly (admin guide 2.3: ``sudo dpkg -i <path>``).

``packaging/build-deb`` builds the package for real (its Python environment from the repository's own files and
the package index) once per session; dpkg then installs it into a scratch root, with the maintainer scripts run
on this machine for that root (``dpkg --root=DIR --force-script-chrootless``, which sets ``DPKG_ROOT``). The
scratch root has only what the scripts touch (passwd files, dpkg's database), so the package's dependencies are
forced: python3.11 is the one at /usr/bin, which the package's environment links to, as it would on the target.
Building the environment takes one to three minutes, depending on the machine's load.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "opt/trueconf/calendar"
CONFIG = f"{PREFIX}/etc/calendar/config.json"
COMMAND = f"{PREFIX}/bin/calendar/tc_calendar"
UNIT = "lib/systemd/system/trueconf-calendar.service"
PLACEHOLDER = re.compile(r'^\s*"[^"]+": "(encrypted_\w+)"', flags=re.MULTILINE)  # not those in comments


def _missing() -> str | None:
    """Why the package cannot be built and installed here, if it cannot."""
    for tool in ("dpkg", "dpkg-deb", "useradd", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the .deb cannot be built and installed here"
    if not Path("/usr/bin/python3.11").exists():
        return "/usr/bin/python3.11 is not installed: the package's Python environment is made with it"
    if os.geteuid() != 0:
        return "installing a .deb (even into a scratch root) sets file owners and adds a user: it needs root"
    return None


pytestmark = [
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
    pytest.mark.timeout(900),  # the first test builds the package's Python environment
    pytest.mark.xdist_group("deb"),  # one worker builds the package once for all of them
]


def _checkout_with_leftovers(directory: Path) -> Path:
    """The files the package is built from, copied under DIRECTORY, with an interrupted build's leftovers."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("packaging", "docs", "src"):
        shutil.copytree(ROOT / name, directory / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, directory / name)
    (directory / "build" / "bdist.linux-x86_64" / "wheel" / "tc_calendar-0.1.0.dist-info").mkdir(parents=True)
    return directory


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The package as built by packaging/build-deb, and the same files rebuilt as the next version.

    It is built from a copy of the checkout holding what an interrupted build leaves behind (setuptools' build/
    directory, with a wheel's metadata in it): a build must not depend on the checkout being clean."""
    checkout = _checkout_with_leftovers(tmp_path_factory.mktemp("checkout"))
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        ["bash", str(checkout / "packaging" / "build-deb"), "--version", "0.1.0-1", "--dist", str(dist)],
        capture_output=True, text=True, check=False, env={**os.environ, "DEB_COMPRESSION": "none"}, timeout=840,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    first = Path(build.stdout.strip().splitlines()[-1])
    # The next version: the same tree with the version bumped (building the environment again would tell no more).
    tree = tmp_path_factory.mktemp("next") / "tree"
    subprocess.run(["dpkg-deb", "--raw-extract", str(first), str(tree)], check=True, timeout=300)
    control = tree / "DEBIAN" / "control"
    control.write_text(control.read_text().replace("Version: 0.1.0-1\n", "Version: 0.1.0-2\n"))
    second = dist / "tc-calendar_0.1.0-2_next.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(tree), str(second)],
                   check=True, capture_output=True, timeout=300)
    shutil.rmtree(tree)
    return first, second


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    """A root with an administrator (passwd files) and an empty dpkg database, readable by the service user
    (pytest's own temporary directories are not)."""
    root = Path(tempfile.mkdtemp(prefix="tc-calendar-root."))
    root.chmod(0o755)
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    (root / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc" / "gshadow").write_text("root:*::\n")
    for name in ("info", "updates"):
        (root / "var" / "lib" / "dpkg" / name).mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").touch()
    (root / "var" / "log").mkdir()
    yield root
    shutil.rmtree(root)


def dpkg(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends", "--force-unsafe-io",
         f"--log={root}/var/log/dpkg.log", *args],
        capture_output=True, text=True, check=False, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def installed_version(root: Path) -> str:
    result = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "--showformat=${db:Status-Abbrev}${Version}",
         "--show", "tc-calendar"],
        capture_output=True, text=True, check=False, timeout=60,
    )
    return result.stdout if result.returncode == 0 else ""


def service_user(root: Path) -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        name, _, uid, gid, _comment, home, shell = line.split(":")
        if name == "tc-calendar":
            assert (home, shell) == ("/opt/trueconf/calendar", "/usr/sbin/nologin")
            return int(uid), int(gid)
    raise AssertionError("the package did not create the tc-calendar user")


def tc_calendar(root: Path, *args: str, as_service_user: bool = False) -> subprocess.CompletedProcess[str]:
    """The packaged command, as root (``sudo tc_calendar``) or as the service user (``sudo -u tc-calendar``)."""
    command = [str(root / COMMAND), *args]
    if as_service_user:
        uid, gid = service_user(root)
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TC_CALENDAR_CONFIG": str(root / CONFIG)}
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120, env=env, cwd="/")


def owner_and_mode(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_uid, stat.S_IMODE(info.st_mode)


def test_the_package_installs_configures_upgrades_keeping_the_config_and_purges(
    packages: tuple[Path, Path], scratch_root: Path
) -> None:
    first, second = packages
    root = scratch_root
    config = root / CONFIG

    # Installing creates the service user and gives it the configuration, readable by it alone.
    dpkg(root, "--install", str(first))
    assert installed_version(root) == "ii 0.1.0-1"
    uid, _ = service_user(root)
    assert uid < 1000, "tc-calendar is a system user"
    assert owner_and_mode(config.parent) == (uid, 0o700)
    assert owner_and_mode(config) == (uid, 0o600)
    assert config.read_text() == (ROOT / "packaging" / "config.example.json").read_text()

    # The unit is installed, and the documentation it names is where it says.
    unit = (root / UNIT).read_text()
    assert unit == (ROOT / "packaging" / "trueconf-calendar.service").read_text()
    documentation = re.search(r"^Documentation=file:///(\S+)$", unit, flags=re.MULTILINE)
    assert documentation is not None
    assert "## Install" in (root / documentation.group(1)).read_text()

    # The command runs the package's own environment, not anything of this checkout.
    where = subprocess.run(
        [str(root / PREFIX / "venv" / "bin" / "python"), "-I", "-c", "import tc_calendar; print(tc_calendar.__file__)"],
        capture_output=True, text=True, check=True, timeout=60, cwd="/",
    )
    assert where.stdout.startswith(str(root / PREFIX / "venv") + "/")

    # The packaged example is not usable as it is: check-config names every placeholder to encrypt.
    check = tc_calendar(root, "check-config", as_service_user=True)
    assert check.returncode == 2
    placeholders = PLACEHOLDER.findall(config.read_text())
    assert len(placeholders) == check.stderr.count("expected an encrypted value"), check.stderr
    assert f"config error: {config} line " in check.stderr

    # The administrator encrypts the passwords as the guide shows (sudo, so the key file is root's) ...
    hashed = tc_calendar(root, "--hash_pass", *placeholders)
    assert hashed.returncode == 0, hashed.stderr
    tokens = re.findall(r"^Your encrypted data: (dGNf\S+)$", hashed.stdout, flags=re.MULTILINE)
    assert len(tokens) == len(placeholders)
    key = config.parent / "calendar.key"
    assert owner_and_mode(key) == (0, 0o600)
    # ... puts them into config.json, with the embedded SQLite database instead of PostgreSQL ...
    text = config.read_text()
    for placeholder, token in zip(placeholders, tokens, strict=True):
        text = text.replace(f'"{placeholder}"', f'"{token}"', 1)
    text, removed = re.subn(r'\n  "dbConnectionConfig": \{.*?\n  \},\n', "\n", text, flags=re.DOTALL)
    assert removed == 1
    config.write_text(text)
    # ... and the configuration passes.
    check = tc_calendar(root, "check-config")
    assert check.returncode == 0, check.stderr
    database = config.parent / "calendar.db"
    assert not database.exists()

    # Upgrading keeps the changed config.json, hands the key file to the service user and migrates the database.
    output = dpkg(root, "--install", str(second))
    assert installed_version(root) == "ii 0.1.0-2"
    assert "migrating the database" in output
    assert config.read_text() == text
    assert not list(config.parent.glob("config.json.dpkg-*"))
    assert owner_and_mode(config) == (uid, 0o600)
    assert owner_and_mode(key) == (uid, 0o600)
    assert owner_and_mode(database) == (uid, 0o600)
    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision
    check = tc_calendar(root, "check-config", as_service_user=True)
    assert check.returncode == 0, check.stderr

    # Removing keeps the configuration, the key and the database; nothing else of the package is left.
    dpkg(root, "--remove", "tc-calendar")
    assert installed_version(root).startswith("rc ")
    assert not (root / PREFIX / "venv").exists()
    assert not (root / COMMAND).exists()
    assert not (root / UNIT).exists()
    assert config.read_text() == text
    assert key.exists() and database.exists()

    # Purging removes them too; the user stays, as files elsewhere may belong to it.
    dpkg(root, "--purge", "tc-calendar")
    assert installed_version(root) == ""
    assert not (root / "opt" / "trueconf").exists()
    assert service_user(root)[0] == uid


def test_the_package_declares_its_config_and_what_it_needs(packages: tuple[Path, Path]) -> None:
    first, _ = packages
    info = subprocess.run(["dpkg-deb", "--info", str(first)], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert re.search(r"^ Depends: .*\bpython3\.11\b", info, flags=re.MULTILINE)
    conffiles = subprocess.run(["dpkg-deb", "--info", str(first), "conffiles"], capture_output=True, text=True,
                               check=True, timeout=60).stdout
    assert conffiles.split() == [f"/{CONFIG}"]
    contents = subprocess.run(["dpkg-deb", "--contents", str(first)], capture_output=True, text=True, check=True,
                              timeout=120).stdout
    interpreter = re.search(rf"\./{PREFIX}/venv/bin/python3\.11 -> (\S+)", contents)
    assert interpreter is not None and interpreter.group(1) == "/usr/bin/python3.11"


@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="rpmbuild is not installed (Debian: apt install rpm)")
def test_the_rpm_holds_the_same_files_with_the_config_kept_on_upgrade(
    packages: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = packages
    build = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build-rpm"), "--version", "0.1.0-1", "--from-deb", str(first),
         "--dist", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    rpm = Path(build.stdout.strip().splitlines()[-1])

    def query(*args: str) -> str:
        return subprocess.run(["rpm", "--query", "--package", *args, str(rpm)], capture_output=True, text=True,
                              check=True, timeout=120).stdout

    assert query("--configfiles").split() == [f"/{CONFIG}"]
    flags = query("--queryformat", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]").splitlines()
    assert f"cn /{CONFIG}" in flags  # %config(noreplace): an upgrade never overwrites it
    assert {"python3.11", "shadow-utils", "util-linux"} <= set(query("--requires").split())
    files = set(query("--list").split())
    assert {f"/{CONFIG}", f"/{COMMAND}", "/usr/lib/systemd/system/trueconf-calendar.service",
            f"/{PREFIX}/share/doc/operations.md", f"/{PREFIX}/venv/bin/python3.11"} <= files
    scripts = query("--scripts")
    assert 'setpriv --reuid="${ids%%:*}"' in scripts  # the shared functions, their % intact
    assert scripts.count("tc_migrate_database\n") >= 1
