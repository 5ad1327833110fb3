"""Readers of real sources: they only read.

Each reader maps a public dataset's files to raw records for the universal schema
(:mod:`hermes_core.data.schema`) and nothing more: experiments on a dataset live in the stage
that runs them (e.g. the OPE experiments on Open Bandit in :mod:`hermes_core.ope`).

- :mod:`~hermes_core.data.readers.movielens`: MovieLens 100K, 1M and latest(-small), with
  :mod:`~hermes_core.data.readers.movielens_lines` (file -> lines, fields, parse failures),
  :mod:`~hermes_core.data.readers.movielens_variants` (what each variant's README says: files,
  genres, rating scale, when it was taken) and
  :mod:`~hermes_core.data.readers.movielens_download` (the official archives, checksummed);
- :mod:`~hermes_core.data.readers.open_bandit`: the Open Bandit Dataset's logged bandit feedback
  (and OBP's production Bernoulli TS prior);
- :mod:`~hermes_core.data.readers.movielens_kg`: MovieLens 100K's Freebase knowledge graph (KB4Rec
  triples and the item-to-entity links);
- :mod:`~hermes_core.data.readers.sequences`: users' time-ordered item sequences (the SASRec format,
  MovieLens 1M and 100K).
"""
