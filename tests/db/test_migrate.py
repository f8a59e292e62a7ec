import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from db.migrate import VERSION_TABLE, MigrationError, discover, migrate
from db.urls import libpq_url
from tests.pg import create_database, database_name, drop_database


def applied_versions(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            f"SELECT version, name FROM {VERSION_TABLE} ORDER BY version"
        ).fetchall()


def test_second_migrate_applies_nothing_and_says_so(committed_db):
    lines: list[str] = []
    assert migrate(committed_db, report=lines.append) == []
    assert lines == ["database is up to date; nothing to apply"]
    assert [v for v, _ in applied_versions(committed_db)] == [
        m.version for m in discover()
    ]


def test_migrate_applies_every_file_once_and_reports_each(pg_server_url):
    url = create_database(
        pg_server_url, "mediasync_migrate_fresh_" + uuid.uuid4().hex[:6]
    )
    try:
        lines: list[str] = []
        applied = migrate(url, report=lines.append)
        assert applied == [m.name for m in discover()]
        assert lines == [f"applied {name}" for name in applied]
        assert migrate(url, report=lines.append) == []
    finally:
        drop_database(pg_server_url, database_name(url))


def test_three_concurrent_migrate_processes_apply_each_migration_once(pg_server_url):
    name = "mediasync_migrate_race_" + uuid.uuid4().hex[:6]
    url = create_database(pg_server_url, name)
    try:
        env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "mediasync", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=60) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        stdouts = [out for out, _ in outputs]
        appliers = [out for out in stdouts if "applied 0001" in out]
        assert len(appliers) == 1, stdouts
        assert sum("nothing to apply" in out for out in stdouts) == 2
        versions = applied_versions(url)
        assert [v for v, _ in versions] == [m.version for m in discover()]
    finally:
        drop_database(pg_server_url, name)


def test_an_edited_migration_is_refused(committed_db, tmp_path: Path):
    for migration in discover():
        (tmp_path / f"{migration.name}.sql").write_text(migration.sql)
    first = next(iter(sorted(tmp_path.glob("*.sql"))))
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate(committed_db, directory=tmp_path, report=lambda _: None)


def test_badly_named_migration_file_is_refused(tmp_path: Path):
    (tmp_path / "1_init.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)
