"""The feature store of a project: what a Feast user works with.

* :mod:`~fsql.featurestore.featureset` — ``fsql.FeatureSet``, a feature set defined in Python;
* :mod:`~fsql.featurestore.store` — ``fsql.FeatureStore``: feature sets, training sets, saved
  training sets, online reads;
* :mod:`~fsql.featurestore.retrieval` — point-in-time training sets (the SQL is the engines':
  :mod:`fsql.engines.retrieval_sql`, :mod:`fsql.engines.spark_retrieval`);
* :mod:`~fsql.featurestore.ingest` — frames from Python become validated versions;
* :mod:`~fsql.featurestore.serving` — online serving wired to a project (materialize, push,
  the HTTP app of :mod:`fsql.online`).

It sits above :mod:`fsql.api` (it opens a ``Project``); nothing below imports it.
"""
