"""The sync core: pure decisions from (what the provider reports, what the store holds) to actions.

Nothing in this package does I/O; the provider adapters feed it and the store applies what it returns.
"""
