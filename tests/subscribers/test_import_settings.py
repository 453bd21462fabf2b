"""The import limits come from the environment, and a value that is no limit is refused."""

from subscribers.checks import import_limits_check


def test_it_accepts_the_default_limits():
    assert import_limits_check(None) == []


def test_it_refuses_a_limit_that_is_not_positive(settings):
    settings.IMPORT_MAX_ROWS = 0

    assert [(error.id, error.msg) for error in import_limits_check(None)] == [
        ("subscribers.E005", "IMPORT_MAX_ROWS must be a positive number.")
    ]


def test_it_refuses_a_time_limit_that_outlasts_the_brokers_redelivery(settings):
    settings.IMPORT_TIME_LIMIT_SECONDS = 3600

    assert [error.id for error in import_limits_check(None)] == ["subscribers.E006"]
