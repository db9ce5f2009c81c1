"""``models --json`` and ``ledger stats --json`` on a PostgreSQL store, answered through
libpq (``store._pg_read``): byte for byte the command's output, or declined, or the
command's error without the password."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest

from outcomes.cli import _common, _fast
from outcomes.errors import StoreUnavailableError
from outcomes.store import PostgresStore, _pg_read
from outcomes.store._pg_read import connect_error, hide_password
from outcomes.store._rollup_sql import CELL_SELECT
from outcomes.testing import cli
from tests.cli.test_fast_models import fast_output, random_batches
from tests.conftest import POSTGRES_URL, make_postgres_store

UNREACHABLE = "postgresql://nobody:s3cretpw@127.0.0.1:1/none"


def _in_schema(schema: str) -> str:
    """``POSTGRES_URL`` with ``schema`` first on the search path: the CLI opens a store
    without a schema of its own, as a user's URL would."""
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options={quote(f'-c search_path={schema}')}"


def _url(store: PostgresStore) -> str:
    assert store.schema is not None
    return _in_schema(store.schema)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("command", [["models"], ["ledger", "stats"]])
def test_fast_answer_on_postgresql_is_the_commands_output_byte_for_byte(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], seed: int, command: list[str]
) -> None:
    for batch in random_batches(200 + seed):
        pg.write(batch)
    argv = [*command, "--json", "--db", _url(pg)]
    fast = fast_output(argv, capsys)
    full = cli.invoke(argv)
    assert full.exit_code == 0, full.output
    assert fast is not None
    assert fast == full.stdout
    assert fast.startswith("[\n  {")  # the store held receipts: not an empty answer


@pytest.mark.postgres
def test_fast_path_on_postgresql_reads_outcomes_db_url(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for batch in random_batches(7):
        pg.write(batch)
    monkeypatch.setenv("OUTCOMES_DB_URL", _url(pg))
    fast = fast_output(["models", "--json"], capsys)
    assert fast is not None
    assert fast == cli.invoke(["models", "--json"]).stdout


@pytest.mark.postgres
def test_fast_path_on_postgresql_loads_neither_psycopg_nor_the_command_line(
    pg: PostgresStore,
) -> None:
    for batch in random_batches(11):
        pg.write(batch)
    probe = (
        "import json, sys\nfrom outcomes.cli import main\nmain()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_binary', 'argparse', 'msgspec', 'asyncio', 'ssl'))))"
    )
    argv = ["models", "--json", "--db", _url(pg)]
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
    ).stdout
    printed, loaded = out.rsplit("\n[", 1)
    assert json.loads("[" + loaded) == []
    assert json.loads(printed)  # the answer, with the store's models


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM outcomes_migrations WHERE name = 'pg.0001_receipts_partitioned'",
        "DELETE FROM outcomes_migrations WHERE name = 'core.0003_receipts_ttft'",
        "INSERT INTO outcomes_migrations VALUES ('core.9999_from_a_newer_version', 0)",
        "INSERT INTO outcomes_migrations VALUES ('pg.9999_from_a_newer_version', 0)",
        "DROP TABLE outcomes_migrations",
    ],
)
def test_fast_path_on_postgresql_declines_a_schema_that_is_not_current(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    for batch in random_batches(3):
        pg.write(batch)
    with psycopg.connect(_url(pg), autocommit=True) as conn:
        conn.execute(change)
    assert fast_output(["models", "--json", "--db", _url(pg)], capsys) is None


@pytest.mark.postgres
def test_fast_path_on_postgresql_declines_an_empty_database_and_creates_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = make_postgres_store()  # only to get a fresh schema, dropped below
    schema = store.schema
    assert schema is not None
    store.drop_schema()
    store.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            assert fast_output(["models", "--json", "--db", _in_schema(schema)], capsys) is None
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]
            ).fetchone()
            assert tables == (0,)
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.postgres
def test_fast_path_declines_when_no_libpq_is_found(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pg_read, "_library_paths", lambda: iter(["/nonexistent/libpq.so.5"]))
    assert _pg_read.load_libpq() is None
    assert fast_output(["models", "--json", "--db", _url(pg)], capsys) is None


@pytest.mark.postgres
def test_rows_decode_as_psycopg_decodes_them(pg: PostgresStore) -> None:
    sql = (
        "SELECT 1::int8, -2::int4, 3::int2, 0.1::float8, 1e300::float8, 'Infinity'::float8, "
        "'-Infinity'::float8, 2.5::float4, NULL::text, ''::text, 'héllo ✓'::text, true, false, "
        "NULL::boolean, sum(x), 'x'::varchar FROM (VALUES (9223372036854775807::int8), (1)) v(x)"
    )
    rows = _pg_read.read_current(_url(pg), sql, CELL_SELECT)
    assert rows is not None
    with psycopg.connect(_url(pg)) as conn:
        expected = conn.execute(sql).fetchall()
    assert rows[0] == expected
    # The same types, but for SUM of a bigint: psycopg's Decimal is read as the int it holds.
    (ours,), (theirs,) = rows[0], expected
    assert [type(v) for v in ours[:14] + ours[15:]] == [type(v) for v in theirs[:14] + theirs[15:]]
    assert ours[14] == 9223372036854775808
    assert type(ours[14]) is int
    assert rows[1] == []
    nan = _pg_read.read_current(_url(pg), "SELECT 'NaN'::float8")
    assert nan is not None
    assert math.isnan(nan[0][0][0])


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["SELECT 1.5::numeric", "SELECT now()", "SELECT '\\x00'::bytea", "SELECT no_such_column"]
)
def test_a_type_not_decoded_or_an_error_declines(pg: PostgresStore, sql: str) -> None:
    assert _pg_read.read_current(_url(pg), sql) is None


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (UNREACHABLE, "s3cretpw"),
        ("postgresql://u:s3cr%zzpw@127.0.0.1:1/db", "s3cr"),  # libpq quotes the bad token
        ("postgresql://u@127.0.0.1:1/db?password=s3cretpw&nope=1", "s3cretpw"),
    ],
)
def test_unreachable_server_or_bad_url_is_the_commands_error_without_the_password(
    capsys: pytest.CaptureFixture[str], url: str, secret: str
) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _fast.run(["ledger", "stats", "--json", "--db", url])
    fast = capsys.readouterr()
    full = cli.invoke(["ledger", "stats", "--json", "--db", url])
    assert exit_info.value.code == full.exit_code == _common.EXIT_STORE
    assert fast.out == ""
    assert fast.err.startswith(f"error: cannot connect to {hide_password(url)}: ")
    assert "***" in fast.err
    assert secret not in fast.err
    assert secret not in full.output
    # The same words as the command (which wraps lines for the terminal, rich-style).
    assert fast.err.split()[:8] == full.stderr.split()[:8]


def test_password_is_hidden_in_the_user_part_and_in_the_query() -> None:
    assert hide_password("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"
    assert (
        hide_password("postgresql://u@h/db?sslmode=require&password=hunter2")
        == "postgresql://u@h/db?sslmode=require&password=***"
    )
    assert hide_password("postgresql://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert "hunter2" not in hide_password("postgresql://u:hunter2@[::1/db")
    # The client key's passphrase was shown as written, in every error naming the store.
    url = "postgresql://u@h/db?sslpassword=hunter2&sslmode=verify-full"
    assert hide_password(url) == "postgresql://u@h/db?sslpassword=***&sslmode=verify-full"
    assert "hunter2" not in str(connect_error(url, "could not read key hunter2"))


def test_the_fast_exit_code_is_the_commands() -> None:
    assert _fast.EXIT_STORE == _common.EXIT_STORE


def test_postgresql_migration_names_are_the_stores() -> None:
    names = tuple(m.name for m in PostgresStore.ENGINE_MIGRATIONS)
    assert names == _pg_read.PG_MIGRATION_NAMES


def test_a_server_that_never_answers_times_out_after_the_callers_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A socket that accepts (the kernel does, from its backlog) and never says a word:
    # every step is taken while waiting for it, in order, then the timeout is reported.
    seen: list[int] = []
    steps = [lambda i=i: seen.append(i) for i in range(3)]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"postgresql://u:s3cretpw@127.0.0.1:{silent.getsockname()[1]}/db"
        monkeypatch.setattr(_pg_read, "CONNECT_TIMEOUT_S", 0.3)
        with pytest.raises(StoreUnavailableError) as info:
            _pg_read.read_current(url, "SELECT 1", meanwhile=steps)
    assert seen == [0, 1, 2]
    assert str(info.value).endswith(": connection timeout expired")
    assert "s3cretpw" not in str(info.value)


@pytest.mark.postgres
def test_the_callers_steps_are_taken_in_order_while_the_server_works(
    pg: PostgresStore,
) -> None:
    seen: list[int] = []
    steps = [lambda i=i: seen.append(i) for i in range(50)]
    rows = _pg_read.read_current(_url(pg), "SELECT 1", meanwhile=steps)
    assert rows == [[(1,)]]
    assert seen == list(range(len(seen)))  # in order, each once; those left are the caller's
