"""The subscribe form's rate limit needs a shared cache; the checks say so in production."""

from tests.project.test_settings_checks import PRODUCTION_ENV, manage


def test_it_refuses_a_per_process_cache_for_rate_limits_in_production(tmp_path):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "REDIS_URL"}

    result = manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "django_ratelimit.E003" in result.stderr


def test_it_accepts_the_per_process_cache_for_the_embedded_default(tmp_path):
    result = manage("check", env={"DEBUG": "true"}, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "ratelimit" not in result.stderr


def test_it_accepts_djangos_redis_cache_in_production(tmp_path):
    result = manage("check", env=PRODUCTION_ENV, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "ratelimit" not in result.stderr
