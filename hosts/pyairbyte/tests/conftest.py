"""Fixtures of the PyAirbyte host tests: the loopback mock of Slack (`xtask mock-serve`), sources
loaded from the `source-slack-audit` executable with every line they print recorded, and the
strict check of every recorded line against the Airbyte protocol's own models."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from airbyte_protocol.models import AirbyteMessage, AirbyteStateBlob
from pydantic import BaseModel

SOURCE = os.environ["SOURCE_SLACK_AUDIT"]
XTASK = os.environ["XTASK_BIN"]

# The token the mock expects; it must never appear in anything the connector prints.
TOKEN = "xoxp-4242424242-4242424242-424242424242-9a1eb7e59a1eb7e59a1eb7e59a1eb7e5"

STREAM = "audit_logs"
RECORD_PREFIX = '{"type":"RECORD","record":{"stream":"audit_logs","data":'


class Mock:
    """`xtask mock-serve`: Slack's audit log API on 127.0.0.1, driven by JSON lines."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [XTASK, "mock-serve", "--token", TOKEN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._read()["url"]
        self.entries: dict[str, str] = {}

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "mock-serve exited"
        return json.loads(line)

    def command(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        assert answer.get("ok"), answer
        return answer

    def push(self, entries: list[tuple[str, str]]) -> None:
        """Serves `(id, entry JSON text)` pairs, byte for byte."""
        self.command(cmd="push", entries=[text for _, text in entries])
        self.entries.update(entries)

    def fault(self, **fault: Any) -> None:
        self.command(cmd="fault", **fault)

    def served(self) -> list[str]:
        return self.command(cmd="served")["ids"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def mock() -> Iterator[Mock]:
    m = Mock()
    yield m
    m.close()


def entry(id_: str, date: int) -> tuple[str, str]:
    """An entry as Slack might format it: spaces, an escaped non-ASCII character, a decimal
    with a trailing zero and a field nobody has heard of (all must reach the host unchanged)."""
    text = (
        '{"id": "%s",  "date_create": %d, "action": "user_login", '
        '"actor": {"type": "user", "user": {"id": "W0123ABCD", "name": "Ad\\u00e9le", '
        '"email": "ada@example.com", "team": "E0AAAAAAA"}}, '
        '"entity": {"type": "user", "user": {"id": "W0456EFGH", "name": "bob", '
        '"email": "bob@example.com", "team": "E0AAAAAAA"}}, '
        '"context": {"location": {"type": "enterprise", "id": "E0AAAAAAA", "name": "Example", '
        '"domain": "example"}, "ua": "Mozilla/5.0", "ip_address": "203.0.113.42"}, '
        '"x_new_field": [1, 2.50, {"deep": null}]}'
    ) % (id_, date)
    return id_, text


def mock_config(mock: Mock, **settings: Any) -> dict[str, Any]:
    return {
        "settings": {
            "api_base_url": mock.url,
            "page_size": 100,
            "requests_per_minute": 600,
            "retry_base_delay_ms": 5,
            "request_timeout_seconds": 5,
            **settings,
        },
        "secrets": {"user_oauth_token": TOKEN},
    }


@dataclass
class Run:
    """One execution of the connector by PyAirbyte."""

    args: list[str]
    state_text: str | None
    catalog: dict[str, Any] | None
    lines: list[str] = field(default_factory=list)

    def sync_modes(self) -> dict[str, str]:
        """The sync mode of each stream the configured catalog selected."""
        assert self.catalog is not None
        return {s["stream"]["name"]: s["sync_mode"] for s in self.catalog["streams"]}

    @property
    def command(self) -> str:
        return self.args[0]

    def messages(self) -> list[AirbyteMessage]:
        return [validate_line(line) for line in self.lines]

    def records(self) -> list[str]:
        """The `data` of every RECORD, as the raw text the connector wrote."""
        out = []
        for line in self.lines:
            if line.startswith('{"type":"RECORD"'):
                assert line.startswith(RECORD_PREFIX), line[:120]
                out.append(line[len(RECORD_PREFIX) : line.rindex(',"emitted_at":')])
        return out


class Recorder:
    """Wraps a source's executor so that every line the connector prints is kept."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def install(self, source: Any) -> None:
        executor = source.executor
        original = executor.execute

        def execute(args: list[str], *rest: Any, **kw: Any) -> Iterator[str]:
            def file_after(flag: str) -> str | None:
                return Path(args[args.index(flag) + 1]).read_text() if flag in args else None

            catalog = file_after("--catalog")
            run = Run(
                args=list(args),
                state_text=file_after("--state"),
                catalog=json.loads(catalog) if catalog is not None else None,
            )
            self.runs.append(run)
            for line in original(args, *rest, **kw):
                run.lines.append(line)
                yield line

        executor.execute = execute

    def last(self, command: str) -> Run:
        return [r for r in self.runs if r.command == command][-1]

    def of(self, command: str) -> list[Run]:
        return [r for r in self.runs if r.command == command]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Every line of every run, checked at the end of the test: a valid Airbyte message (strict,
    no field the protocol does not define) and no trace of the token."""
    rec = Recorder()
    yield rec
    assert rec.runs, "the connector never ran"
    for run in rec.runs:
        for line in run.lines:
            assert TOKEN not in line and "9a1eb7e5" not in line, f"token leaked: {line}"
            validate_line(line)


@pytest.fixture
def make_source(recorder: Recorder) -> Any:
    import airbyte as ab

    def make(config: dict[str, Any]) -> Any:
        source = ab.get_source(
            "source-slack-audit",
            config=config,
            local_executable=SOURCE,
        )
        recorder.install(source)
        return source

    return make


# Which payload field goes with which message type.
PAYLOAD = {
    "RECORD": "record",
    "STATE": "state",
    "LOG": "log",
    "SPEC": "spec",
    "CONNECTION_STATUS": "connectionStatus",
    "CATALOG": "catalog",
    "TRACE": "trace",
    "CONTROL": "control",
}


def validate_line(line: str) -> AirbyteMessage:
    """Validates one line strictly against `airbyte_protocol.models`: JSON types as declared (no
    coercion), exactly the payload its `type` names, and no field the models do not define
    anywhere (the models allow extras; only a state blob is free-form by definition)."""
    try:
        message = AirbyteMessage.model_validate_json(line, strict=True)
    except Exception as e:  # pragma: no cover - the message says what is wrong
        raise AssertionError(f"not a valid Airbyte message: {e}\n{line[:500]}") from None
    extras = list(_extras(message, "$"))
    assert not extras, f"fields the protocol does not define: {extras}\n{line[:500]}"
    payload = set(message.model_fields_set) - {"type"}
    assert payload == {PAYLOAD[message.type.value]}, f"{payload} in a {message.type.value}"
    return message


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, AirbyteStateBlob):
        return
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}"
        for name in value.model_fields_set:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _extras(item, f"{path}[{i}]")
