"""A TrueConf Server REST API simulator for tests and demos, built from the public API shapes."""

__version__ = "0.1.0"
