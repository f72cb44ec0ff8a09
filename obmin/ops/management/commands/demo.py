"""`obmin demo [--no-serve]`: migrate, load the demo data, and serve the site."""

import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.ops.demo import ADMIN, DEMO_PARTNERS, DEMO_PASSWORD, load_demo
from obmin.ops.demo_volume import generate


def demo_site_url(bind: str) -> str:
    """The address a browser on this machine opens for `--bind HOST:PORT` (a wildcard host
    such as 0.0.0.0 is reached as 127.0.0.1)."""
    host, _, port = bind.rpartition(":")
    if host in ("0.0.0.0", "", "[::]", "::"):  # noqa: S104 (a name, not a bind)
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def demo_allowed_hosts(allowed: list[str], site_url: str) -> list[str]:
    """`allowed` with SITE_URL's host added: bound to another address than the loopback
    names allowed by default, the demo would otherwise refuse every request (400)."""
    host = (urlsplit(site_url).hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, as a browser sends it in Host
    return allowed if not host or host in allowed else [*allowed, host]


class Command(ObminCommand):
    help = "Migrate, load demo data (idempotent) and serve the site on http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Only migrate and load.")
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--clicks", type=int, default=0, metavar="N",
                            help="Also add N generated clicks over the last 365 days (and "
                                 "about N/20 exchanges) to the demo partners.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        load_demo()
        if options["clicks"] < 0:
            raise CommandError("--clicks must be 0 or more")
        if options["clicks"]:
            clicks, exchanges = generate(options["clicks"])
            self.stdout.write(f"Generated {clicks} clicks and {exchanges} exchanges.")
        url = demo_site_url(options["bind"])
        if "SITE_URL" not in os.environ:
            # Partners' links, e-mails and docs name the address the demo serves on; the
            # worker and the server's processes inherit it.
            os.environ["SITE_URL"] = url
            settings.SITE_URL = url
        if "ALLOWED_HOSTS" not in os.environ:
            allowed = demo_allowed_hosts(list(settings.ALLOWED_HOSTS), settings.SITE_URL)
            os.environ["ALLOWED_HOSTS"] = ",".join(allowed)
            settings.ALLOWED_HOSTS = allowed
        self.stdout.write(f"Demo data loaded. Open {url}/")
        self.stdout.write(f"  Operator back office: {url}/admin/  login {ADMIN[0]} / {ADMIN[2]}")
        self.stdout.write(f"  Partner cabinet:      {url}/cabinet/  e.g. {DEMO_PARTNERS[0][0]} / "
                          f"{DEMO_PASSWORD}")
        self.stdout.write(f"  Monitoring hand-off:  {url}/ref/{DEMO_PARTNERS[0][1]}/"
                          "?cur_from=PMUSD&cur_to=BTC")
        self.stdout.write(f"  Rate export:          {url}/service/export/xml/{DEMO_PARTNERS[2][1]}")
        if options["no_serve"]:
            return
        # The background worker beside the server, so the demo needs no second terminal.
        worker = subprocess.Popen([sys.executable, "-m", "obmin.manage", "worker"])
        self.stdout.write(f"  Background worker:    pid {worker.pid} (obmin worker)")
        try:
            call_command("serve", bind=options["bind"], workers=1)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
