"""Test support shared by every room's tests and the benchmarks' data builders.

Outside the layers on purpose: factories know every room's models, and no application module
imports this package.
"""
