"""Typer command groups. Each module exposes ``register(app)``; ``cli.py`` mounts them all.

Commands hold no logic: they parse options, call the library and render the result.
"""

# Module names; `importing` registers the `import` group (import is a Python keyword).
GROUPS = ("db", "status", "ontology", "harvest", "annotate", "preview", "review", "export", "export_yolo", "importing", "evaluate", "train")
