"""The write gate: principals' accounts, money policy and approvals, where writes leave.

``gate.py`` is the enforcement point (the Graph client's write guard), ``rules.py`` the pure
policy rules over one write, ``policy.py`` the policy model, the built-in default and the
early checks workflows run in ``prepare``.
"""

from meta_agent.gate.gate import WriteGate, fingerprint
from meta_agent.gate.policy import AccountPolicy, PolicyBook, PolicyCheck, default_policy, money

__all__ = [
    "AccountPolicy",
    "PolicyBook",
    "PolicyCheck",
    "WriteGate",
    "default_policy",
    "fingerprint",
    "money",
]
