"""The ingest stage: raw records validated into accepted tables and a quarantine, then snapshotted.

* :mod:`~hermes_core.ingest.params`: ``IngestParams`` (the ``ingest:`` block of params.yaml);
* :mod:`~hermes_core.ingest.stage`: the steps the notebook ``01_ingest`` runs, in its order;
* :mod:`~hermes_core.ingest.sources`: the source (world or MovieLens): description, loading,
  the world's ground truth;
* :mod:`~hermes_core.ingest.validate`: the two validation passes and the quarantine;
* :mod:`~hermes_core.ingest.quarantine`: the quarantine's tables and the injected-record check;
* :mod:`~hermes_core.ingest.snapshot`: writing the feature-store snapshot and reading it back;
* :mod:`~hermes_core.ingest.profile`: what the accepted data look like (the data profile);
* :mod:`~hermes_core.ingest.plots`: the figures, each with the table it draws;
* :mod:`~hermes_core.ingest.metrics`: ``metrics/ingest.json`` and the diagnostics;
* :mod:`~hermes_core.ingest.conclusions`: the notebook's conclusions.
"""
