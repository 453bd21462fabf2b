"""Two-factor login for staff: a TOTP app (django-otp) with recovery codes (django-otp's
static device), required for every account when STAFF_REQUIRE_2FA is on."""
