"""The admin commands, run as an operator runs them: the installed console script."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from bridge.cli import main
from bridge.db.engine import create_engine
from bridge.db.migrate import upgrade
from tests.bridge.process import bridge_command, bridge_env


async def _run(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *bridge_command(), *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=bridge_env(),
    )  # fmt: skip
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _scalar_rows(database_url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(query))]
    finally:
        await engine.dispose()


async def test_admin_commands_register_list_and_revoke(
    database_url: str, public_key: str, tmp_path: Path
) -> None:
    db = ("--database-url", database_url)
    # Migrate first (concurrent first-time migrations would race), then run the independent
    # commands side by side to keep the suite quick.
    await upgrade(database_url)
    enrol, add = await asyncio.gather(
        _run("enrol-code", *db, cwd=tmp_path),
        # "=" form: a base64url key may begin with "-", which argparse would take for an option.
        _run(
            "add-carrier", "--name", "Acme Parcel", f"--public-key={public_key}", *db, cwd=tmp_path
        ),
    )
    assert enrol[0] == 0
    [code] = enrol[1].splitlines()
    assert "cannot be shown again" in enrol[2]
    assert add[0] == 0
    carrier_id = add[1].strip()

    [(stored_hash,)] = await _scalar_rows(database_url, "SELECT code_hash FROM enrolment_codes")
    assert bytes(stored_hash) == hashlib.sha256(code.encode()).digest()  # type: ignore[arg-type]

    rc, out, _ = await _run("revoke", "carrier", carrier_id, *db, cwd=tmp_path)
    assert rc == 0
    rc, out, _ = await _run("list", "carriers", "--json", *db, cwd=tmp_path)
    assert rc == 0
    [listed] = json.loads(out)
    assert listed["id"] == carrier_id
    assert listed["name"] == "Acme Parcel"
    assert listed["public_key"] == public_key
    assert listed["revoked_at"] is not None


async def test_a_bad_key_is_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    rc, out, err = await _run(
        "add-carrier",
        "--name",
        "Bad",
        "--public-key",
        "c2hvcnQ",
        "--data-dir",
        "data",
        cwd=tmp_path,
    )
    assert (rc, out) == (2, "")
    assert "public key must be 32 raw Ed25519 bytes in base64url" in err
    assert "(invalid_public_key)" in err
    assert not (tmp_path / "data").exists(), "no database was created"


async def test_revoking_an_unknown_id_fails_clearly(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process: asyncio.run needs a thread without a running loop.
    rc = await asyncio.to_thread(
        main, ["revoke", "home", "home-nope", "--database-url", database_url]
    )
    assert rc == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no home with id 'home-nope' (not_found)" in captured.err


def test_migrate_then_list_on_the_default_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEYHOLDER_BRIDGE_DATA_DIR", str(tmp_path / "data"))
    assert main(["migrate"]) == 0
    assert (tmp_path / "data" / "bridge.sqlite3").is_file()
    assert main(["list", "homes"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["enrol-code", "--valid-hours", "0"], "--valid-hours must be between 1 and 720"),
        (["add-carrier", "--name", " ", "--public-key", "x"], "(invalid_name)"),
        # Shown to homeowners: nothing that hides or reverses text, no control characters.
        (["add-carrier", "--name", "Acme\u202eliated", "--public-key", "x"], "(invalid_name)"),
        (["add-carrier", "--name", "\u2066Acme\u2069", "--public-key", "x"], "(invalid_name)"),
        (["add-carrier", "--name", "Acme\u200f", "--public-key", "x"], "(invalid_name)"),
        (["add-carrier", "--name", "Acme\x1b[2J", "--public-key", "x"], "(invalid_name)"),
        (["add-carrier", "--name", "Acme\x9b", "--public-key", "x"], "(invalid_name)"),
        (["add-carrier", "--name", "Acme\nParcel", "--public-key", "x"], "(invalid_name)"),
        (["list", "homes", "--database-url", "sqlite:///plain.db"], "database URL must start with"),
    ],
)
def test_bad_input_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path / "data")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "data").exists(), "no database was created"


def test_an_unknown_log_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "homes", "--log-format", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


async def test_a_key_that_begins_with_a_dash_is_accepted_in_the_equals_form(
    database_url: str, tmp_path: Path
) -> None:
    """base64url keys begin with "-" one time in 64; the documented form must take them."""
    key = "-" + "A" * 41 + "E"  # 43 characters: 32 bytes in base64url, beginning with "-"
    await upgrade(database_url)
    rc, out, err = await _run(
        "add-carrier", "--name", "Dash", f"--public-key={key}", "--database-url", database_url,
        cwd=tmp_path,
    )  # fmt: skip
    assert rc == 0, err
    assert out.strip().startswith("carrier-")
