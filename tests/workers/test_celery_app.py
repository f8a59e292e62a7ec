from sqlalchemy import text

from tests.pg import database_name
from tests.waiting import wait_until
from workers.beat import maintenance
from workers.celery_app import app, configure, get_settings, session_scope


def test_a_real_worker_runs_a_task_through_redis(celery_worker):
    maintenance.ping.delay()

    def runs() -> int:
        return int(
            celery_worker.info().get("total", {}).get("mediasync.maintenance.ping", 0)
        )

    assert wait_until(runs, what="the ping task to run") == 1


def test_configure_points_the_app_and_sessions_at_the_settings(settings):
    configure(settings)
    assert get_settings() is settings
    assert app.conf.broker_url == settings.redis_url
    assert app.conf.task_acks_late is True
    with session_scope() as session:
        database = session.execute(text("SELECT current_database()")).scalar_one()
    assert database == database_name(settings.database_url)
