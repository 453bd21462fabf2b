"""A delivery's return path token: what Django's salted_hmac signs, whatever the secret, so
every bounce address already sent still names its delivery."""

import pytest
from django.utils.crypto import salted_hmac

from worker.verp import VerpTokenInvalid, delivery_token_make, delivery_token_read


@pytest.mark.parametrize("secret", ["första-hemligheten-" * 3, "en annan hemlighet " * 3])
def test_a_token_is_the_salted_hmac_of_the_delivery_under_the_current_secret(settings, secret):
    settings.SECRET_KEY = secret
    for delivery_id in (1, 42, 10**15):
        signature = salted_hmac(
            "lansnytt.worker.verp", str(delivery_id), secret=secret, algorithm="sha256"
        ).hexdigest()[:20]

        assert delivery_token_make(delivery_id=delivery_id) == f"{delivery_id}-{signature}"
        assert delivery_token_read(f"{delivery_id}-{signature}") == delivery_id


def test_a_token_made_under_another_secret_is_refused(settings):
    settings.SECRET_KEY = "den gamla hemligheten, " * 3
    token = delivery_token_make(delivery_id=7)
    settings.SECRET_KEY = "den nya hemligheten, " * 3

    with pytest.raises(VerpTokenInvalid, match="bad signature"):
        delivery_token_read(token)
