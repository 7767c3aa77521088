"""Sub-commands of the ``brainalign`` CLI, one module per area; cli.py assembles them.

A command module imports at its top only what its options and help need (click, light constants);
the rest (torch, pandas, scipy and whatever imports them) inside the command, so that
``brainalign --help`` and every command's ``--help`` start without them.
"""
