"""Fixtures for the data layer: a local HTTP server (the network boundary) and fake catalogue entries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from brainalign.neural_data import catalogue
from brainalign.neural_data.catalogue import DataFile, Dataset


@dataclass
class FileServer:
    """Serves ``files`` at ``/<name>``; ``announce`` overrides a file's Content-Length (to
    simulate a connection that drops early); ``requests`` counts GETs per name."""

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    announce: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server_state = FileServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            server_state.requests[name] = server_state.requests.get(name, 0) + 1
            if name not in server_state.files:
                self.send_error(404, "not here")
                return
            body = server_state.files[name]
            self.send_response(200)
            self.send_header("Content-Length", str(server_state.announce.get(name, len(body))))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def register_dataset(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Dataset]:
    """Add a data set to the catalogue for one test: ``register_dataset(name, files, **fields)``."""
    extra: dict[str, Dataset] = {}
    real = catalogue._catalogue

    def combined() -> dict[str, Dataset]:
        return {**real(), **extra}

    monkeypatch.setattr(catalogue, "_catalogue", combined)

    def add(name: str, files: list[DataFile], **fields: object) -> Dataset:
        spec = dict(
            title=f"test data set {name}",
            description="for tests",
            licence="CC0",
            citations=("cichy2014resolving",),
            source="http://example.invalid",
            fetchable=True,
        )
        spec.update(fields)
        dataset = Dataset(name=name, files=tuple(files), **spec)  # type: ignore[arg-type]
        extra[name] = dataset
        return dataset

    return add


@pytest.fixture
def no_local_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BRAINALIGN_DATA: only the (isolated) cache is searched."""
    monkeypatch.delenv("BRAINALIGN_DATA", raising=False)
