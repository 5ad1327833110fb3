"""The data layer: the universal schema, raw tables, the feature store and readers of real sources.

It imports only the base layer; readers only read (experiments on a dataset live in the stage that
runs them).
"""
