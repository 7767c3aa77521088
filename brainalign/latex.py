"""LaTeX source that prints a text as written: the one table of characters that LaTeX treats as
commands (or its default fonts lack), shared by the methods paragraph and the table export."""

from __future__ import annotations

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "−": r"$-$",
    "ρ": r"$\rho$",
    "±": r"$\pm$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "×": r"$\times$",
    "÷": r"$\div$",
}


def latex_escape(text: str, *, ascii_only: bool = True) -> str:
    """``text`` as LaTeX source that prints it (ids with underscores, user text with braces).
    Other characters outside ASCII become ``?`` where ``ascii_only`` (pdflatex's default fonts
    lack most of them: a table of any model's id must compile); otherwise they are kept, for
    prose the document's UTF-8 input prints."""
    return "".join(_SPECIAL.get(c, c if c.isascii() or not ascii_only else "?") for c in str(text))
