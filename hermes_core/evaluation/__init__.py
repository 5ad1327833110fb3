"""Evaluation shared by every stage: ranking metrics, comparisons with uncertainty and their verdicts.

* :mod:`~hermes_core.evaluation.ranking`: ``ndcg_at_k`` and ``recall_at_k`` of relevant items on
  full-ranking score matrices (``RankingMetric``: mean, queries scored, per-query values);
* :mod:`~hermes_core.evaluation.bootstrap`: ``resampled_means`` and the paired bootstrap interval;
* :mod:`~hermes_core.evaluation.verdict`: ``Comparison`` and the beats / ties with / loses to rule;
* :mod:`~hermes_core.evaluation.sequential`: the leave-one-out split of sequences, HR@k and NDCG@k
  against sampled negatives (the SASRec paper's protocol) and over the full catalogue, each
  result labelled with its protocol.
"""
