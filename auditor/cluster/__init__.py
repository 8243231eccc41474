"""``keyaudit cluster``: audit a live Kubernetes cluster with the same rules, reporters and baselines as ``scan``.

- :mod:`auditor.cluster.source`: where objects come from. :class:`~auditor.cluster.source.LiveSource` talks to
  an API server through the official ``kubernetes`` client (imported lazily, only there);
  :class:`~auditor.cluster.source.FixtureSource` reads YAML files of objects as the API returns them.
- :mod:`auditor.cluster.collect`: discovery, page-by-page listing, 403s and API errors as diagnostics.
- :mod:`auditor.cluster.model`: live objects to the repository model (one document per object, sites made by
  the manifest parser) plus the live-only facts of :mod:`auditor.rules.cluster`.
- :mod:`auditor.cluster.audit`: the library entry point, :func:`~auditor.cluster.audit.audit`.
- :mod:`auditor.cluster.cli`: the click command.
- :mod:`auditor.cluster.fixtures`: rule fixtures of cluster-only policies, audited through the same path.

Nothing here is imported by ``keyaudit scan``; this package imports ``kubernetes`` only when a live source
connects.
"""
