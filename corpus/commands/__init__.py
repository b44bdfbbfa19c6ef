"""Typer command groups. Each module exposes ``register(app)``; ``cli.py`` mounts them all.

Commands hold no logic: they parse options, call the library and render the result.
"""

GROUPS = ("db", "status", "ontology", "harvest", "annotate", "review", "export", "evaluate")
