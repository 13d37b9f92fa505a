"""Extra CLI commands, one module per feature (export, cite, transfer, serve, ...).

Each module defines click commands and a ``register(group)`` function; :mod:`doi2data.cli`
imports every module here at start-up, so features add commands without editing the core CLI.
"""
