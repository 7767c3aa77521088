"""The public names are listed literally (so type checkers and IDEs see ``brainalign.score``), and
each resolves to the object of brainalign.api; the package says it ships its types (PEP 561)."""

from __future__ import annotations

from importlib import resources

import brainalign
from brainalign import api


def test_every_public_name_of_the_package_resolves_to_the_api_object() -> None:
    assert set(api.__all__) <= set(brainalign.__all__)
    for name in brainalign.__all__:
        value = getattr(brainalign, name)
        assert value is getattr(api, name, value), name


def test_the_front_door_functions_are_the_api_functions() -> None:
    assert brainalign.score is api.score
    assert brainalign.run is api.run
    assert callable(brainalign.load_model) and callable(brainalign.verify)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        brainalign.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("brainalign.no_such_name resolved")


def test_the_package_is_marked_typed() -> None:
    assert resources.files("brainalign").joinpath("py.typed").is_file()
