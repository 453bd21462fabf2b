from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Staff pages that bring several apps' numbers together: the report of a dispatch or an
    issue (worker's deliveries, printing's copies, newsletter's counts) and list hygiene. It
    owns no data: every number comes from a selector of the app that does."""

    name = "reports"
    verbose_name = "Rapporter"
