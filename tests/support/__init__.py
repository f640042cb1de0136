"""Helpers shared by the test modules: external binaries, a real OTLP receiver, free ports."""
