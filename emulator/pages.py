"""The HTML the browser sees: the Authorize/Deny page and the error page.

Every value that came from the request is passed through ``html.escape`` (quotes too, since some go in
attributes); the pages load nothing external and are served with a strict Content-Security-Policy.
"""

from __future__ import annotations

from html import escape

from .identity import Identity
from .state import PendingAuthorization

DECISION_PATH = "/oauth2/v1/auth/decision"

#: Sent with every page. ``form-action`` must allow the loopback redirect that follows the decision POST.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:*; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STYLE = (
    "body{font-family:sans-serif;max-width:34em;margin:3em auto;color:#222}"
    "dt{font-weight:bold}dd{margin:0 0 .6em 0;word-break:break-all}"
    "button{font-size:1em;padding:.4em 1.2em;margin-right:1em}"
    ".error{color:#a00}"
)


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def authorize_page(pending: PendingAuthorization, identity: Identity) -> str:
    """The consent page: who signs in, for which client, and two buttons posting the decision."""
    body = (
        "<h1>Alibaba Cloud sign-in (emulator)</h1>"
        f"<p>Signed in as <strong>{escape(identity.name)}</strong> "
        f"(account {escape(identity.account_id)}).</p>"
        "<p>The Alibaba Cloud CLI asks for access to your account.</p>"
        "<dl>"
        f"<dt>Site</dt><dd>{escape(pending.site)}</dd>"
        f"<dt>Client</dt><dd>{escape(pending.client_id)}</dd>"
        f"<dt>Redirect URI</dt><dd>{escape(pending.redirect_uri)}</dd>"
        f"<dt>State</dt><dd>{escape(pending.state)}</dd>"
        "</dl>"
        f"<form method=\"post\" action=\"{escape(DECISION_PATH)}\">"
        f"<input type=\"hidden\" name=\"request_id\" value=\"{escape(pending.id)}\">"
        "<button type=\"submit\" name=\"decision\" value=\"authorize\" id=\"authorize\">Authorize</button>"
        "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>"
        "</form>"
    )
    return _document("Authorize - Alibaba Cloud sign-in (emulator)", body)


def error_page(error: str, description: str) -> str:
    """Shown instead of redirecting when the request itself cannot be trusted (client, redirect URI)."""
    body = (
        "<h1>Sign-in request refused</h1>"
        f"<p class=\"error\" id=\"error\">{escape(error)}</p>"
        f"<p id=\"error_description\">{escape(description)}</p>"
        "<p>Start the sign-in again from your tool.</p>"
    )
    return _document("Sign-in error - Alibaba Cloud sign-in (emulator)", body)
