"""SQL storage for leanon: typed ORM models, repositories behind `bot.ports`, Alembic migrations.

The composition root needs only this:

    await upgrade(url)                  # apply migrations (safe with several replicas)
    store = SqlStore.from_url(url)      # one per process
    uow_factory = store.unit_of_work    # a bot.ports.UnitOfWorkFactory
    await store.ping()                  # readiness; raises StorageError
    await store.close()                 # on shutdown
    lock = leader_lock(store.engine)    # a bot.ports.LeaderLock for the scheduler

Importing this package does no work: no engine, no connection, no settings.
"""

from storage.engine import create_engine, database_url
from storage.leader import leader_lock
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.uow import SqlStore, SqlUnitOfWork

__all__ = [
    "SqlStore",
    "SqlUnitOfWork",
    "create_engine",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "leader_lock",
    "upgrade",
]
