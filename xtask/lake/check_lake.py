"""Checks what `slack-audit read --lake` left in an S3 server against what the same read printed.

Run by `cargo xtask lake` with the venv's Python: `check_lake.py PLAN.json`. The plan names the
S3 endpoint, the `--lake` document's target, the record format, the records the NDJSON run printed
(the expected set) and a folder for local copies. It lists every object (boto3), reads each one
(pyarrow through `S3FileSystem(endpoint_override=…, scheme="http")` for Parquet, gzip for
NDJSON.gz), and checks:

- every key is exactly where the layout puts it (Security Lake:
  `<location>region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<seq:010>-<hash16>.parquet`; plain S3:
  `<url><table>/year=YYYY/month=MM/day=DD/<seq:010>-<hash16>.<ext>`), and nothing else is in the
  bucket;
- the partition's day is each record's UTC day of `time`;
- each object holds one class (one table) and its rows in time order;
- Parquet: zstd on every column chunk, every page at most 1 MiB uncompressed (read from the page
  headers themselves), row groups at most 256 MB compressed, `time` declared as the sorting
  column; DuckDB (`read_parquet(..., hive_partitioning=true)` on local copies) reads the same rows
  and the same partitions;
- every event, rebuilt from its row (JSON-string columns parsed where the OCSF schema has an
  object), is valid against its OCSF 1.3.0 class schema with its declared profiles;
- the multiset of records equals the NDJSON run's, each exactly once.

Prints one JSON summary line on stdout; exits 1 listing every problem on stderr.
"""

import collections
import datetime
import gzip
import io
import json
import os
import re
import sys

import boto3
import duckdb
import jsonschema
import pyarrow.fs as pafs
import pyarrow.parquet as pq

MIB = 1 << 20
MAX_PAGE = MIB
MAX_ROW_GROUP = 256 * 1000 * 1000


class Problems:
    def __init__(self):
        self.items = []

    def add(self, text):
        if len(self.items) < 200:
            self.items.append(text)
        elif len(self.items) == 200:
            self.items.append("… (more problems not shown)")

    def __bool__(self):
        return bool(self.items)


# ---------------------------------------------------------------- Parquet page headers (Thrift compact)


class Compact:
    """Just enough of Thrift's compact protocol to read a PageHeader and skip what it does not need."""

    def __init__(self, buf, pos=0):
        self.buf = buf
        self.pos = pos

    def byte(self):
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self):
        shift = 0
        out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, ftype):
        if ftype in (1, 2):
            return
        if ftype == 3:
            self.pos += 1
        elif ftype in (4, 5, 6):
            self.varint()
        elif ftype == 7:
            self.pos += 8
        elif ftype == 8:
            n = self.varint()
            self.pos += n
        elif ftype in (9, 10):
            head = self.byte()
            size = head >> 4
            if size == 15:
                size = self.varint()
            et = head & 0x0F
            for _ in range(size):
                if et in (1, 2):
                    self.pos += 1
                else:
                    self.skip(et)
        elif ftype == 11:
            size = self.varint()
            if size:
                kv = self.byte()
                for _ in range(size):
                    self.skip(kv >> 4)
                    self.skip(kv & 0x0F)
        elif ftype == 12:
            self.struct(lambda fid, ft: self.skip(ft))
        else:
            raise ValueError(f"unknown thrift compact type {ftype}")

    def struct(self, on_field):
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            ftype = head & 0x0F
            delta = head >> 4
            fid = last + delta if delta else self.zigzag()
            last = fid
            on_field(fid, ftype)


def page_headers(data, start, length):
    """(type, uncompressed, compressed) of every page of the column chunk at `start`."""
    pages = []
    pos = start
    end = start + length
    while pos < end:
        reader = Compact(data, pos)
        header = {}

        def field(fid, ftype):
            if fid in (1, 2, 3) and ftype == 5:
                header[fid] = reader.zigzag()
            else:
                reader.skip(ftype)

        reader.struct(field)
        pages.append((header.get(1), header.get(2), header.get(3)))
        pos = reader.pos + header.get(3, 0)
    return pages


PAGE_TYPES = {0: "DATA_PAGE", 1: "INDEX_PAGE", 2: "DICTIONARY_PAGE", 3: "DATA_PAGE_V2"}


# ---------------------------------------------------------------- OCSF schemas


class Ocsf:
    def __init__(self, schemas_dir):
        self.dir = schemas_dir
        self.uid_to_class = {}
        self.validators = {}
        self.schemas = {}
        for name in sorted(os.listdir(schemas_dir)):
            if not name.endswith(".schema.json") or "." not in name[: -len(".schema.json")]:
                continue
            with open(os.path.join(schemas_dir, name)) as f:
                schema = json.load(f)
            uid = schema.get("properties", {}).get("class_uid", {}).get("const")
            if uid is not None:
                self.uid_to_class[uid] = name.split(".")[0]

    def schema_for(self, class_name, profiles):
        for joined in ("+".join(profiles), "+".join(sorted(profiles))):
            name = f"{class_name}.{joined}.schema.json"
            if name in self.schemas:
                return self.schemas[name], self.validators[name]
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path) as f:
                    schema = json.load(f)
                self.schemas[name] = schema
                self.validators[name] = jsonschema.Draft202012Validator(schema)
                return schema, self.validators[name]
        return None, None


MISSING = object()


def resolve(node, defs):
    while isinstance(node, dict) and "$ref" in node:
        node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
    return node or {}


def rebuild(value, node, defs):
    """A Parquet cell back to its JSON value, guided by the OCSF schema at that place."""
    if value is None:
        return MISSING
    node = resolve(node, defs)
    kind = node.get("type")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return int(value.timestamp() * 1000)
    if kind == "object" or (kind is None and isinstance(value, (dict, str)) and "properties" in node):
        if isinstance(value, str):
            return json.loads(value)
        if isinstance(value, list):  # map<string, …>
            value = dict(value)
        props = node.get("properties", {})
        out = {}
        for k, v in value.items():
            r = rebuild(v, props.get(k, {}), defs)
            if r is not MISSING:
                out[k] = r
        return out
    if kind == "array":
        return [rebuild(v, node.get("items", {}), defs) for v in value]
    if (kind is None or isinstance(kind, list)) and "properties" not in node and isinstance(value, str):
        # A value of no fixed type (OCSF's json_t, e.g. `data`) is its own JSON text.
        return json.loads(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            r = rebuild(v, {}, defs)
            if r is not MISSING:
                out[k] = r
        return out
    return value


def canonical(value):
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------- layout


def split_s3(url):
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", url)
    if not m:
        raise SystemExit(f"not an s3:// URL: {url}")
    prefix = m.group(2)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return m.group(1), prefix


def template_regex(template):
    """The key regex of a Security Lake location (a template with {table}/{source_name}, or a URL)."""
    bucket, prefix = split_s3(template)
    parts = re.split(r"(\{table\}|\{source_name\})", prefix)
    out = ""
    for p in parts:
        if p == "{table}":
            out += r"(?P<table>[a-z0-9_]+)"
        elif p == "{source_name}":
            out += r"(?P<source>[A-Za-z0-9_-]{1,20})"
        else:
            out += re.escape(p)
    return bucket, out


def record_time_ms(record, record_format):
    if record_format == "ocsf":
        return int(record["time"])
    return int(record["date_create"]) * 1000


def utc_day(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime("%Y%m%d")


def record_id(record, record_format):
    if record_format == "ocsf":
        return record.get("metadata", {}).get("uid")
    return record.get("id")


# ---------------------------------------------------------------- the check


def main():
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    problems = Problems()
    endpoint = plan["endpoint"]
    region = plan["region"]
    record_format = plan["record_format"]
    target = plan["target"]
    label = plan.get("label", "lake")
    work = plan["work_dir"]
    os.makedirs(work, exist_ok=True)
    ocsf = Ocsf(plan["schemas_dir"])
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    host = re.sub(r"^https?://", "", endpoint)
    fs = pafs.S3FileSystem(
        endpoint_override=host,
        scheme="http",
        region=region,
        access_key="testing",
        secret_key="testing",
    )

    # What the layout allows, per bucket.
    if target["kind"] == "security_lake":
        ext = "parquet"
        account = target.get("account_id", "external")
        locations = []
        for table, url in sorted(target.get("locations", {}).items()):
            bucket, prefix = split_s3(url)
            locations.append((bucket, re.escape(prefix), table))
        if target.get("location_template"):
            bucket, rx = template_regex(target["location_template"])
            locations.append((bucket, rx, None))
        patterns = [
            (
                bucket,
                re.compile(
                    rx
                    + re.escape(f"region={region}/accountId={account}/")
                    + r"eventDay=(?P<day>\d{8})/(?P<seq>\d{10})-(?P<hash>[0-9a-f]{16})\.parquet"
                ),
                table,
            )
            for bucket, rx, table in locations
        ]
    else:
        ext = "parquet" if target.get("format") == "parquet" else "ndjson.gz"
        bucket, prefix = split_s3(target["url"])
        patterns = [
            (
                bucket,
                re.compile(
                    re.escape(prefix)
                    + r"(?P<table>[a-z0-9_]+)/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/"
                    + r"(?P<seq>\d{10})-(?P<hash>[0-9a-f]{16})\."
                    + re.escape(ext)
                ),
                None,
            )
        ]

    buckets = sorted({b for b, _, _ in patterns})
    objects = []  # (bucket, key, table, day)
    for bucket in buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                placed = None
                for b, rx, table in patterns:
                    m = rx.fullmatch(key) if b == bucket else None
                    if m:
                        g = m.groupdict()
                        day = g.get("day") or f"{g['y']}{g['m']}{g['d']}"
                        placed = (bucket, key, table or g.get("table") or g.get("source"), day)
                        break
                if placed is None:
                    problems.add(f"s3://{bucket}/{key}: not a key of the layout (stray or misplaced object)")
                else:
                    objects.append(placed)

    lake_records = []  # canonical text (or raw line) per record
    lake_ids = collections.Counter()
    lake_texts = {}
    stats = collections.Counter()
    max_page = 0
    max_rg = 0
    tables = collections.Counter()
    local_root = os.path.join(work, "copies")
    for bucket, key, table, day in objects:
        url = f"s3://{bucket}/{key}"
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        local = os.path.join(local_root, bucket, key)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "wb") as f:
            f.write(body)
        stats["objects"] += 1
        stats["bytes"] += len(body)
        if ext == "parquet":
            pf = pq.ParquetFile(fs.open_input_file(f"{bucket}/{key}"))
            md = pf.metadata
            for i in range(md.num_row_groups):
                rg = md.row_group(i)
                compressed = 0
                for j in range(rg.num_columns):
                    col = rg.column(j)
                    compressed += col.total_compressed_size
                    if col.compression != "ZSTD":
                        problems.add(f"{url}: row group {i} column {col.path_in_schema} is {col.compression}, not ZSTD")
                    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
                    if col.has_dictionary_page and col.data_page_offset < start:
                        start = col.data_page_offset
                    for ptype, unc, comp in page_headers(body, start, col.total_compressed_size):
                        stats["pages"] += 1
                        max_page = max(max_page, unc or 0)
                        if unc is None or unc > MAX_PAGE:
                            problems.add(
                                f"{url}: row group {i} column {col.path_in_schema}: a {PAGE_TYPES.get(ptype, ptype)} of {unc} bytes uncompressed (limit {MAX_PAGE})"
                            )
                max_rg = max(max_rg, compressed)
                if compressed > MAX_ROW_GROUP:
                    problems.add(f"{url}: row group {i} is {compressed} bytes compressed (limit {MAX_ROW_GROUP})")
                sorting = getattr(rg, "sorting_columns", None)
                if sorting is not None:
                    names = [md.schema.column(s.column_index).path for s in sorting]
                    if not names or names[0] != "time" or sorting[0].descending:
                        problems.add(f"{url}: row group {i} declares sorting columns {names}, not time ascending")
            rows = pf.read().to_pylist()
            records = []
            for row in rows:
                uid = row.get("class_uid")
                cls = ocsf.uid_to_class.get(uid)
                profiles = (row.get("metadata") or {}).get("profiles") or []
                schema, validator = ocsf.schema_for(cls, profiles) if cls else (None, None)
                if not plan.get("validate", True):
                    validator = None
                if schema is None:
                    problems.add(f"{url}: a row of class_uid {uid} with profiles {profiles}: no OCSF 1.3.0 schema for it")
                    event = rebuild(row, {}, {})
                else:
                    event = rebuild(row, schema, schema.get("$defs", {}))
                    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path)) if validator else []
                    stats["validated"] += 1 if validator else 0
                    for e in errors[:3]:
                        problems.add(
                            f"{url}: event {record_id(event, 'ocsf')} is not valid OCSF 1.3.0 {cls} ({'+'.join(profiles)}): {'/'.join(map(str, e.path))}: {e.message[:200]}"
                        )
                    if (event.get("metadata") or {}).get("version") != "1.3.0":
                        problems.add(f"{url}: event {record_id(event, 'ocsf')} has metadata.version {(event.get('metadata') or {}).get('version')}")
                records.append((event, canonical(event)))
        else:
            raw = gzip.decompress(body) if ext == "ndjson.gz" else body
            if raw and not raw.endswith(b"\n"):
                problems.add(f"{url}: the last line has no newline")
            records = []
            for line in raw.split(b"\n"):
                if not line:
                    continue
                event = json.loads(line)
                if record_format == "ocsf" and plan.get("validate", True):
                    cls = ocsf.uid_to_class.get(event.get("class_uid"))
                    profiles = (event.get("metadata") or {}).get("profiles") or []
                    _, validator = ocsf.schema_for(cls, profiles) if cls else (None, None)
                    if validator is None:
                        problems.add(f"{url}: an event of class_uid {event.get('class_uid')} with profiles {profiles}: no OCSF 1.3.0 schema for it")
                    else:
                        stats["validated"] += 1
                        for e in list(validator.iter_errors(event))[:3]:
                            problems.add(f"{url}: event {record_id(event, 'ocsf')} is not valid OCSF 1.3.0 {cls}: {'/'.join(map(str, e.path))}: {e.message[:200]}")
                records.append((event, line.decode()))
        # One class (table) per object, time order, the partition's day.
        classes = set()
        last = None
        for event, text in records:
            t = record_time_ms(event, record_format)
            if utc_day(t) != day:
                problems.add(f"{url}: record {record_id(event, record_format)} of UTC day {utc_day(t)} under day {day}")
            if last is not None and t < last:
                problems.add(f"{url}: records out of time order ({t} after {last})")
            last = t
            if record_format == "ocsf":
                classes.add(event.get("class_uid"))
            lake_records.append(text)
            lake_texts[record_id(event, record_format)] = text
            lake_ids[record_id(event, record_format)] += 1
        if len(classes) > 1:
            problems.add(f"{url}: {len(classes)} classes in one object: {sorted(classes)}")
        if record_format == "ocsf" and classes:
            cls = ocsf.uid_to_class.get(next(iter(classes)))
            if table in ocsf.uid_to_class.values() and cls != table:
                problems.add(f"{url}: records of class {cls} under table {table}")
        if record_format == "slack" and table != "audit_logs":
            problems.add(f"{url}: Slack-format records under table {table}, not audit_logs")
        tables[table] += len(records)
        if not records:
            problems.add(f"{url}: an empty object")

    # DuckDB, on the local copies, per table folder.
    duck_rows = 0
    if ext == "parquet" and objects:
        con = duckdb.connect()
        by_root = collections.defaultdict(int)
        for bucket, key, table, day in objects:
            root = key.split("region=")[0] if target["kind"] == "security_lake" else key.split("year=")[0]
            by_root[os.path.join(local_root, bucket, root)] += 1
        for root in sorted(by_root):
            glob = os.path.join(root, "**", "*.parquet")
            src = f"read_parquet('{glob}', hive_partitioning=true)"
            n, distinct = con.execute(f"SELECT count(*), count(DISTINCT metadata.uid) FROM {src}").fetchone()
            duck_rows += n
            if n != distinct:
                problems.add(f"DuckDB {root}: {n} rows but {distinct} distinct metadata.uid")
            if target["kind"] == "security_lake":
                time_type = con.execute(f"SELECT typeof(time) FROM {src} LIMIT 1").fetchone()[0]
                day = "strftime(time, '%Y%m%d')" if "TIMESTAMP" in time_type.upper() else "strftime(epoch_ms(CAST(time AS BIGINT)), '%Y%m%d')"
                bad = con.execute(
                    f"SELECT count(*) FROM {src} WHERE CAST(eventDay AS VARCHAR) <> {day}"
                    f" OR CAST(region AS VARCHAR) <> ? OR CAST(accountId AS VARCHAR) <> ?",
                    [region, target.get("account_id", "external")],
                ).fetchone()[0]
                if bad:
                    problems.add(f"DuckDB {root}: {bad} rows whose hive partition (eventDay/region/accountId) disagrees with the row")
        if duck_rows != len(lake_records):
            problems.add(f"DuckDB read {duck_rows} rows, pyarrow {len(lake_records)}")

    # Exactly once, against the NDJSON run.
    expected = []
    with open(plan["expected"], "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line:
                continue
            record = json.loads(line)
            text = canonical(record) if ext == "parquet" else line.decode()
            expected.append((record_time_ms(record, record_format), text, record_id(record, record_format)))
    cut = plan.get("complete_before_ms")
    if cut is not None:
        # A synthetic run's end moves with the clock: the lake holds every record up to its run's
        # end; the NDJSON run (later) holds more. Compare up to the lake's newest record, and
        # require that to be past the instant the lake run started.
        times = {rid: t for t, _, rid in expected}
        lake_max = max((times.get(rid, 0) for rid in lake_ids), default=0)
        if lake_max < cut:
            problems.add(f"the lake's newest record ({lake_max}) is older than the lake run's start ({cut}): records are missing at the end")
        expected = [(t, text, rid) for t, text, rid in expected if t <= lake_max]
    content_differences = 0
    if plan.get("compare") == "ids":
        # The records' ids, each exactly once; contents compared and counted, not failed (see
        # the scenario: two synthetic runs over different windows map a few events differently).
        content_differences = sum(1 for _, text, rid in expected if rid in lake_texts and lake_texts[rid] != text)
        want = collections.Counter(rid for _, _, rid in expected)
        got = lake_ids
    else:
        want = collections.Counter(text for _, text, _ in expected)
        got = collections.Counter(lake_records)
    dup = [t for t, n in got.items() if n > 1]
    missing = want - got
    extra = got - want
    for rid, n in lake_ids.items():
        if n > 1:
            problems.add(f"record {rid} is in the lake {n} times")
    if dup:
        problems.add(f"{len(dup)} records in more than one place, e.g. {dup[0][:300]}")
    if missing:
        problems.add(f"{sum(missing.values())} records of the NDJSON run are not in the lake, e.g. {next(iter(missing))[:600]}")
    if extra:
        problems.add(f"{sum(extra.values())} records in the lake are not the NDJSON run's (or differ from it), e.g. {next(iter(extra))[:600]}")
    summary = {
        "label": label,
        "objects": stats["objects"],
        "records": len(lake_records),
        "expected": sum(want.values()),
        "bytes": stats["bytes"],
        "bytes_per_record": round(stats["bytes"] / len(lake_records), 1) if lake_records else None,
        "pages": stats["pages"],
        "max_page_uncompressed": max_page,
        "max_row_group_compressed": max_rg,
        "duckdb_rows": duck_rows,
        "validated": stats["validated"],
        "content_differences": content_differences,
        "tables": dict(sorted((str(k), v) for k, v in tables.items())),
        "problems": len(problems.items),
    }
    print(json.dumps(summary))
    if problems:
        for p in problems.items:
            print(f"lake check ({label}): {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
