"""Retrieve stage: query understanding, three candidate sources (ANN, knowledge graph, SASRec)
and the query-aware blending orchestrator that turns a user and an optional query into one
deduplicated candidate set."""
