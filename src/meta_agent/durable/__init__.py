"""Durable execution across processes: DBOS Transact's runtime, its client, the queues."""

from meta_agent.durable.client import DurableClient
from meta_agent.durable.runtime import (
    AGENT_QUEUES,
    ORCHESTRATOR_QUEUE,
    QUEUES,
    DurableConfig,
    DurableRuntime,
    QueueLimits,
    register_world,
    world,
)

__all__ = [
    "AGENT_QUEUES",
    "ORCHESTRATOR_QUEUE",
    "QUEUES",
    "DurableClient",
    "DurableConfig",
    "DurableRuntime",
    "QueueLimits",
    "register_world",
    "world",
]
