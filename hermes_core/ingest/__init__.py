"""The ingest stage: raw records validated into accepted tables and a quarantine, then snapshotted.

* :mod:`~hermes_core.ingest.params`: ``IngestParams`` (the ``ingest:`` block of params.yaml);
* :mod:`~hermes_core.ingest.validate`: the two validation passes and the quarantine;
* :mod:`~hermes_core.ingest.stage`: the steps the notebook ``01_ingest`` runs.
"""
