"""An admin connects a webhook and checks it with "Send test" (real Chromium, local receiver)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from smarketing.integrations.channels import verify

SECRET = "browser-test-secret-0042"


@pytest.fixture
def webhook_receiver():
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_admin_adds_a_webhook_and_sends_a_test(sign_in, admin_user, webhook_receiver):
    url, received = webhook_receiver
    page = sign_in(admin_user)
    page.goto("/settings/notifications/")
    page.click("text=Add Webhook")
    page.fill("#id_name", "Ops receiver")
    page.fill("#id_url", f"{url}/smarketing")
    page.fill("#id_signing_secret", SECRET)
    page.check("input[name=events][value='deal.won']")
    page.click("button:has-text('Add endpoint')")
    page.wait_for_url("**/settings/notifications/")
    row = page.locator("tr", has_text="Ops receiver")
    assert "Deal won" in row.inner_text()
    assert SECRET not in page.content()
    row.locator("button:has-text('Send test')").click()
    page.wait_for_selector("text=delivered 200")
    [(headers, body)] = received
    assert headers["x-smarketing-event"] == "test"
    assert verify(
        SECRET, headers["x-smarketing-timestamp"], body, headers["x-smarketing-signature"]
    )
