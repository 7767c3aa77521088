"""`brainalign --help`, and the help of every command, start without the heavy libraries: each
command imports what it needs when it runs, so asking for help (and every test that starts the
command in a process) does not pay for torch, pandas or scipy."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

#: What no `--help` may import (seconds of start-up between them).
HEAVY = ("torch", "torchvision", "pandas", "scipy")

_PROBE = textwrap.dedent(f"""
    import json, sys
    import click

    HEAVY = {HEAVY!r}

    def loaded():
        return sorted(name for name in HEAVY if name in sys.modules)

    import brainalign.cli
    seen = {{"import brainalign.cli": loaded()}}

    def paths(group, prefix):
        for name, command in sorted(group.commands.items()):
            yield [*prefix, name]
            if isinstance(command, click.Group):
                yield from paths(command, [*prefix, name])

    for argv in [[], *paths(brainalign.cli.cli, [])]:
        try:
            brainalign.cli.main([*argv, "--help"])
        except SystemExit as exit_:
            assert exit_.code in (0, None), (argv, exit_.code)
        seen[" ".join(["brainalign", *argv, "--help"])] = loaded()
    print(json.dumps(seen))
""")


def test_the_command_and_its_help_import_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "brainalign --help" in seen and "brainalign compare --help" in seen  # it looked
    assert {what: names for what, names in seen.items() if names} == {}


def test_citing_a_benchmark_imports_no_model_library() -> None:
    """`brainalign cite ID` reads the registry and the citations, never the models."""
    probe = textwrap.dedent("""
        import sys
        import brainalign.cli
        try:
            brainalign.cli.main(["cite", "kriegeskorte2008.hIT"])
        except SystemExit as exit_:
            assert exit_.code in (0, None), exit_.code
        print(sorted(name for name in ("torch", "torchvision") if name in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    *cited, loaded = done.stdout.strip().splitlines()
    assert "@" in "\n".join(cited)  # it cited
    assert loaded == "[]"
