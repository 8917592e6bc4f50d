"""`source-slack-audit` under PyAirbyte: spec, check, config validation, and reads into
PyAirbyte's DuckDB cache that hold every event exactly once, against the loopback mock of
Slack. Every line the connector printed is validated against the protocol's models (see the
`recorder` fixture)."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import airbyte as ab
import pytest
import sqlalchemy
from airbyte import exceptions as ab_exc

from conftest import SOURCE, STREAM, TOKEN, Mock, Recorder, entry, mock_config


def cached_ids(cache: Any) -> Counter[str]:
    """The `id` of every row of the stream's table in `cache`."""
    table = cache.processor.get_sql_table(STREAM)
    with cache.get_sql_engine().connect() as connection:
        rows = connection.execute(sqlalchemy.select(table.c.id)).fetchall()
    return Counter(row[0] for row in rows)


def emitted_ids(run: Any) -> list[str]:
    return [json.loads(data)["id"] for data in run.records()]


def test_spec_marks_the_token_secret_and_describes_the_config(make_source: Any) -> None:
    source = make_source(
        {"settings": {"use_synthetic_data": True}},
    )
    spec = source.config_spec
    token = spec["properties"]["secrets"]["properties"]["user_oauth_token"]
    assert token["airbyte_secret"] is True
    assert spec["properties"]["settings"]["properties"]["page_size"]["maximum"] == 9999
    assert "$defs" not in spec and "$ref" not in json.dumps(spec)


def test_check_passes_against_the_mock(mock: Mock, make_source: Any, recorder: Recorder) -> None:
    source = make_source(mock_config(mock))
    source.check()
    status = [m for m in recorder.last("check").messages() if m.connectionStatus]
    assert len(status) == 1
    assert status[0].connectionStatus.status.value == "SUCCEEDED"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "unauthorized_empty"}, "not a user token"),
        ({"status": 403, "error": "team_not_authorized"}, "installed on a workspace, not on the organization"),
        ({"status": 403, "error": "user_not_authorized"}, "not an Org Owner"),
        ({"status": 200, "error": "feature_not_enabled"}, "not on Enterprise Grid"),
    ],
    ids=["bad-token", "workspace-install", "not-org-owner", "not-enterprise-grid"],
)
def test_check_fails_with_the_message_for_each_refusal(
    mock: Mock, make_source: Any, recorder: Recorder, fault: dict[str, Any], expected: str
) -> None:
    source = make_source(mock_config(mock))
    mock.fault(**fault)
    with pytest.raises(ab_exc.AirbyteConnectorCheckFailedError) as failed:
        source.check()
    reason = failed.value.context["failure_reason"]
    assert expected in reason, reason
    assert TOKEN not in reason
    statuses = [m for m in recorder.last("check").messages() if m.connectionStatus]
    assert [s.connectionStatus.status.value for s in statuses] == ["FAILED"]


@pytest.mark.parametrize(
    ("settings", "path", "words"),
    [
        ({"page_size": "ten"}, ["settings", "page_size"], "'ten' is not of type 'integer'"),
        ({"page_size": 0}, ["settings", "page_size"], "less than the minimum of 1"),
    ],
    ids=["wrong-type", "out-of-range"],
)
def test_a_bad_config_is_refused_by_pyairbyte_validation_naming_the_field(
    mock: Mock, recorder: Recorder, settings: dict[str, Any], path: list[str], words: str
) -> None:
    config = mock_config(mock)
    config["settings"].update(settings)
    source = ab.get_source("source-slack-audit", local_executable=SOURCE)
    recorder.install(source)
    with pytest.raises(ab_exc.AirbyteConnectorValidationFailedError) as refused:
        source.set_config(config)
    context = refused.value.context
    assert list(context["error_path"]) == path, context
    assert words in context["error_message"], context
    # Refused from the spec alone: the connector never ran with that config.
    assert [r.command for r in recorder.runs] == ["spec"]


def test_an_unknown_key_is_accepted_and_ignored_with_a_warning_naming_it(
    mock: Mock, make_source: Any, recorder: Recorder
) -> None:
    # The spec says additionalProperties: true (Airbyte's rule: a config written for another
    # version stays valid); the connector ignores the key and says so once.
    config = mock_config(mock)
    config["settings"]["page_sise"] = 10
    source = make_source(config)
    source.check()
    logs = [m.log for m in recorder.last("check").messages() if m.log]
    warnings = [l.message for l in logs if l.level.value == "WARN"]
    assert len(warnings) == 1 and "/settings/page_sise" in warnings[0], warnings


def test_incremental_reads_into_the_default_cache_hold_every_event_once(
    mock: Mock, make_source: Any, recorder: Recorder
) -> None:
    now = int(time.time())
    first = [entry(f"first-{i:04}", now - 3600 + (i * 37) % 3400) for i in range(400)]
    mock.push(first)
    source = make_source(mock_config(mock, backfill_start_time="2h"))
    source.select_all_streams()
    cache = ab.get_default_cache()

    # First read: everything served so far, once, byte for byte.
    result = source.read(cache=cache)
    read1 = recorder.last("read")
    assert read1.sync_modes() == {STREAM: "incremental"}
    assert json.loads(read1.state_text or "null") == []
    assert result.processed_records == len(first)
    assert sorted(emitted_ids(read1)) == sorted(i for i, _ in first)
    for data in read1.records():
        id_ = json.loads(data)["id"]
        assert data == mock.entries[id_], f"record {id_} is not the entry as served"
    states = [m.state for m in read1.messages() if m.state]
    assert len(states) >= 4, "one STATE per page of 100, at least"
    assert sum(s.sourceStats.recordCount for s in states) == len(first)
    assert cached_ids(cache) == Counter({i: 1 for i, _ in first})

    # New events, and late ones (indexed after the first read, dated inside its look-back).
    watermark = max(int(json.loads(t)["date_create"]) for _, t in first)
    now2 = int(time.time())
    new = [entry(f"new-{i:04}", now2 - 60 + i % 50) for i in range(50)]
    late = [entry(f"late-{i:04}", watermark - 300 + i) for i in range(20)]
    mock.push(new + late)

    result = source.read(cache=cache)
    read2 = recorder.last("read")
    # PyAirbyte passed back the last STATE of the first read.
    passed = json.loads(read2.state_text or "null")
    assert len(passed) == 1 and passed[0]["type"] == "STREAM"
    assert passed[0]["stream"]["stream_state"] == states[-1].stream.stream_state.model_dump()
    assert result.processed_records == len(new) + len(late), "nothing repeats"
    assert sorted(emitted_ids(read2)) == sorted(i for i, _ in new + late)
    everything = first + new + late
    assert cached_ids(cache) == Counter({i: 1 for i, _ in everything})
    emitted = Counter(emitted_ids(read1) + emitted_ids(read2))
    assert max(emitted.values()) == 1 and set(emitted) == {i for i, _ in everything}
    assert set(mock.served()) == set(emitted)

    # A third read finds nothing new.
    result = source.read(cache=cache)
    assert result.processed_records == 0

    # Full refresh: everything again, from the start point, whatever the state says.
    result = source.read(cache=cache, force_full_refresh=True)
    refresh = recorder.last("read")
    assert refresh.sync_modes() == {STREAM: "full_refresh"}
    assert json.loads(refresh.state_text or "null") == []
    assert result.processed_records == len(everything)
    assert sorted(emitted_ids(refresh)) == sorted(i for i, _ in everything)
    assert cached_ids(cache) == Counter({i: 1 for i, _ in everything})


def test_synthetic_mode_reads_into_duckdb_with_no_token(
    make_source: Any, recorder: Recorder, tmp_path: Any
) -> None:
    source = make_source(
        {
            "settings": {
                "use_synthetic_data": True,
                "backfill_start_time": "2h",
                "synthetic_events_per_hour": 20000,
            }
        }
    )
    source.check()
    source.select_all_streams()
    cache = ab.new_local_cache("synthetic", cache_dir=tmp_path / "synthetic")
    result = source.read(cache=cache)
    ids = emitted_ids(recorder.last("read"))
    assert len(ids) > 1000, len(ids)
    assert len(set(ids)) == len(ids)
    assert result.processed_records == len(ids)
    assert cached_ids(cache) == Counter({i: 1 for i in ids})
