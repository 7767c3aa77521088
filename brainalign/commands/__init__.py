"""Sub-commands of the ``brainalign`` CLI, one module per area; cli.py assembles them."""
