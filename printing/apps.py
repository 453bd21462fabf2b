from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrintingConfig(AppConfig):
    name = "printing"
    verbose_name = _("Tryckfördelning")

    def ready(self) -> None:
        # subscribers may not import printing; it says when someone is erased and the
        # frozen print lines are cleared here.
        from subscribers.signals import subscriber_erased

        from .privacy import print_run_lines_anonymise

        subscriber_erased.connect(
            print_run_lines_anonymise, dispatch_uid="print_run_lines_anonymise"
        )
