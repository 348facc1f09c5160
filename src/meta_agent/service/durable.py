"""Settings → the :class:`~meta_agent.orchestrator.dispatch.Dispatch` of this process."""

from __future__ import annotations

from meta_agent.config import Settings
from meta_agent.durable import QUEUES, DurableConfig, QueueLimits
from meta_agent.errors import ConfigError
from meta_agent.orchestrator.dispatch import Dispatch
from meta_agent.service.workers import Identity


def queue_limits(settings: Settings) -> dict[str, QueueLimits]:
    """Each queue's concurrency from the seed's ``agents:`` section."""
    limits = {}
    for name in QUEUES:
        agent = getattr(settings.agents, name)
        limits[name] = QueueLimits(agent.workers, agent.per_account, agent.upload_timeout)
    return limits


def build_dispatch(settings: Settings, identity: Identity) -> Dispatch:
    """Where this process runs workflows: here (embedded), or on workers (distributed).

    A worker listens to its agent's queue only; an embedded process listens to all; a
    distributed ``serve`` or CLI launches nothing and only enqueues.
    """
    limits = queue_limits(settings)
    distributed = settings.durable.mode == "distributed"
    config = DurableConfig(
        url=settings.durable_url,
        executor_id=identity.worker_id,
        listen=identity.queues if identity.agent != "embedded" else None,
        limits=limits,
        polling_interval=settings.durable.polling_interval_seconds,
        pool_size=settings.durable.pool_size,
    )
    partitioned = frozenset(name for name, limit in limits.items() if limit.per_account)
    return Dispatch(config, distributed=distributed, partitioned=partitioned)


def check_durable(settings: Settings) -> None:
    """Refuse a distributed setup that could not work, naming the setting to change.

    Raises:
        ConfigError: distributed on SQLite (one machine's file), or on the embedded sandbox
            (each process would hold a sandbox of its own).
    """
    if settings.durable.mode != "distributed":
        return
    if not settings.durable_url.startswith("postgresql"):
        raise ConfigError(
            "durable.mode: distributed needs PostgreSQL, which every worker shares; set "
            "database.url (or durable.url) to a postgresql:// URL, or use mode embedded",
            field="durable.mode",
        )
    if settings.uses_sandbox:
        raise ConfigError(
            "durable.mode: distributed needs one Graph endpoint for every worker; the "
            "embedded sandbox lives inside each process. Serve it (meta-agent sandbox) and set "
            "api.base_url and an access token, or use Meta",
            field="durable.mode",
        )
