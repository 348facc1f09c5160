"""The Marketing API sandbox: a faithful local stand-in for Meta's Graph API (v25.0 to v27.0;
older versions are served as the oldest live one, as Meta does).

``create_app()`` builds the ASGI app; ``Sandbox`` is the HTTP-free core behind it.
"""

from meta_agent.sandbox.app import create_app
from meta_agent.sandbox.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.core import Sandbox
from meta_agent.sandbox.faults import FaultRule, FaultScript, parse_fault_spec
from meta_agent.sandbox.ids import IdGenerator

__all__ = [
    "AcceleratedClock",
    "Clock",
    "FaultRule",
    "FaultScript",
    "IdGenerator",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
    "SystemClock",
    "create_app",
    "parse_fault_spec",
]
