"""GET /api/media (filters, keyset pages, stats) and DELETE /api/media (soft delete)."""

import pytest

from tests.operator_api.conftest import insert_assets, run_sql


@pytest.fixture
def assets(sessions):
    return insert_assets(
        sessions,
        [
            {"public_id": "shop/Red_Shoe", "folder": "shop", "tags": ["red", "sale"]},
            {"public_id": "shop/blue-shoe", "folder": "shop", "tags": ["blue"]},
            {
                "public_id": "clips/intro",
                "resource_type": "video",
                "bytes": 5000,
                "display_name": "Big Red Intro",
                "sync_status": "needs_reconcile",
            },
            {"public_id": "raw/100%_done", "resource_type": "raw", "bytes": 7},
            {"public_id": "old/gone", "tags": ["red"]},
        ],
    )


def public_ids(answer):
    assert answer.status_code == 200, answer.get_json()
    return [item["public_id"] for item in answer.get_json()["items"]]


def test_lists_live_rows_newest_first_with_their_columns(api, assets, sessions):
    run_sql(
        sessions,
        "UPDATE media_assets SET deleted_at = now() WHERE id = :id",
        id=assets[4],
    )
    answer = api.get("/api/media")
    assert public_ids(answer) == [
        "raw/100%_done",
        "clips/intro",
        "shop/blue-shoe",
        "shop/Red_Shoe",
    ]
    body = answer.get_json()
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["id"] == assets[3]
    assert first["resource_type"] == "raw"
    assert first["delivery_type"] == "upload"
    assert first["deleted_at"] is None
    assert {"tags", "metadata", "context", "secure_url", "sync_status"} <= set(first)
    assert public_ids(api.get("/api/media?status=deleted")) == ["old/gone"]
    assert len(public_ids(api.get("/api/media?status=all"))) == 5


def test_rows_carry_moderation_and_access(api, assets, sessions):
    run_sql(
        sessions,
        "UPDATE media_assets SET moderation_status = 'approved',"
        " moderation_kind = 'manual', access_mode = 'authenticated',"
        " access_control = CAST(:rules AS jsonb) WHERE id = :id",
        id=assets[0],
        rules='[{"access_type": "anonymous", "start": "2026-01-01T00:00:00Z"}]',
    )
    items = api.get("/api/media?search=Red_Shoe").get_json()["items"]
    [row] = [item for item in items if item["id"] == assets[0]]
    assert row["moderation_status"] == "approved"
    assert row["moderation_kind"] == "manual"
    assert row["access_mode"] == "authenticated"
    assert row["access_control"] == [
        {"access_type": "anonymous", "start": "2026-01-01T00:00:00Z"}
    ]


def test_filters_combine(api, assets):
    # case-insensitive substring of public_id or display_name
    assert public_ids(api.get("/api/media?search=RED")) == [
        "clips/intro",
        "shop/Red_Shoe",
    ]
    # % and _ are literal, not wildcards ("e_s" as a pattern would match blue-shoe)
    assert public_ids(api.get("/api/media?search=100%25_")) == ["raw/100%_done"]
    assert public_ids(api.get("/api/media?search=d_s")) == ["shop/Red_Shoe"]
    assert public_ids(api.get("/api/media?search=e_s")) == []
    assert public_ids(api.get("/api/media?resource_type=video")) == ["clips/intro"]
    assert public_ids(api.get("/api/media?folder=shop&tag=red")) == ["shop/Red_Shoe"]
    assert public_ids(api.get("/api/media?tag=red")) == ["old/gone", "shop/Red_Shoe"]
    assert public_ids(api.get("/api/media?tag=nobody")) == []


def test_keyset_pages_cover_every_row_once(api, sessions):
    insert_assets(sessions, [{"public_id": f"page/{n:03d}"} for n in range(23)])
    seen, cursor, pages = [], None, 0
    while True:
        query = "/api/media?limit=5" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(query)
        seen += public_ids(answer)
        pages += 1
        cursor = answer.get_json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert seen == [f"page/{n:03d}" for n in reversed(range(23))]
    # a page that ends exactly at the last row says there is nothing more
    assert api.get("/api/media?limit=23").get_json()["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=ten",
        "limit=-1",
        "cursor=not-base64!",
        "cursor=Zm9v",  # base64 of "foo"
        "cursor=aWQ6eA",  # "id:x"
        "status=gone",
    ],
)
def test_bad_parameters_are_400_json(api, query):
    answer = api.get(f"/api/media?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]


def test_stats_total_live_rows_by_type_and_status(api, assets, sessions):
    run_sql(
        sessions,
        "UPDATE media_assets SET deleted_at = now() WHERE id = :id",
        id=assets[4],
    )
    expected = {
        "by_resource_type": {
            "image": {"count": 2, "bytes": 200},
            "raw": {"count": 1, "bytes": 7},
            "video": {"count": 1, "bytes": 5000},
        },
        "by_sync_status": {"needs_reconcile": 1, "synced": 3},
        "live": 4,
        "deleted": 1,
    }
    assert api.get("/api/media/stats").get_json() == expected
    assert api.get("/api/media?stats=1").get_json() == expected


def test_delete_soft_deletes_live_rows_and_queues_their_cleanup(api, assets, sessions):
    answer = api.delete(
        "/api/media?public_ids=shop/Red_Shoe,missing,shop/blue-shoe,shop/Red_Shoe"
    )
    assert answer.status_code == 200
    assert answer.get_json() == {
        "deleted": ["shop/Red_Shoe", "shop/blue-shoe"],
        "not_found": ["missing"],
    }
    live = run_sql(
        sessions, "SELECT public_id FROM media_assets WHERE deleted_at IS NULL"
    )
    assert {r[0] for r in live} == {"clips/intro", "raw/100%_done", "old/gone"}
    queued = run_sql(
        sessions,
        "SELECT public_id, reason, status FROM cloudinary_cleanup_queue ORDER BY public_id",
    )
    assert queued == [
        ("shop/Red_Shoe", "soft_delete", "pending"),
        ("shop/blue-shoe", "soft_delete", "pending"),
    ]
    logged = run_sql(
        sessions,
        "SELECT public_id FROM media_sync_log WHERE source = 'operator'"
        " AND operation = 'delete' ORDER BY public_id",
    )
    assert [r[0] for r in logged] == ["shop/Red_Shoe", "shop/blue-shoe"]
    # a second delete finds nothing live
    again = api.delete("/api/media?public_ids=shop/Red_Shoe")
    assert again.get_json() == {"deleted": [], "not_found": ["shop/Red_Shoe"]}


def test_delete_takes_the_identity_and_a_json_body(api, assets, sessions):
    wrong_type = api.delete("/api/media?public_ids=clips/intro")
    assert wrong_type.get_json()["not_found"] == ["clips/intro"]
    video = api.delete(
        "/api/media?resource_type=video&type=upload",
        json={"public_ids": ["clips/intro"]},
    )
    assert video.get_json() == {"deleted": ["clips/intro"], "not_found": []}


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("", None),
        ("public_ids=,,", None),
        ("public_ids=" + ",".join(f"p{n}" for n in range(1001)), None),
        ("public_ids=a&resource_type=document", None),
        ("", {"public_ids": "a,b"}),
        ("", {"public_ids": [1, 2]}),
    ],
)
def test_delete_refuses_no_ids_too_many_ids_or_bad_identity(
    api, assets, sessions, query, body
):
    answer = api.delete(f"/api/media?{query}", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]
    assert run_sql(sessions, "SELECT count(*) FROM cloudinary_cleanup_queue") == [(0,)]


def test_a_thousand_ids_are_accepted(api, sessions):
    answer = api.delete(
        "/api/media?public_ids=" + ",".join(f"p{n}" for n in range(1000))
    )
    assert answer.status_code == 200
    assert len(answer.get_json()["not_found"]) == 1000
