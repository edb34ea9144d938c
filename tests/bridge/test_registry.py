"""The registry on a real database (SQLite file and PostgreSQL): hashes and public keys only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import hashlib

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.db.engine import create_engine
from bridge.db.migrate import upgrade
from bridge.db.repository import Registry, RegistryError
from bridge.db.tables import Carrier, Home
from bridge.keys import encode_public_key
from tests.bridge.conftest import new_public_key

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BAD_KEYS = ["", "short", "A" * 44, "+" * 43, encode_public_key(b"\x01" * 31)]


async def _rows(database_url: str, table: str) -> list[dict[str, object]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def test_migrations_apply_to_an_empty_database_and_are_idempotent(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)

    def tables(conn: AsyncConnection) -> set[str]:
        return set(inspect(conn).get_table_names())

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(tables)  # type: ignore[arg-type]
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert {
        "homes", "carriers", "enrolment_codes", "deliveries", "carrier_nonces", "alembic_version"
    } <= names  # fmt: skip
    assert "audit_checkpoints" in names
    assert version == [("0004",)]


async def test_enrolment_code_is_stored_only_as_its_hash(
    registry: Registry, database_url: str
) -> None:
    issued = await registry.issue_enrolment_code(now=NOW)
    _selector, secret = issued.code.split(".")
    [row] = await _rows(database_url, "enrolment_codes")
    assert bytes(row["code_hash"]) == hashlib.sha256(issued.code.encode()).digest()  # type: ignore[arg-type]
    stored = repr(row)
    assert secret not in stored
    assert issued.code not in stored
    assert row["used_at"] is None


async def test_enrolment_code_enrols_one_home_once(registry: Registry, public_key: str) -> None:
    issued = await registry.issue_enrolment_code(now=NOW)
    home = await registry.enrol_home(
        code=issued.code, name=" Flat 3 ", public_key=public_key, now=NOW
    )
    assert home.name == "Flat 3"
    assert encode_public_key(home.public_key) == public_key

    with pytest.raises(RegistryError) as err:
        await registry.enrol_home(code=issued.code, name="again", public_key=public_key, now=NOW)
    assert err.value.code == "enrolment_code_used"
    assert [h.id for h in await registry.list_homes()] == [home.id]


async def test_enrolment_code_expires(registry: Registry, public_key: str) -> None:
    issued = await registry.issue_enrolment_code(ttl=timedelta(hours=1), now=NOW)
    with pytest.raises(RegistryError) as err:
        await registry.enrol_home(
            code=issued.code, name="late", public_key=public_key, now=NOW + timedelta(hours=1)
        )
    assert err.value.code == "enrolment_code_expired"
    assert await registry.list_homes() == []


async def test_a_wrong_enrolment_code_is_refused(registry: Registry, public_key: str) -> None:
    issued = await registry.issue_enrolment_code(now=NOW)
    selector, secret = issued.code.split(".")
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for guess in (f"{selector}.{flipped}", f"x.{secret}", selector, "", "no-dot"):
        with pytest.raises(RegistryError) as err:
            await registry.enrol_home(code=guess, name="guess", public_key=public_key, now=NOW)
        assert err.value.code == "unknown_enrolment_code", guess
    assert await registry.list_homes() == []


async def test_a_bad_home_key_leaves_the_code_unspent(registry: Registry, public_key: str) -> None:
    issued = await registry.issue_enrolment_code(now=NOW)
    for bad in BAD_KEYS:
        with pytest.raises(RegistryError) as err:
            await registry.enrol_home(code=issued.code, name="Flat 3", public_key=bad, now=NOW)
        assert err.value.code == "invalid_public_key"
    assert await registry.list_homes() == []
    await registry.enrol_home(code=issued.code, name="Flat 3", public_key=public_key, now=NOW)


async def test_a_bad_carrier_key_or_name_is_refused_and_nothing_is_written(
    registry: Registry, database_url: str, public_key: str
) -> None:
    for bad in BAD_KEYS:
        with pytest.raises(RegistryError) as err:
            await registry.add_carrier(name="Acme Parcel", public_key=bad)
        assert err.value.code == "invalid_public_key", bad
    for name in ("", "   ", "x" * 101, "Acme\nParcel"):
        with pytest.raises(RegistryError) as err:
            await registry.add_carrier(name=name, public_key=public_key)
        assert err.value.code == "invalid_name", name
    assert await _rows(database_url, "carriers") == []


async def test_a_key_is_registered_once(registry: Registry, public_key: str) -> None:
    await registry.add_carrier(name="Acme Parcel", public_key=public_key)
    with pytest.raises(RegistryError) as err:
        await registry.add_carrier(name="Acme again", public_key=public_key)
    assert err.value.code == "duplicate_public_key"
    assert len(await registry.list_carriers()) == 1

    home_key = new_public_key()
    first, second = [await registry.issue_enrolment_code(now=NOW) for _ in range(2)]
    await registry.enrol_home(code=first.code, name="Flat 3", public_key=home_key, now=NOW)
    with pytest.raises(RegistryError) as err:
        await registry.enrol_home(code=second.code, name="Flat 4", public_key=home_key, now=NOW)
    assert err.value.code == "duplicate_public_key"
    assert len(await registry.list_homes()) == 1


async def test_revoking_takes_a_home_and_a_carrier_out_of_service(
    registry: Registry, public_key: str
) -> None:
    carrier = await registry.add_carrier(name="Acme Parcel", public_key=public_key, now=NOW)
    issued = await registry.issue_enrolment_code(now=NOW)
    home = await registry.enrol_home(
        code=issued.code, name="Flat 3", public_key=new_public_key(), now=NOW
    )
    assert await registry.count_active() == (1, 1)

    at = NOW + timedelta(minutes=5)
    assert await registry.revoke("carrier", carrier.id, now=at) == at
    assert await registry.revoke("home", home.id, now=at) == at

    assert await registry.count_active() == (0, 0)
    [listed] = await registry.list_carriers()
    assert isinstance(listed, Carrier)
    assert listed.revoked_at == at
    assert await registry.list_homes(include_revoked=False) == []
    assert isinstance((await registry.list_homes())[0], Home)
    with pytest.raises(RegistryError) as err:
        await registry.revoke("home", home.id)
    assert err.value.code == "already_revoked"
    with pytest.raises(RegistryError) as err:
        await registry.revoke("carrier", "carrier-000000000000")
    assert err.value.code == "not_found"
