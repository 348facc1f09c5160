"""The HTTP service for the ambient agent (FastAPI): requests, the journal, insights, health."""

from meta_agent.interfaces.http.app import HttpServer, create_app, run_server, serve
from meta_agent.interfaces.http.auth import ApiKey, ApiKeyStore, issue_api_key, new_api_key
from meta_agent.interfaces.http.webhooks import sign, verify_signature

__all__ = [
    "ApiKey",
    "ApiKeyStore",
    "HttpServer",
    "create_app",
    "issue_api_key",
    "new_api_key",
    "run_server",
    "serve",
    "sign",
    "verify_signature",
]
