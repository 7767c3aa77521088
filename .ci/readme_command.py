"""Print one of the README's two opening commands ("run" or "tests"), so CI runs them verbatim."""

import re
import sys
from pathlib import Path

WHICH = {"run": 0, "tests": 1}

readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text(encoding="utf-8")
block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", readme, re.S)
if block is None:
    sys.exit("README.md has no opening code block with the two commands")
commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
if len(commands) != 2:
    sys.exit(f"README.md's first code block must hold exactly two commands, found {len(commands)}")
print(commands[WHICH[sys.argv[1]]])
