import subprocess
import sys

import pytest

from workers.config import CloudinaryAccount, DeleteScope, Settings, SettingsError

GOOD = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/app",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CLOUDINARY_URL": "cloudinary://key:s3cret@mycloud?upload_prefix=http://127.0.0.1:9/",
}


def test_reads_every_variable_once_into_a_frozen_object():
    settings = Settings.from_env(
        {
            **GOOD,
            "MEDIASYNC_WEBHOOK_MAX_AGE": "60",
            "MEDIASYNC_API_TOKEN": "t",
            "MEDIASYNC_WEBHOOK_SECRETS": "old1, old2",
            "CELERY_BROKER_URL": "redis://b:1/2",
        }
    )
    assert settings.webhook_max_age_s == 60
    assert settings.api_token == "t"
    assert settings.broker_url == "redis://b:1/2"
    assert settings.verification_secrets == ("s3cret", "old1", "old2")
    assert settings.account == CloudinaryAccount(
        "mycloud", "key", "s3cret", upload_prefix="http://127.0.0.1:9"
    )
    with pytest.raises(AttributeError):
        settings.api_token = "x"  # type: ignore[misc]


def test_defaults_follow_the_design():
    settings = Settings.from_env(GOOD)
    assert settings.broker_url == GOOD["REDIS_URL"]
    assert settings.webhook_max_age_s == 7200
    assert settings.api_token is None
    assert settings.log_retention_days == 30


def test_secrets_stay_out_of_repr():
    text = repr(Settings.from_env({**GOOD, "MEDIASYNC_API_TOKEN": "tok3n"}))
    assert "s3cret" not in text
    assert "tok3n" not in text


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**GOOD, "DATABASE_URL": ""}, "DATABASE_URL"),
        ({k: v for k, v in GOOD.items() if k != "REDIS_URL"}, "REDIS_URL"),
        ({**GOOD, "CLOUDINARY_URL": "https://x"}, "CLOUDINARY_URL"),
        ({**GOOD, "CLOUDINARY_URL": "cloudinary://@cloud"}, "CLOUDINARY_URL"),
        ({**GOOD, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({**GOOD, "MEDIASYNC_WEBHOOK_MAX_AGE": "soon"}, "MEDIASYNC_WEBHOOK_MAX_AGE"),
        ({**GOOD, "MEDIASYNC_WEBHOOK_MAX_AGE": "-5"}, "MEDIASYNC_WEBHOOK_MAX_AGE"),
        ({**GOOD, "MEDIASYNC_LOG_RETENTION_DAYS": "0"}, "MEDIASYNC_LOG_RETENTION_DAYS"),
        ({**GOOD, "MEDIASYNC_LOG_FORMAT": "xml"}, "MEDIASYNC_LOG_FORMAT"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_cli_stops_with_one_line_naming_the_variable():
    result = subprocess.run(
        [sys.executable, "-m", "mediasync", "migrate"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "mediasync: configuration error: DATABASE_URL is not set"
    ]


def test_the_cli_answers_usage_errors_with_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "mediasync", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_reconcile_limits_are_read_with_safe_defaults():
    defaults = Settings.from_env(GOOD)
    assert defaults.reconcile_max_deletes == 1000
    assert defaults.reconcile_max_delete_share == 0.5
    assert defaults.reconcile_budget_share == 0.5
    assert defaults.reconcile_grace_s == 300
    assert defaults.reconcile_overlap_s == 300
    settings = Settings.from_env(
        {
            **GOOD,
            "MEDIASYNC_RECONCILE_MAX_DELETES": "50",
            "MEDIASYNC_RECONCILE_MAX_DELETE_SHARE": "0.1",
            "MEDIASYNC_RECONCILE_BUDGET_SHARE": "1",
            "MEDIASYNC_RECONCILE_GRACE": "60",
            "MEDIASYNC_RECONCILE_OVERLAP": "30",
        }
    )
    assert settings.reconcile_max_deletes == 50
    assert settings.reconcile_max_delete_share == 0.1
    assert settings.reconcile_budget_share == 1.0
    assert settings.reconcile_grace_s == 60
    assert settings.reconcile_overlap_s == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEDIASYNC_RECONCILE_MAX_DELETE_SHARE", "0"),
        ("MEDIASYNC_RECONCILE_MAX_DELETE_SHARE", "half"),
        ("MEDIASYNC_RECONCILE_BUDGET_SHARE", "1.5"),
        ("MEDIASYNC_RECONCILE_MAX_DELETES", "-1"),
        ("MEDIASYNC_RECONCILE_GRACE", "soon"),
    ],
)
def test_a_bad_reconcile_limit_is_named_in_the_error(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**GOOD, name: value})


def test_inbox_testing_aid_and_metrics_directory_are_off_unless_set():
    settings = Settings.from_env(GOOD)
    assert settings.apply_row_delay_ms == 0
    assert settings.prometheus_multiproc_dir is None
    settings = Settings.from_env(
        {
            **GOOD,
            "MEDIASYNC_APPLY_ROW_DELAY_MS": "150",
            "PROMETHEUS_MULTIPROC_DIR": "/run/metrics",
        }
    )
    assert settings.apply_row_delay_ms == 150
    assert settings.prometheus_multiproc_dir == "/run/metrics"
    with pytest.raises(SettingsError, match="MEDIASYNC_APPLY_ROW_DELAY_MS"):
        Settings.from_env({**GOOD, "MEDIASYNC_APPLY_ROW_DELAY_MS": "slow"})


def test_public_url_is_optional_checked_and_loses_its_trailing_slash():
    assert Settings.from_env(GOOD).public_url is None
    settings = Settings.from_env(
        {**GOOD, "MEDIASYNC_PUBLIC_URL": "https://sync.example.com/hooks/"}
    )
    assert settings.public_url == "https://sync.example.com/hooks"
    for bad in ("sync.example.com", "ftp://x/", "https://x/?a=1"):
        with pytest.raises(SettingsError, match="MEDIASYNC_PUBLIC_URL"):
            Settings.from_env({**GOOD, "MEDIASYNC_PUBLIC_URL": bad})


def test_cleanup_reset_wait_and_inbox_sweep_are_read_and_checked():
    defaults = Settings.from_env(GOOD)
    assert defaults.cleanup_max_reset_wait_s == 60
    assert defaults.inbox_sweep_interval_s == 5
    settings = Settings.from_env(
        {
            **GOOD,
            "MEDIASYNC_CLEANUP_MAX_RESET_WAIT": "20",
            "MEDIASYNC_INBOX_SWEEP_INTERVAL": "2",
        }
    )
    assert settings.cleanup_max_reset_wait_s == 20
    assert settings.inbox_sweep_interval_s == 2
    for name, bad in [
        ("MEDIASYNC_CLEANUP_MAX_RESET_WAIT", "0"),
        ("MEDIASYNC_CLEANUP_MAX_RESET_WAIT", "a minute"),
        ("MEDIASYNC_INBOX_SWEEP_INTERVAL", "-1"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**GOOD, name: bad})


def test_delete_guardrails_default_to_a_breaker_on_and_everything_else_off():
    settings = Settings.from_env(GOOD)
    assert settings.delete_breaker_window_s == 600
    assert settings.delete_breaker_max_rows == 500
    assert settings.delete_breaker_max_share == 0.10
    assert settings.delete_delay_s == 0
    assert settings.delete_scope is None
    assert settings.delete_invalidate is False


def test_delete_guardrails_are_read_and_0_switches_a_limit_off():
    settings = Settings.from_env(
        {
            **GOOD,
            "MEDIASYNC_DELETE_BREAKER_WINDOW": "0",
            "MEDIASYNC_DELETE_BREAKER_MAX_ROWS": "2000",
            "MEDIASYNC_DELETE_BREAKER_MAX_SHARE": "0",
            "MEDIASYNC_DELETE_DELAY": "900",
            "MEDIASYNC_DELETE_SCOPE": " prefix:shop/ , folder:/products/, tag:app ",
            "MEDIASYNC_DELETE_INVALIDATE": "Yes",
        }
    )
    assert settings.delete_breaker_window_s == 0
    assert settings.delete_breaker_max_rows == 2000
    assert settings.delete_breaker_max_share == 0.0
    assert settings.delete_delay_s == 900
    assert settings.delete_scope == DeleteScope(("shop/",), ("products",), ("app",))
    assert settings.delete_invalidate is True
    for off in ("", "0", "false", "no", "off"):
        settings = Settings.from_env({**GOOD, "MEDIASYNC_DELETE_INVALIDATE": off})
        assert settings.delete_invalidate is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEDIASYNC_DELETE_BREAKER_WINDOW", "10m"),
        ("MEDIASYNC_DELETE_BREAKER_WINDOW", "-1"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_ROWS", "many"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_ROWS", "-500"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_ROWS", "1.5"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_SHARE", "10%"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_SHARE", "1.5"),
        ("MEDIASYNC_DELETE_BREAKER_MAX_SHARE", "-0.1"),
        ("MEDIASYNC_DELETE_DELAY", "an hour"),
        ("MEDIASYNC_DELETE_DELAY", "-60"),
        ("MEDIASYNC_DELETE_SCOPE", "shop/"),
        ("MEDIASYNC_DELETE_SCOPE", "path:shop/"),
        ("MEDIASYNC_DELETE_SCOPE", "prefix:shop/,tag:"),
        ("MEDIASYNC_DELETE_SCOPE", "folder:a,,tag:b"),
        ("MEDIASYNC_DELETE_INVALIDATE", "maybe"),
        ("MEDIASYNC_DELETE_INVALIDATE", "2"),
    ],
)
def test_a_bad_delete_guardrail_is_refused_in_one_line_naming_it(name, value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**GOOD, name: value})
    message = str(refused.value)
    assert message.startswith(name)
    assert "\n" not in message


def test_the_cli_stops_on_a_bad_delete_scope_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "mediasync", "migrate"],
        env={"PATH": "/usr/bin:/bin", **GOOD, "MEDIASYNC_DELETE_SCOPE": "shop/"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "mediasync: configuration error: MEDIASYNC_DELETE_SCOPE is malformed"
    )
    assert "'shop/'" in line


SCOPE = DeleteScope.parse("prefix:shop/,folder:products,tag:managed")


@pytest.mark.parametrize(
    ("public_id", "folder", "tags", "inside"),
    [
        # prefix: the public_id starts with it, whatever the folder
        ("shop/shoe", "elsewhere", [], True),
        ("shop", None, [], False),
        ("workshop/shoe", None, [], False),
        # folder: the folder itself and every folder below it, not a longer name
        ("a1", "products", [], True),
        ("a2", "products/shoes/red", [], True),
        ("a3", "/products/", [], True),
        ("a4", "products-old", [], False),
        ("a5", "old/products", [], False),
        # a fixed-folder account has no folder field: the public_id's path is the folder
        ("products/x", None, [], True),
        ("products/shoes/x", None, [], True),
        ("products", None, [], False),
        ("productsx/y", None, [], False),
        # a dynamic-folder account's folder field wins over the public_id's path
        ("products/x", "", [], False),
        # tag: any one of the asset's tags
        ("b1", None, ["other", "managed"], True),
        ("b2", None, ["Managed"], False),
        ("b3", None, None, False),
        # outside every item
        ("elsewhere/x", "elsewhere", ["other"], False),
    ],
)
def test_delete_scope_matching(public_id, folder, tags, inside):
    assert SCOPE.contains(public_id, folder, tags) is inside


def test_delete_scope_describes_itself_as_it_is_written():
    scope = DeleteScope.parse("tag:t, folder:/a/b/ ,prefix:p/,prefix:q")
    assert scope.describe() == "prefix:p/,prefix:q,folder:a/b,tag:t"
    assert DeleteScope.parse(scope.describe()) == scope


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "postgresql://u:pw@127.0.0.1:notaport/db", "'notaport'"),
        ("DATABASE_URL", "postgresql://u:pw@127.0.0.1:99999/db", "'99999'"),
        ("DATABASE_URL", "postgresql://u:pw@127.0.0.1:0/db", "got 0"),
        ("DATABASE_URL", "postgresql://u:pw@:5432/db", "host is missing"),
        ("REDIS_URL", "redis://127.0.0.1:port/0", "'port'"),
        ("REDIS_URL", "redis://127.0.0.1:6379/zero", "'zero'"),
        ("REDIS_URL", "http://127.0.0.1:6379/0", "redis://"),
        ("CELERY_BROKER_URL", "redis://127.0.0.1:x/0", "'x'"),
        ("CLOUDINARY_URL", "cloudinary://k:s@c?upload_prefix=ftp://h", "upload_prefix"),
    ],
)
def test_urls_the_drivers_would_choke_on_are_refused_naming_the_variable(
    name, value, says
):
    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_env({**GOOD, name: value})
    assert says in str(refused.value)
    assert "pw" not in str(refused.value)


def test_usable_urls_still_pass_the_url_checks():
    settings = Settings.from_env(
        {
            **GOOD,
            "DATABASE_URL": "postgresql:///app",  # the local socket, no host
            "REDIS_URL": "redis://127.0.0.1",  # no port, no database: defaults
            "CELERY_BROKER_URL": "unix:///run/redis.sock",
        }
    )
    assert settings.database_url == "postgresql:///app"
    assert settings.broker_url == "unix:///run/redis.sock"
