"""keyaudit: a policy-as-code auditor for secret hygiene.

Importing this package must stay cheap: ``keyaudit --version`` imports nothing else.
"""

__version__ = "0.1.0"
