"""Column statistics of versions and drift between them (pipeline stage 9, "profile").

* :mod:`~fsql.stats.columns` — the statistics of one version in a few queries, stored per
  version;
* :mod:`~fsql.stats.drift` — drift between two versions' statistics (PSI, KS, mean shift);
* :mod:`~fsql.stats.drift_checks` — the statistics step of a build and the drift expectations
  evaluated on its result (their vocabulary and parsing live in :mod:`fsql.expectations.drift`).

"Profile" elsewhere means the connection settings (``profile:`` in fsql_project.yml) and
``--profile`` query plans (:mod:`fsql.explain`); here it is only column statistics.
"""
