"""Detection primitives shared by every parser and rule (rule catalog section D).

- :mod:`auditor.detect.providers`: provider-format keys (D1) found in raw text.
- :mod:`auditor.detect.names`: whether a variable/key name denotes a secret (D2).
- :mod:`auditor.detect.values`: value classification: reference / placeholder / literal (D3), entropy.
"""
