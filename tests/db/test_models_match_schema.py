"""db/models.py mirrors the migrated schema: same tables, columns, types and nullability."""

from sqlalchemy import create_engine, inspect

from db.migrate import VERSION_TABLE, discover
from db.models import Base
from db.notify import CLEANUP_CHANNEL
from db.urls import sqlalchemy_url


def test_models_match_the_migrated_schema(committed_db):
    engine = create_engine(sqlalchemy_url(committed_db))
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {VERSION_TABLE}
        assert tables == set(Base.metadata.tables)
        for name, table in Base.metadata.tables.items():
            reflected = {c["name"]: c for c in inspector.get_columns(name)}
            assert set(reflected) == set(table.columns.keys()), name
            for column in table.columns:
                found = reflected[column.name]
                assert found["nullable"] == column.nullable, f"{name}.{column.name}"
                assert type(found["type"]).__name__ == type(column.type).__name__ or (
                    found["type"].compile(engine.dialect)
                    == column.type.compile(engine.dialect)
                ), f"{name}.{column.name}: {found['type']} vs {column.type}"
            primary = inspector.get_pk_constraint(name)["constrained_columns"]
            assert primary == [c.name for c in table.primary_key.columns]
    finally:
        engine.dispose()


def test_trigger_sql_notifies_on_the_channel_the_listener_uses():
    trigger_sql = "".join(m.sql for m in discover())
    assert f"pg_notify('{CLEANUP_CHANNEL}'" in trigger_sql
