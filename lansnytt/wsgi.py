import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")
application = get_wsgi_application()

# After setup: gunicorn's access log prints every path, tokens included (see log_masking).
from django.conf import settings  # noqa: E402

from lansnytt.log_masking import gunicorn_loggers_mask  # noqa: E402

gunicorn_loggers_mask(token_paths=settings.SIGNED_LINK_PATHS)
