"""E-mail over SMTP: plain, STARTTLS or SSL, optional login; multipart text + HTML
with every value HTML-escaped.

MODELMART_SMTP_URL: ``smtp://[user:pass@]host[:port]`` (plain; add
``?starttls=true`` or use ``smtp+starttls://`` for STARTTLS) or
``smtps://[user:pass@]host[:port]`` (SSL). MODELMART_SMTP_CA_FILE trusts a private CA.
"""

from __future__ import annotations

import html
import os
import smtplib
import ssl
import urllib.parse
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from modelmart.notify.base import (
    EVENT_WORDS,
    DeliveryError,
    Message,
    Payload,
    alert_link,
    counts_title,
    format_value,
    since_text,
    summary_line,
)


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ.get("MODELMART_SMTP_CA_FILE") or None)


def _html_table(message: Message) -> str:
    rows = []
    for n in message.notices:
        a = n.alert
        cells = [
            EVENT_WORDS[n.event],
            a.severity,
            a.rule_id,
            a.series,
            format_value(a.metric, a.last_value),
            f"{a.comparator} {format_value(a.metric, a.threshold)}",
            since_text(n),
        ]
        link = html.escape(alert_link(a, message.app_url), quote=True)
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f'<td><a href="{link}">open</a></td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("event", "severity", "rule", "scope", "value", "threshold", "when", "")
    )
    return (
        '<table border="1" cellpadding="4" cellspacing="0">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class Email:
    name = "email"
    idempotent = False
    pages = False

    def render(self, message: Message) -> list[Payload]:
        if message.digest is not None:
            from modelmart.notify.report import render_html, render_markdown, title

            subject = title(message.digest)
            text = render_markdown(message.digest)
            body_html = render_html(message.digest)
        else:
            subject = counts_title(message.notices)
            text = "\n".join(
                summary_line(n) + "\n  " + alert_link(n.alert, message.app_url)
                for n in message.notices
            )
            body_html = (
                f"<html><body><h2>{html.escape(subject)}</h2>{_html_table(message)}</body></html>"
            )
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["Date"] = format_datetime(message.now)
        mail["Message-ID"] = make_msgid(domain="modelmart")
        mail.set_content(text)
        mail.add_alternative(body_html, subtype="html")
        return [Payload(mail, list(message.notices), mail.as_string(), suffix="eml")]

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None:
        mail: EmailMessage = payload.body
        del mail["From"], mail["To"]
        mail["From"] = settings["from"]
        mail["To"] = settings["to"]
        url = urllib.parse.urlsplit(settings["smtp_url"])
        query = urllib.parse.parse_qs(url.query)
        ssl_wrap = url.scheme == "smtps"
        starttls = url.scheme == "smtp+starttls" or query.get("starttls", [""])[0].lower() in {
            "1",
            "true",
            "yes",
        }
        if url.scheme not in {"smtp", "smtps", "smtp+starttls"}:
            raise DeliveryError(f"unknown SMTP URL scheme '{url.scheme}'", retryable=False)
        port = url.port or (465 if ssl_wrap else 25)
        host = url.hostname or "localhost"
        try:
            if ssl_wrap:
                client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            with client:
                if starttls:
                    client.starttls(context=_tls_context())
                if url.username:
                    client.login(
                        urllib.parse.unquote(url.username), urllib.parse.unquote(url.password or "")
                    )
                recipients = [r.strip() for r in settings["to"].split(",") if r.strip()]
                client.send_message(mail, from_addr=settings["from"], to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"SMTP recipients refused {codes}",
                retryable=all(400 <= c < 500 for c in codes),
                status=codes[0] if codes else None,
            ) from None
        except smtplib.SMTPResponseException as exc:
            # SMTP's 4xx are transient, 5xx permanent
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error.decode('utf-8', 'replace')[:200]}",
                retryable=400 <= exc.smtp_code < 500,
                status=exc.smtp_code,
            ) from None
        except TimeoutError:
            raise DeliveryError(f"SMTP timed out after {timeout:g}s", retryable=True) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"SMTP: {exc}", retryable=True) from None
