"""Leader election (storage.leader) on SQLite and PostgreSQL, in one process and in several."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import storage
from bot.errors import ConfigError, StorageError
from bot.ports import LeaderLock
from storage import SqlStore, create_engine, leader_lock
from storage.leader import LEADER_LOCK_NAME, FileLeaderLock, PostgresLeaderLock, lock_key
from tests.storage.storage_testing import terminate_backend

REPO_ROOT = Path(storage.__file__).resolve().parent.parent
CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:1/leanon"
SUBPROCESS_TIMEOUT = 30

Locks = Callable[..., LeaderLock]


@pytest.fixture
def name() -> str:
    """A lock name of the test's own: the PostgreSQL database is shared by the run's tests."""
    return f"leanon-test-{uuid.uuid4().hex}"


@pytest_asyncio.fixture
async def locks(database_url: str, name: str) -> AsyncIterator[Locks]:
    """Make leader locks on the test's database (by URL unless given an engine); all released after."""
    made: list[LeaderLock] = []

    def make(on: AsyncEngine | str = database_url, lock_name: str = name) -> LeaderLock:
        lock = leader_lock(on, lock_name)
        made.append(lock)
        return lock

    yield make
    for lock in made:
        await lock.release()


async def _eventually(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    """Poll until `condition()` is true: the server ends a terminated or killed session soon, not at once."""
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"still not true after {seconds} s")


async def test_two_locks_on_one_database_elect_one(locks: Locks) -> None:
    first, second = locks(), locks()
    assert await first.acquire() is True
    assert await second.acquire() is False
    assert await first.acquire() is True  # still leading: asking again is cheap and true
    assert await second.acquire() is False

    await first.release()
    assert await second.acquire() is True
    assert await first.acquire() is False

    await second.release()
    await second.release()  # twice is harmless
    assert await first.acquire() is True


async def test_locks_with_other_names_do_not_compete(locks: Locks, name: str) -> None:
    assert await locks().acquire() is True
    assert await locks(lock_name=f"{name}-other").acquire() is True
    assert await locks().acquire() is False


async def test_releasing_a_lock_never_held_is_harmless(locks: Locks) -> None:
    await locks().release()


async def test_the_stores_engine_can_hold_the_lock_while_the_store_works(
    store: SqlStore, other_store: SqlStore, locks: Locks
) -> None:
    leader = locks(store.engine)
    assert await leader.acquire() is True
    assert await locks(other_store.engine).acquire() is False
    async with store.unit_of_work() as uow:  # the pool has connections to spare
        assert await uow.schedules.active() == []
    await store.ping()
    assert await leader.acquire() is True


def test_the_factory_picks_the_lock_for_the_database(tmp_path: Path) -> None:
    sqlite = leader_lock(f"sqlite:///{tmp_path / 'leanon.db'}")
    assert isinstance(sqlite, FileLeaderLock)
    assert sqlite.path == tmp_path / "leanon.db.leader"
    named = leader_lock(f"sqlite:///{tmp_path / 'leanon.db'}", "other")
    assert isinstance(named, FileLeaderLock)
    assert named.path == tmp_path / "leanon.db.other.leader"
    postgres = leader_lock("postgres://postgres@127.0.0.1/leanon")
    assert isinstance(postgres, PostgresLeaderLock)
    assert postgres.key == lock_key(LEADER_LOCK_NAME)


def test_a_relative_sqlite_file_is_locked_where_it_is_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lock = leader_lock("sqlite:///leanon.db")
    assert isinstance(lock, FileLeaderLock)
    assert lock.path == tmp_path / "leanon.db.leader"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        leader_lock(url)


def test_lock_keys_are_fixed_signed_64_bit_and_distinct() -> None:
    key = lock_key(LEADER_LOCK_NAME)
    assert key == lock_key("leanon-scheduler")
    assert -(2**63) <= key < 2**63
    assert key != lock_key("leanon-scheduler-2")
    assert key != 0x6C65616E6F6E  # the migrations' lock


async def test_the_sqlite_lock_file_names_the_leader(tmp_path: Path) -> None:
    lock = leader_lock(f"sqlite:///{tmp_path / 'leanon.db'}")
    try:
        assert await lock.acquire()
        assert (tmp_path / "leanon.db.leader").read_text() == f"{os.getpid()}\n"
    finally:
        await lock.release()
    assert (tmp_path / "leanon.db.leader").exists()  # kept: deleting it would race


async def test_an_unopenable_sqlite_lock_file_is_a_storage_error(tmp_path: Path) -> None:
    lock = leader_lock(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'leanon.db'}")
    with pytest.raises(StorageError, match="leader lock file"):
        await lock.acquire()
    await lock.release()


async def test_an_unreachable_postgresql_is_a_storage_error() -> None:
    lock = leader_lock(CLOSED_PORT_URL)
    with pytest.raises(StorageError, match="leader lock") as raised:
        await lock.acquire()
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)
    await lock.release()


# PostgreSQL: the lock lives as long as the session that took it.


async def _lock_holders(url: str, key: int) -> list[int]:
    """The backends holding advisory lock `key` in the database at `url`."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :high AND objid = :low AND objsubid = 1"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            )
            return [pid for (pid,) in rows]
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_terminated_leader_connection_loses_the_lead(
    store: SqlStore, other_store: SqlStore, database_url: str, locks: Locks, name: str
) -> None:
    leader, standby = locks(store.engine), locks(other_store.engine)
    assert await leader.acquire() is True
    [pid] = await _lock_holders(database_url, lock_key(name))

    await terminate_backend(database_url, pid)
    # The leader notices on its next check, and says so until it leads again.
    assert await leader.acquire() is False
    await _eventually(standby.acquire)
    assert await leader.acquire() is False
    assert await _lock_holders(database_url, lock_key(name)) != [pid]

    await standby.release()
    assert await leader.acquire() is True  # on a fresh connection
    async with store.unit_of_work() as uow:  # and the store's pool is fine
        assert await uow.schedules.active() == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_release_gives_the_connection_back(
    store: SqlStore, locks: Locks, database_url: str, name: str
) -> None:
    lock = locks(store.engine)
    assert await lock.acquire()
    assert store.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    assert len(await _lock_holders(database_url, lock_key(name))) == 1
    await lock.release()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await _lock_holders(database_url, lock_key(name)) == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_release_after_the_connection_died_does_not_raise(
    store: SqlStore, locks: Locks, database_url: str, name: str
) -> None:
    lock = locks(store.engine)
    assert await lock.acquire()
    [pid] = await _lock_holders(database_url, lock_key(name))
    await terminate_backend(database_url, pid)
    await lock.release()
    assert await lock.acquire() is True


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_cancelled_acquire_leaves_no_lock_behind(store: SqlStore, locks: Locks, name: str) -> None:
    """Cancelled at any point (a shutdown), an acquire never leaves a session holding the lock."""
    for step in range(12):
        first, second = locks(store.engine), locks(store.engine)
        attempt = asyncio.create_task(first.acquire())
        await asyncio.sleep(step * 0.002)
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await attempt
        await first.release()
        await _eventually(second.acquire)
        await second.release()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


# Separate processes, as replicas are.

CONTENDER = """
import asyncio, sys
from storage import leader_lock

async def main():
    lock = leader_lock(sys.argv[1], sys.argv[2])
    print("won" if await lock.acquire() else "lost", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await lock.release()

asyncio.run(main())
"""


async def _contenders(url: str, name: str, count: int) -> list[asyncio.subprocess.Process]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CONTENDER,
            url,
            name,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]


async def _outcome(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), SUBPROCESS_TIMEOUT)
    if not line:
        _, stderr = await process.communicate()
        pytest.fail(f"a contender died: {stderr.decode()}")
    return line.decode().strip()


async def _finish(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            _, stderr = await asyncio.wait_for(process.communicate(b"\n"), SUBPROCESS_TIMEOUT)
            assert process.returncode in (0, -signal.SIGKILL), stderr.decode()


async def test_processes_elect_one_leader(database_url: str, name: str, locks: Locks) -> None:
    processes = await _contenders(database_url, name, 3)
    try:
        outcomes = await asyncio.gather(*(_outcome(process) for process in processes))
        assert sorted(outcomes) == ["lost", "lost", "won"]
        assert await locks().acquire() is False
    finally:
        await _finish(processes)
    assert await locks().acquire() is True  # the leader released on its way out


async def test_a_killed_leader_process_frees_the_lock(database_url: str, name: str, locks: Locks) -> None:
    processes = await _contenders(database_url, name, 2)
    try:
        outcomes = await asyncio.gather(*(_outcome(process) for process in processes))
        leader = processes[outcomes.index("won")]
        standby = locks()
        assert await standby.acquire() is False
        leader.kill()  # no release: the database (or the kernel) ends its lock
        await leader.wait()
        await _eventually(standby.acquire)
    finally:
        await _finish(processes)
