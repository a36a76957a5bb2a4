"""Create the admin account and print how to sign in."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from frontend.services import admin_password_load, admin_user_ensure


class Command(BaseCommand):
    help = ("Create or update the staff superuser (ADMIN_USERNAME, ADMIN_PASSWORD; by default "
            "'admin' with a random password kept in DATA_DIR/admin-password.txt) and print it.")

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default="http://127.0.0.1:8000",
                            help="where the site is served, for the sign-in link printed")

    def handle(self, *args, site_url, **options):
        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD") or admin_password_load(
            path=settings.DATA_DIR / "admin-password.txt")
        admin_user_ensure(username=username, password=password)
        self.stdout.write(f"Admin: {site_url.rstrip('/')}/admin/  user {username!r}  "
                          f"password {password!r}")
