"""Airbyte's acceptance rules, applied to `source-slack-audit` run as an executable, for both
record formats (`slack` and `ocsf`).

`airbyte_cdk.test.standard_tests` (in the pinned airbyte-cdk that PyAirbyte brings) runs a
connector either as a Python class in-process or as a Docker image through a Docker daemon;
neither fits a Rust executable on a machine without Docker. So the suite's own check functions
are called directly on what the executable prints (spec lint, catalog checks, record
assertions, check outcomes, config against spec), and the rules of the connector acceptance
tests (CAT) that the standard tests do not carry are ported here: spec (`additionalProperties`
true, no disallowed schema features, simple types), discovery (no `allOf`/`not`, cursor and key
in the schema), basic read (stream statuses), incremental (two sequential reads, a state with
abnormally large values) and full refresh (two sequential reads give the same records), and a
bad catalog failing with an error TRACE. `metadata.yaml` is validated against Airbyte's published
`ConnectorMetadataDefinitionV0` schema (airbyte-connector-models). The OCSF stream is loaded into
PyAirbyte's DuckDB cache like the slack stream is in test_pyairbyte.py."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import airbyte as ab
import jsonschema
import pytest
import sqlalchemy
import yaml
from airbyte_cdk.models import (
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)
from airbyte_protocol.models import AirbyteMessage
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.models.outcome import ExpectedOutcome
from airbyte_cdk.test.standard_tests._assertions import (
    assert_check_outcome,
    assert_config_matches_spec,
)
from airbyte_cdk.test.standard_tests._catalog_checks import (
    find_catalog_problems,
    format_catalog_problems,
)
from airbyte_cdk.test.standard_tests._read_assertions import assert_read_records
from airbyte_cdk.test.standard_tests._spec_lint import assert_spec_is_valid, get_single_spec

from conftest import SOURCE, STREAM, TOKEN, Mock, Recorder, entry, mock_config, validate_line

NAME = "source-slack-audit"
REPO = Path(__file__).resolve().parents[3]


class Run:
    """One run of the executable: exit code and every stdout line (each validated strictly)."""

    def __init__(self, args: list[str], tmp: Path) -> None:
        done = subprocess.run(
            [SOURCE, *args], capture_output=True, text=True, timeout=300, cwd=tmp
        )
        self.code = done.returncode
        self.lines = done.stdout.splitlines()
        for text in (done.stdout, done.stderr):
            assert TOKEN not in text, "token leaked"
        self.messages = [validate_line(line) for line in self.lines]
        self.output = EntrypointOutput(messages=self.lines, command=args, stderr=done.stderr)

    def of(self, kind: str) -> list[AirbyteMessage]:
        return [m for m in self.messages if m.type.value == kind]

    def records(self) -> list[dict[str, Any]]:
        return [m.record.data for m in self.of("RECORD")]

    def statuses(self) -> list[str]:
        return [
            m.trace.stream_status.status.value
            for m in self.of("TRACE")
            if m.trace.type.value == "STREAM_STATUS"
        ]

    def errors(self) -> list[Any]:
        return [m.trace.error for m in self.of("TRACE") if m.trace.type.value == "ERROR"]

    def last_state(self) -> Any:
        """The last STATE's `state`, as a host keeps it."""
        return json.loads(self.of("STATE")[-1].model_dump_json(exclude_none=True))["state"]


class Connector:
    """The executable with files for config, catalog and state, as a platform passes them."""

    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.tmp = tmp
        self.config = config
        self.n = 0

    def _file(self, name: str, content: Any) -> str:
        self.n += 1
        path = self.tmp / f"{self.n:02}-{name}"
        path.write_text(json.dumps(content))
        return str(path)

    def run(self, *args: str) -> Run:
        return Run(list(args), self.tmp)

    def spec(self) -> Run:
        return self.run("spec")

    def check(self, config: dict[str, Any] | None = None) -> Run:
        return self.run("check", "--config", self._file("config.json", config or self.config))

    def discover(self) -> Run:
        return self.run("discover", "--config", self._file("config.json", self.config))

    def catalog(self, sync_mode: SyncMode) -> ConfiguredAirbyteCatalog:
        discovered = self.discover().output.catalog.catalog
        return ConfiguredAirbyteCatalog(
            streams=[
                ConfiguredAirbyteStream(
                    stream=stream,
                    sync_mode=sync_mode,
                    destination_sync_mode=DestinationSyncMode.append,
                )
                for stream in discovered.streams
            ]
        )

    def read(self, catalog: ConfiguredAirbyteCatalog | dict[str, Any], state: Any = None) -> Run:
        if isinstance(catalog, ConfiguredAirbyteCatalog):
            catalog = ConfiguredAirbyteCatalogSerializer.dump(catalog)
        args = ["read", "--config", self._file("config.json", self.config)]
        args += ["--catalog", self._file("catalog.json", catalog)]
        if state is not None:
            args += ["--state", self._file("state.json", state)]
        return self.run(*args)


FORMATS = ["slack", "ocsf"]


@pytest.fixture(params=FORMATS)
def record_format(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def served(mock: Mock) -> list[tuple[str, str]]:
    """Two hours of events in the mock: older ones, and some inside the look-back of now."""
    now = int(time.time())
    events = [entry(f"acc-{i:04}", now - 7000 + i * 23) for i in range(300)]
    mock.push(events)
    return events


@pytest.fixture
def connector(mock: Mock, served: Any, record_format: str, tmp_path: Path) -> Connector:
    return Connector(tmp_path, mock_config(mock, backfill_start_time="3h", record_format=record_format))


def key_of(record_format: str, data: dict[str, Any]) -> str:
    return data["id"] if record_format == "slack" else data["metadata"]["uid"]


def values_of(schema: Any, key: str) -> Iterator[Any]:
    """Every value of `key` anywhere in `schema` (CAT's find_all_values_for_key_in_schema)."""
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k == key:
                yield v
            yield from values_of(v, key)
    elif isinstance(schema, list):
        for item in schema:
            yield from values_of(item, key)


def keyword_paths(schema: Any, keyword: str, path: str = "") -> Iterator[str]:
    """Paths where `keyword` is used as a keyword (not as a property name under `properties`)."""
    if isinstance(schema, dict):
        for k, v in schema.items():
            here = f"{path}/{k}"
            if k == keyword:
                yield here
            if k == "properties" and isinstance(v, dict):
                for name, sub in v.items():
                    yield from keyword_paths(sub, keyword, f"{here}/{name}")
            else:
                yield from keyword_paths(v, keyword, here)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from keyword_paths(item, keyword, f"{path}/{i}")


# --- spec -----------------------------------------------------------------------------------


def test_spec_passes_the_standard_spec_lint_and_cat_spec_rules(tmp_path: Path) -> None:
    run = Connector(tmp_path, {}).spec()
    assert run.code == 0
    spec = get_single_spec(run.output, connector_name=NAME)
    assert_spec_is_valid(spec, connector_name=NAME)
    assert spec.documentationUrl and spec.protocol_version
    schema = spec.connectionSpecification
    # CAT test_additional_properties_is_true.
    assert all(v is True for v in values_of(schema, "additionalProperties")), schema
    # CAT test_forbidden_complex_types.
    for keyword in ["not", "anyOf", "patternProperties", "prefixItems", "allOf", "if", "then",
                    "else", "dependentSchemas", "dependentRequired"]:
        assert not list(keyword_paths(schema, keyword)), keyword
    # CAT test_defined_refs_exist_in_json_spec_file.
    assert not list(values_of(schema, "$ref"))
    # CAT test_property_type_is_not_array: one type, or one type and "null" second.
    for t in values_of(schema, "type"):
        if isinstance(t, list):
            assert len(t) in (1, 2) and (len(t) == 1 or t[1] == "null"), t
    # CAT test_enum_usage.
    for values in values_of(schema, "enum"):
        assert len(set(map(json.dumps, values))) == len(values)
    # The examples are configs the spec accepts (CAT test_config_match_spec).
    for example in ["synthetic.json", "slack.json"]:
        config = json.loads((REPO / "examples" / example).read_text())
        assert_config_matches_spec(
            config=config, spec_result=run.output, connector_name=NAME, scenario_id=example
        )


# --- check ----------------------------------------------------------------------------------


def test_check_outcomes_are_those_the_standard_tests_expect(connector: Connector, mock: Mock) -> None:
    assert_check_outcome(
        check_result=connector.check().output,
        expected_outcome=ExpectedOutcome.EXPECT_SUCCESS,
        connector_name=NAME,
    )
    # A refused token: a FAILED status, exit 0.
    mock.fault(status=403, error="team_not_authorized")
    run = connector.check()
    assert run.code == 0
    assert_check_outcome(
        check_result=run.output,
        expected_outcome=ExpectedOutcome.EXPECT_EXCEPTION,
        connector_name=NAME,
    )
    # The source unavailable: an error TRACE and a non-zero exit, no status.
    mock.fault(kind="service_unavailable_html")
    config = dict(connector.config, settings=dict(connector.config["settings"], max_retries=0))
    run = connector.check(config)
    assert run.code != 0 and not run.of("CONNECTION_STATUS")
    assert_check_outcome(
        check_result=run.output,
        expected_outcome=ExpectedOutcome.EXPECT_UNCAUGHT_ERROR,
        connector_name=NAME,
    )
    assert run.errors()[0].failure_type.value == "transient_error"


# --- discovery ------------------------------------------------------------------------------


def test_discovery_passes_every_catalog_check_and_cat_discovery_rules(connector: Connector) -> None:
    run = connector.discover()
    assert run.code == 0
    assert len(run.of("CATALOG")) == 1
    catalog = run.output.catalog.catalog
    # Every check of the standard tests, the advisory ones too.
    problems = find_catalog_problems(catalog)
    assert not problems, format_catalog_problems(problems)
    for stream in catalog.streams:
        schema = stream.json_schema
        for keyword in ["allOf", "not"]:
            assert not list(keyword_paths(schema, keyword)), keyword
        assert all(v is True for v in values_of(schema, "additionalProperties"))
        assert stream.supported_sync_modes
        assert stream.default_cursor_field
        node = schema
        for part in stream.default_cursor_field:
            node = node["properties"][part]
        for key in stream.source_defined_primary_key or []:
            node = schema
            for part in key:
                node = node["properties"][part]


# --- basic read -----------------------------------------------------------------------------


def test_basic_read_records_match_the_schema_and_statuses_frame_it(
    connector: Connector, served: list[tuple[str, str]], record_format: str
) -> None:
    catalog = connector.catalog(SyncMode.full_refresh)
    run = connector.read(catalog)
    assert run.code == 0, run.lines[-3:]
    assert_read_records(
        records=run.output.records_iterator,
        configured_catalog=catalog,
        require_records_per_stream=True,
        validate_schema=True,
    )
    keys = [key_of(record_format, r) for r in run.records()]
    assert Counter(keys) == Counter(i for i, _ in served)
    # CAT _validate_stream_statuses: STARTED, RUNNING (one or more), COMPLETE.
    statuses = run.statuses()
    assert len(statuses) >= 3 and statuses[0] == "STARTED", statuses
    assert statuses[-1] == "COMPLETE"
    assert all(s == "RUNNING" for s in statuses[1:-1])


def test_a_bad_catalog_fails_with_an_error_trace(connector: Connector) -> None:
    # The standard tests' test_fail_read_with_bad_catalog (CAT test_airbyte_trace_message_on_failure).
    bad = {"streams": [{
        "stream": {"name": "__AIRBYTE__stream_that_does_not_exist",
                   "json_schema": {"type": "object", "properties": {"f1": {"type": "string"}}},
                   "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "INVALID", "destination_sync_mode": "INVALID"}]}
    run = connector.read(bad)
    assert run.code != 0
    assert run.output.errors and run.output.trace_messages


def test_a_failure_while_reading_is_incomplete_with_an_error_naming_the_stream(
    connector: Connector, mock: Mock
) -> None:
    mock.fault(status=403, error="user_not_authorized")
    run = connector.read(connector.catalog(SyncMode.incremental))
    assert run.code != 0
    assert run.statuses() == ["STARTED", "INCOMPLETE"]
    errors = run.errors()
    assert len(errors) == 1 and errors[0].stream_descriptor.name == STREAM
    assert errors[0].failure_type.value == "config_error"


# --- incremental ----------------------------------------------------------------------------


def test_two_sequential_incremental_reads_repeat_nothing(
    connector: Connector, mock: Mock, served: list[tuple[str, str]], record_format: str
) -> None:
    catalog = connector.catalog(SyncMode.incremental)
    first = connector.read(catalog)
    assert first.code == 0
    assert first.of("STATE"), "an incremental read checkpoints"
    now = int(time.time())
    new = [entry(f"acc-new-{i:03}", now - 20 + i % 15) for i in range(25)]
    mock.push(new)
    second = connector.read(catalog, [first.last_state()])
    assert second.code == 0
    first_keys = [key_of(record_format, r) for r in first.records()]
    second_keys = [key_of(record_format, r) for r in second.records()]
    assert not set(first_keys) & set(second_keys), "the second read repeated records"
    assert Counter(second_keys) == Counter(i for i, _ in new)
    assert second.statuses()[-1] == "COMPLETE"


def test_a_state_with_abnormally_large_values_reads_nothing_older_than_the_look_back(
    connector: Connector, record_format: str
) -> None:
    """CAT's test_state_with_abnormally_large_values expects no record at all. This connector
    deliberately repairs a state dated in the future to now (trusting it would stop collection
    silently until that date: see ARCHITECTURE.md), so it reads only the late-arrival window
    before now (600 s by default) and warns. The rule ported: nothing older than that window,
    the read succeeds, and it says so."""
    catalog = connector.catalog(SyncMode.incremental)
    first = connector.read(catalog)
    state = first.last_state()
    year_2100 = 4102444800
    state["stream"]["stream_state"]["state"].update(
        {"watermark": year_2100, "recent": {}, "window": None}
    )
    started = int(time.time())
    run = connector.read(catalog, [state])
    assert run.code == 0
    times = [
        r["date_create"] if record_format == "slack" else r["time"] // 1000 for r in run.records()
    ]
    assert all(t >= started - 600 - 5 for t in times), sorted(times)[:3]
    assert len(times) < len(first.records())
    warnings = [m.log.message for m in run.of("LOG") if m.log.level.value == "WARN"]
    assert any("in the future" in w for w in warnings), warnings
    assert run.statuses()[-1] == "COMPLETE"


# --- full refresh ---------------------------------------------------------------------------


def test_two_sequential_full_refresh_reads_give_the_same_records(
    connector: Connector, record_format: str
) -> None:
    catalog = connector.catalog(SyncMode.full_refresh)
    first = connector.read(catalog)
    second = connector.read(catalog)
    assert first.code == 0 and second.code == 0
    a = Counter(key_of(record_format, r) for r in first.records())
    b = Counter(key_of(record_format, r) for r in second.records())
    assert a and a == b
    assert Counter(json.dumps(r, sort_keys=True) for r in first.records()) == Counter(
        json.dumps(r, sort_keys=True) for r in second.records()
    )


# --- metadata.yaml --------------------------------------------------------------------------


def test_metadata_yaml_is_valid_against_airbytes_published_schema() -> None:
    import airbyte_connector_models.metadata.v0 as v0
    from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import (
        ConnectorMetadataDefinitionV0,
    )

    document = yaml.safe_load((REPO / "metadata.yaml").read_text())
    schema = json.loads((Path(v0.__file__).parent / "ConnectorMetadataDefinitionV0.json").read_text())
    # The published schema fails its own meta-schema in a part metadata.yaml does not use
    # (`generated.metrics` names a type "ConnectorMetric"), so it is applied without that check.
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors
    metadata = ConnectorMetadataDefinitionV0.model_validate(document)
    assert metadata.data.connector_type.value == "source"
    version = subprocess.run([SOURCE, "--version"], capture_output=True, text=True).stdout.split()[-1]
    assert document["data"]["dockerImageTag"] == version
    spec = json.loads(subprocess.run([SOURCE, "spec"], capture_output=True, text=True).stdout)
    assert document["data"]["documentationUrl"] == spec["spec"]["documentationUrl"]


# --- the OCSF stream in PyAirbyte's DuckDB cache --------------------------------------------


def test_the_ocsf_stream_loads_into_duckdb_exactly_once(
    mock: Mock, make_source: Any, recorder: Recorder, tmp_path: Path
) -> None:
    now = int(time.time())
    first = [entry(f"ocsf-{i:04}", now - 3600 + i * 9) for i in range(300)]
    mock.push(first)
    source = make_source(mock_config(mock, backfill_start_time="2h", record_format="ocsf"))
    source.select_all_streams()
    cache = ab.new_local_cache("ocsf", cache_dir=tmp_path / "ocsf")
    result = source.read(cache=cache)
    assert result.processed_records == len(first)

    def cached_uids() -> Counter[str]:
        table = cache.processor.get_sql_table(STREAM)
        with cache.get_sql_engine().connect() as connection:
            rows = connection.execute(sqlalchemy.select(table.c.metadata)).fetchall()
        return Counter(
            (json.loads(r[0]) if isinstance(r[0], str) else r[0])["uid"] for r in rows
        )

    assert cached_uids() == Counter({i: 1 for i, _ in first})
    new = [entry(f"ocsf-new-{i:03}", now - 30 + i) for i in range(20)]
    mock.push(new)
    result = source.read(cache=cache)
    assert result.processed_records == len(new), "the second read repeats nothing"
    assert cached_uids() == Counter({i: 1 for i, _ in first + new})
    read2 = recorder.last("read")
    assert json.loads(read2.state_text or "null"), "PyAirbyte passed the last STATE back"
