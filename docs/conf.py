"""Sphinx configuration of brainalign's documentation.

Built offline (no intersphinx, no remote images or fonts) with warnings as errors:
``tox -e docs``, or ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The examples under ``examples/`` run at every build (sphinx-gallery), on synthetic data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "_build"

# The examples import their shared stand-in data set (examples/toy_lab.py), as they do when run
# from their own folder.
sys.path.insert(0, str(ROOT / "examples"))
# Examples score models: their layer RDMs go to a cache of the build's own, not the reader's.
os.environ["BRAINALIGN_CACHE"] = str(BUILD / "cache")
os.environ.setdefault("BRAINALIGN_QUIET", "1")  # no progress bars in the rendered output
for offline in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(offline, "1")

import brainalign
from brainalign import bibtex as package_bibtex

project = "brainalign"
author = "brainalign developers"
copyright = "2026, brainalign developers"
release = brainalign.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    # sphinx-click before sphinx-autodoc-typehints: once the latter has imported the module
    # sphinx.ext.autodoc.mock, sphinx-click's `from sphinx.ext.autodoc import mock` gets that module
    # instead of the function (sphinx-click issue #159).
    "sphinx_click",
    "sphinx_autodoc_typehints",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
templates_path = ["_templates"]

# --- Markdown ---------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "attrs_inline"]
myst_heading_anchors = 3  # [text](metrics.md#noise-ceiling) links to a heading by its slug

# --- API reference --------------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = True  # packages: their __all__ is read in _public_names below
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
typehints_use_signature = False
typehints_defaults = "comma"
always_document_param_types = False
# Types imported only for type checking (``if TYPE_CHECKING:``) cannot be resolved at build time.
suppress_warnings = [
    "sphinx_autodoc_typehints.forward_reference",
    "sphinx_autodoc_typehints.guarded_import",
]

# --- Examples that run at build time --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|toy_lab)\.py",
    "copyfile_regex": r"toy_lab\.py",  # the examples' shared data set, offered for download
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "reference_url": {"brainalign": None},
    "matplotlib_animations": False,
}

# --- References -----------------------------------------------------------------------------
# The works brainalign itself cites (the study, the suite, the methods, the data sets) come from
# the package, so the site and `brainalign cite` cannot disagree; references.bib holds the few
# that only these pages cite.
GENERATED = HERE / "_generated"
GENERATED.mkdir(exist_ok=True)
_package_bib = "\n\n".join(
    [
        package_bibtex.STUDY_BIBTEX,
        package_bibtex.suite_bibtex(),
        *package_bibtex.METHOD_BIBTEX.values(),
        (ROOT / "brainalign" / "neural_data" / "datasets.bib").read_text(encoding="utf-8"),
    ]
)
(GENERATED / "brainalign.bib").write_text(_package_bib + "\n", encoding="utf-8")
bibtex_bibfiles = ["_generated/brainalign.bib", "references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- Output ---------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"brainalign {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}


# --- Where each public object is documented -------------------------------------------------
# A module's public names are its __all__, else what it defines. Each class and function is
# documented once, under the shortest public name that exports it (``brainalign.score``,
# ``brainalign.rsa.compare``); a constant where it is assigned (its ``#:`` comment is there).
# Other pages that export a name link to that one. Computed from the package, so the reference
# follows renames without edits.
def _reference_pages() -> dict[str, dict[str, list[str]]]:
    import ast
    import importlib
    import inspect
    import pkgutil

    names = [brainalign.__name__] + [
        info.name
        for info in pkgutil.walk_packages(brainalign.__path__, "brainalign.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    modules = {name: importlib.import_module(name) for name in names}
    assigned: dict[
        str, str
    ] = {}  # constant name -> module assigning it (module names sort deepest last)
    for name, module in modules.items():
        tree = ast.parse(inspect.getsource(module))
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(f"{name}.{target.id}", name)

    def kind(obj: object) -> str | None:
        if inspect.ismodule(obj):
            return None
        if inspect.isclass(obj):
            return "exceptions" if issubclass(obj, BaseException) else "classes"
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            return "functions"
        return "attributes"

    def public(name: str, module: object) -> list[str]:
        if hasattr(module, "__all__"):
            return [n for n in module.__all__ if not n.startswith("_")]
        return [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and kind(obj) != "attributes"
            and getattr(obj, "__module__", None) == name
        ] + [
            n for n in vars(module) if assigned.get(f"{name}.{n}") == name and not n.startswith("_")
        ]

    home: dict[int, str] = {}  # id(class or function) -> its documented full name
    for name in sorted(modules, key=lambda n: (n.count("."), n)):  # shallowest first
        for member in public(name, modules[name]):
            obj = getattr(modules[name], member)
            if kind(obj) in ("classes", "exceptions", "functions"):
                home.setdefault(id(obj), f"{name}.{member}")

    pages: dict[str, dict[str, list[str]]] = {}
    for name, module in modules.items():
        page: dict[str, list[str]] = {
            "classes": [],
            "exceptions": [],
            "functions": [],
            "attributes": [],
            "linked": [],
        }
        for member in public(name, module):
            obj = getattr(module, member)
            what = kind(obj)
            if what is None:
                continue
            if what == "attributes":
                where = next(
                    (
                        m
                        for m in modules
                        if assigned.get(f"{m}.{member}") == m
                        and getattr(modules[m], member, None) is obj
                    ),
                    name,
                )
                full = f"{where}.{member}"
            else:
                full = home[id(obj)]
            if full == f"{name}.{member}":
                page[what].append(member)
            else:
                page["linked"].append(full)
        # A package that exports a function named like one of its modules:
        # the name is the function's; the module has no page (see the template).
        page["shadowed"] = [
            member
            for member in public(name, module)
            if f"{name}.{member}" in modules and kind(getattr(module, member)) is not None
        ]
        pages[name] = page
    return pages


autosummary_context = {"pages": _reference_pages()}


def _drop_inherited_type_docs(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment would show its type's docstring (numpy.ndarray's)."""
    doc = type(obj).__doc__
    if (
        what in ("data", "attribute")
        and lines
        and isinstance(doc, str)
        and "\n".join(lines).strip() == inspect.cleandoc(doc).strip()
    ):
        lines.clear()


def setup(app):
    app.connect("autodoc-process-docstring", _drop_inherited_type_docs)


import inspect
import warnings

# sphinx-autodoc-typehints 3.6 calls an API that Sphinx 10 removes; nothing to act on here.
warnings.filterwarnings(
    "ignore", message=".*_RstSnippetParser.set_application", module="sphinx_autodoc_typehints"
)
