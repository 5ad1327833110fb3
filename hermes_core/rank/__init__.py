"""Stage 04 rank: a two-tower pre-ranker, a listwise DCN-v2 fine ranker and LambdaMART, judged by the truth.

One module per idea: the features a recommender may see (:mod:`~hermes_core.rank.features`),
padded lists (:mod:`~hermes_core.rank.lists`), the pre-ranker (:mod:`~hermes_core.rank.two_tower`),
the network (:mod:`~hermes_core.rank.dcn`) and its listwise training
(:mod:`~hermes_core.rank.training`), LambdaMART (:mod:`~hermes_core.rank.lambdamart`), the world
protocol (:mod:`~hermes_core.rank.world_lists`), evaluation against the truth
(:mod:`~hermes_core.rank.evaluation`), learning from clicks (:mod:`~hermes_core.rank.click_bias`),
the network-versus-trees ablations (:mod:`~hermes_core.rank.diagnosis`), MovieLens 100K
(:mod:`~hermes_core.rank.movielens_lists`), and the stage's faces ``params``, ``stage``,
``metrics``, ``plots`` and ``conclusions``. The losses live in the shared :mod:`hermes_core.losses`.
"""
