"""The service facade every interface (CLI, HTTP, MCP) adapts."""

from meta_agent.service.facade import MetaAgentService, ServiceParts

__all__ = ["MetaAgentService", "ServiceParts"]
