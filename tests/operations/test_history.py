import json
import subprocess
import sys

import psycopg
from sqlalchemy.orm import Session

from db.session import make_engine
from db.urls import libpq_url
from workers.operations.history import asset_history


def _record_story(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for n, body in enumerate(
            [
                {"notification_type": "upload", "public_id": "shop/a", "version": 1},
                {"notification_type": "resource_tags_changed",
                 "resources": [{"public_id": "shop/a", "added": ["x"]}]},
                {"notification_type": "resource_context_changed",
                 "resources": {"shop/a": {"added": []}}},
                {"notification_type": "upload", "public_id": "shop/other"},
            ]
        ):  # fmt: skip
            conn.execute(
                "INSERT INTO webhook_inbox (digest, notification_type, body, received_at)"
                " VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                (f"d{n}", body["notification_type"], json.dumps(body), n),
            )
        conn.execute(
            "INSERT INTO media_assets (public_id, created_at) VALUES ('shop/a', now() + '10 s')"
        )
        conn.execute(
            "INSERT INTO media_sync_log (operation, status, public_id, source, created_at)"
            " VALUES ('upload', 'applied', 'shop/a', 'webhook', now() + '11 s')"
        )
        conn.execute(
            "UPDATE media_assets SET deleted_at = now() + '12 s' WHERE public_id = 'shop/a'"
        )
        conn.execute("UPDATE cloudinary_cleanup_queue SET created_at = now() + '13 s'")


def test_history_tells_the_asset_story_in_time_order(committed_db):
    _record_story(committed_db)
    engine = make_engine(committed_db)
    try:
        with Session(engine) as session:
            events = asset_history(session, "shop/a")
    finally:
        engine.dispose()
    kinds = [e.kind for e in events]
    assert kinds == ["webhook", "webhook", "webhook", "row", "log", "row", "cleanup"]
    assert "resource_tags_changed" in events[1].summary
    assert "resource_context_changed" in events[2].summary
    assert "deleted" in events[5].summary
    assert "soft_delete" in events[-1].summary
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_explain_prints_the_story_and_fails_for_unknown_assets(committed_db):
    _record_story(committed_db)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": committed_db}
    cli = [sys.executable, "-m", "mediasync", "explain"]
    shown = subprocess.run(
        [*cli, "shop/a", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["events"]) == 7
    unknown = subprocess.run(
        [*cli, "no/such"], env=env, capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 1
    assert "nothing is known" in unknown.stdout
