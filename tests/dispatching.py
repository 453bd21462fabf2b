"""Creating a dispatch in the admin as an editor does: the form, then its confirmation page."""

import re

from django.urls import reverse


def dispatch_add_confirmed(client, form: dict):
    """POST the add form, read the confirmation page's version, confirm; the last response."""
    url = reverse("admin:worker_dispatch_add")
    page = client.post(url, form)
    found = re.search(r'name="_confirmed_version" value="([0-9a-f]+)"', page.content.decode())
    if found is None:
        return page  # refused before the confirmation (a form error, a permission)
    return client.post(url, {**form, "_confirmed_version": found.group(1)})
