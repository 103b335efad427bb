"""Seed 2.4: ``tc_calendar --register KEY`` and ``--offline_reg FILE`` as an administrator runs them (the command
as a subprocess, the registration server simulator over a real socket)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from licensing_harness import FREE_KEY, STANDARD_KEY, STANDARD_LIMIT, public_key_of, run_cli, write_config

from reg_sim import RegServer
from reg_sim.licences import save_private_key
from tc_calendar.cli import main
from tc_calendar.licensing import Edition, Licence, sign_licence
from tc_calendar.licensing.registration import (
    REGISTERED,
    REGISTERED_OFFLINE,
    Installation,
    load_licence,
    parse_offline_request,
)


def test_online_registration_stores_the_licence_and_says_so(config: Path, reg: RegServer) -> None:
    result = run_cli("--config", str(config), "--register", STANDARD_KEY)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == REGISTERED + "\n"
    assert REGISTERED == "Your product successfully registered. Now you can run tc_calendar"
    installation = Installation.from_config(config)
    licence = load_licence(installation, datetime.now(UTC))
    assert licence is not None
    assert (licence.edition, licence.account_limit, licence.product_key) == (Edition.STANDARD, STANDARD_LIMIT,
                                                                             STANDARD_KEY)
    assert licence.fingerprint == installation.fingerprint
    assert installation.licence_file == config.parent / "license.json"


def test_a_free_key_registers_online_as_the_free_edition(config: Path) -> None:
    result = run_cli("--config", str(config), "--register", FREE_KEY)
    assert result.stdout == REGISTERED + "\n"
    licence = load_licence(Installation.from_config(config), datetime.now(UTC))
    assert licence is not None and (licence.edition, licence.account_limit) == (Edition.FREE, 50)


def test_a_key_the_server_does_not_know_is_refused_with_its_reason(config: Path) -> None:
    result = run_cli("--config", str(config), "--register", "STD-9999")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.strip().endswith("refused: the registration key STD-9999 is not known")
    assert not (config.parent / "license.json").exists() and not (config.parent / "regoffline.crg").exists()


def test_unreachable_server_writes_regoffline_crg_for_a_paid_key(tmp_path: Path, closed_port_url: str) -> None:
    config = write_config(tmp_path, closed_port_url, public_key_of(Ed25519PrivateKey.generate()))
    result = run_cli("--config", str(config), "--register", STANDARD_KEY)
    request_file = tmp_path / "regoffline.crg"
    assert result.returncode == 4 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "cannot be reached" in result.stderr and str(request_file) in result.stderr
    assert "send this file to your manager" in result.stderr and "tc_calendar --offline_reg" in result.stderr
    request = parse_offline_request(request_file.read_text())
    assert request.product_key == STANDARD_KEY
    assert request.fingerprint == Installation.from_config(config).fingerprint
    content = json.loads(request_file.read_text())
    assert content["format"] == "tc-calendar-offline-request/1" and content["checksum"].startswith("sha256:")
    assert not (tmp_path / "license.json").exists()


def test_a_server_outage_also_leads_to_the_offline_request(config: Path, reg: RegServer) -> None:
    reg.registry.available = False
    result = run_cli("--config", str(config), "--register", STANDARD_KEY)
    assert result.returncode == 4 and "HTTP 503" in result.stderr
    assert (config.parent / "regoffline.crg").exists()


def test_a_free_key_cannot_be_registered_offline(tmp_path: Path, closed_port_url: str) -> None:
    config = write_config(tmp_path, closed_port_url, public_key_of(Ed25519PrivateKey.generate()))
    result = run_cli("--config", str(config), "--register", FREE_KEY)
    assert result.returncode == 3 and result.stdout == ""
    assert "A free license cannot be registered offline. This form of registration is available only for paid " \
           "licenses." in result.stderr
    assert not (tmp_path / "regoffline.crg").exists()


def test_offline_registration_end_to_end(tmp_path: Path, closed_port_url: str) -> None:
    """No network: regoffline.crg goes to the manager, who signs it; the file that comes back is installed."""
    manager_key = Ed25519PrivateKey.generate()
    save_private_key(manager_key, tmp_path / "manager.key")
    directory = tmp_path / "calendar"
    directory.mkdir()
    config = write_config(directory, closed_port_url, public_key_of(manager_key))
    assert run_cli("--config", str(config), "--register", STANDARD_KEY).returncode == 4
    signed = subprocess.run(
        [sys.executable, "-m", "reg_sim", "sign-offline", str(directory / "regoffline.crg"),
         "--private-key", str(tmp_path / "manager.key"), "--limit", "300"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert signed.returncode == 0, signed.stderr
    # The guide: place the file in the connector's directory, then run --offline_reg with its name.
    result = run_cli("--config", str(config), "--offline_reg", "regoffline2.crg", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == REGISTERED_OFFLINE + "\n"
    assert REGISTERED_OFFLINE == "Your product successfully registered offline. Now you can run tc_calendar"
    licence = load_licence(Installation.from_config(config), datetime.now(UTC))
    assert licence is not None and (licence.edition, licence.account_limit) == (Edition.STANDARD, 300)


def _licence_file(tmp_path: Path, key: Ed25519PrivateKey, **changes: object) -> Path:
    installation_fingerprint = changes.pop("fingerprint")
    path = tmp_path / str(changes.pop("name", "regoffline2.crg"))
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "edition": Edition.STANDARD, "account_limit": 100, "product_key": STANDARD_KEY,
        "fingerprint": installation_fingerprint, "issued_at": now - timedelta(days=1),
        "expires_at": now + timedelta(days=30), **changes,
    }
    path.write_text(sign_licence(Licence(**fields), key))  # type: ignore[arg-type]
    return path


# The refusals run the command in-process (faster); the subprocess tests above prove the entry point itself.


def test_offline_registration_files_that_cannot_be_trusted_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = Ed25519PrivateKey.generate()
    config = write_config(tmp_path, "http://127.0.0.1:9", public_key_of(key))
    mine = Installation.from_config(config).fingerprint
    expired = datetime.now(UTC) - timedelta(days=1)
    cases = {
        "foreign key": (_licence_file(tmp_path, Ed25519PrivateKey.generate(), fingerprint=mine, name="a.crg"),
                        "signed by a key this installation does not trust"),
        "expired": (_licence_file(tmp_path, key, fingerprint=mine, expires_at=expired, name="b.crg"), "expired on"),
        "other installation": (_licence_file(tmp_path, key, fingerprint="tcc1-0000", name="c.crg"),
                               "issued for another installation"),
        "free licence": (_licence_file(tmp_path, key, fingerprint=mine, edition=Edition.FREE, name="d.crg"),
                         "A free license cannot be registered offline"),
    }
    for name, (make, reason) in cases.items():
        assert main(["--config", str(config), "--offline_reg", str(make)]) == 3, name
        out, err = capsys.readouterr()
        assert out == "" and reason in err, (name, err)
        assert len(err.splitlines()) == 1
        assert not (tmp_path / "license.json").exists(), name


def test_a_tampered_registration_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Ed25519PrivateKey.generate()
    config = write_config(tmp_path, "http://127.0.0.1:9", public_key_of(key))
    path = _licence_file(tmp_path, key, fingerprint=Installation.from_config(config).fingerprint)
    document = json.loads(path.read_text())
    document["signature"] = document["signature"][:-4] + ("AAA=" if not document["signature"].endswith("AAA=")
                                                          else "BBB=")
    path.write_text(json.dumps(document))
    assert main(["--config", str(config), "--offline_reg", str(path)]) == 3
    err = capsys.readouterr().err
    assert "has been altered since it was issued" in err and str(path) in err


def test_installing_the_request_itself_explains_the_mix_up(
    tmp_path: Path, closed_port_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, closed_port_url, public_key_of(Ed25519PrivateKey.generate()))
    assert main(["--config", str(config), "--register", STANDARD_KEY]) == 4
    capsys.readouterr()
    assert main(["--config", str(config), "--offline_reg", str(tmp_path / "regoffline.crg")]) == 3
    assert "is the offline registration request, not the registration file" in capsys.readouterr().err


def test_a_wrong_registration_section_is_a_config_error_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", "not a key")
    assert main(["--config", str(config), "--register", STANDARD_KEY]) == 2
    assert capsys.readouterr().err.startswith(f"config error: {config}: registration.publicKey: expected an Ed25519")
