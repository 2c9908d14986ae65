"""Sending the e-mail drafts through the accountant's SMTP server (optional, off by default).

The password never comes from the workbook: the RELANCE_SMTP_PASSWORD environment variable,
else the system keyring (service `relance-smtp`, account = the SMTP user). Every message is
tried; one refused message does not stop the others, and each gets its own French verdict,
so the Journal records as `envoyé` only what the server accepted.
"""
from __future__ import annotations

import copy
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import getaddresses

from .model import Smtp

PASSWORD_ENV = "RELANCE_SMTP_PASSWORD"
KEYRING_SERVICE = "relance-smtp"
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
TIMEOUT = 30  # seconds, per network operation


def smtp_password(smtp: Smtp) -> str | None:
    """The SMTP password: RELANCE_SMTP_PASSWORD, else the system keyring, else None."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if not smtp.user.strip():
        return None
    try:
        import keyring
        return keyring.get_password(KEYRING_SERVICE, smtp.user.strip()) or None
    except Exception:  # no keyring module or backend (a server, a container): not a crash
        return None


def smtp_port(smtp: Smtp) -> int:
    return smtp.port or DEFAULT_PORTS.get(smtp.security, 587)


def send_all(messages: list, smtp: Smtp, password: str | None, *,
             timeout: float = TIMEOUT) -> dict:
    """Send each (key, EmailMessage); return {key: ""} for a message the server accepted,
    {key: "French reason"} otherwise. The `X-Unsent` draft header is dropped from the copy
    sent. One connection is used for all; when the server drops it, the next message
    reconnects."""
    results = {}
    if not messages:
        return results
    if not smtp.configured:
        return {key: "e-mail non envoyé : aucun serveur SMTP n'est renseigné dans « Paramètres »"
                for key, _ in messages}
    if smtp.user.strip() and not password:
        reason = (f"e-mail non envoyé : mot de passe SMTP introuvable (définissez la variable "
                  f"d'environnement {PASSWORD_ENV} ou enregistrez-le dans le trousseau du système, "
                  f"service « {KEYRING_SERVICE} », compte « {smtp.user.strip()} »)")
        return {key: reason for key, _ in messages}

    server = None
    try:
        for index, (key, message) in enumerate(messages):
            if server is None:
                try:
                    server = _connect(smtp, password, timeout)
                except _Fatal as err:  # cannot connect or log in: nothing else can go either
                    for other, _ in messages[index:]:
                        results[other] = str(err)
                    return results
            try:
                results[key] = _send_one(server, message)
            except smtplib.SMTPServerDisconnected:
                _close(server)
                server = None
                results[key] = "e-mail non envoyé : le serveur SMTP a coupé la connexion"
            except (OSError, smtplib.SMTPException) as err:
                _close(server)
                server = None
                results[key] = "e-mail non envoyé : " + _describe(err, smtp)
    finally:
        if server is not None:
            _close(server, polite=True)
    return results


class _Fatal(Exception):
    """A connection or login failure: every remaining message fails the same way."""


def _connect(smtp: Smtp, password: str | None, timeout: float) -> smtplib.SMTP:
    host, port = smtp.host.strip(), smtp_port(smtp)
    server = None
    try:
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        server.ehlo()
        if smtp.security == "starttls":
            if not server.has_extn("starttls"):
                raise _Fatal(f"e-mail non envoyé : le serveur {host}:{port} ne propose pas "
                             f"STARTTLS (choisissez « TLS » ou le bon port dans « Sécurité SMTP »)")
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if smtp.user.strip():
            server.login(smtp.user.strip(), password or "")
        return server
    except _Fatal:
        _close(server)
        raise
    except smtplib.SMTPAuthenticationError as err:
        _close(server)
        raise _Fatal(f"e-mail non envoyé : authentification refusée par le serveur SMTP "
                     f"({_server_text(err.smtp_code, err.smtp_error)}) : vérifiez l'utilisateur "
                     f"« {smtp.user.strip()} » et le mot de passe") from None
    except smtplib.SMTPNotSupportedError:
        _close(server)
        raise _Fatal(f"e-mail non envoyé : le serveur {host}:{port} ne propose pas "
                     f"l'authentification (vérifiez « Sécurité SMTP » et le port)") from None
    except (OSError, smtplib.SMTPException) as err:
        _close(server)
        raise _Fatal("e-mail non envoyé : " + _describe(err, smtp)) from None


def _send_one(server: smtplib.SMTP, message: EmailMessage) -> str:
    outgoing = copy.deepcopy(message)
    del outgoing["X-Unsent"]
    recipients = [addr for _, addr in getaddresses(outgoing.get_all("To", []) +
                                                   outgoing.get_all("Cc", []) +
                                                   outgoing.get_all("Bcc", [])) if addr]
    if not recipients:
        return "e-mail non envoyé : aucun destinataire"
    try:
        refused = server.send_message(outgoing, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as err:
        return "e-mail non envoyé : " + _refused(err.recipients)
    except smtplib.SMTPSenderRefused as err:
        return (f"e-mail non envoyé : expéditeur {err.sender} refusé par le serveur "
                f"({_server_text(err.smtp_code, err.smtp_error)})")
    except smtplib.SMTPDataError as err:
        return (f"e-mail non envoyé : message refusé par le serveur "
                f"({_server_text(err.smtp_code, err.smtp_error)})")
    except smtplib.SMTPResponseException as err:
        return (f"e-mail non envoyé : erreur du serveur SMTP "
                f"({_server_text(err.smtp_code, err.smtp_error)})")
    if refused:
        accepted = [r for r in recipients if r not in refused]
        return (f"e-mail envoyé seulement à {', '.join(accepted)} : " + _refused(refused))
    return ""


def _refused(recipients: dict) -> str:
    parts = [f"{addr} ({_server_text(code, text)})" for addr, (code, text) in recipients.items()]
    word = "destinataire refusé" if len(parts) == 1 else "destinataires refusés"
    return f"{word} par le serveur : " + ", ".join(parts)


def _server_text(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text or "").split())
    return f"{code} {text}".strip()


def _describe(err: BaseException, smtp: Smtp) -> str:
    host, port = smtp.host.strip(), smtp_port(smtp)
    if isinstance(err, ConnectionRefusedError):
        return (f"connexion refusée par le serveur SMTP {host}:{port} (vérifiez le serveur, le "
                f"port et la sécurité dans « Paramètres »)")
    if isinstance(err, socket.gaierror):
        return f"serveur SMTP introuvable : {host} (vérifiez son nom et la connexion Internet)"
    if isinstance(err, (TimeoutError, socket.timeout)):
        return f"pas de réponse du serveur SMTP {host}:{port} (délai dépassé)"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"certificat du serveur SMTP {host} refusé ({err.verify_message or err})"
    if isinstance(err, ssl.SSLError):
        return (f"échec de la connexion chiffrée avec {host}:{port} ({err.reason or err}) : "
                f"vérifiez « Sécurité SMTP » (STARTTLS sur le port 587, TLS sur le port 465)")
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return f"le serveur SMTP {host}:{port} a coupé la connexion"
    if isinstance(err, smtplib.SMTPConnectError):
        return (f"le serveur SMTP {host}:{port} refuse la connexion "
                f"({_server_text(err.smtp_code, err.smtp_error)})")
    if isinstance(err, smtplib.SMTPResponseException):
        return f"erreur du serveur SMTP ({_server_text(err.smtp_code, err.smtp_error)})"
    if isinstance(err, OSError):
        return f"erreur réseau avec le serveur SMTP {host}:{port} ({err.strerror or err})"
    return f"erreur SMTP ({err})"


def _close(server, polite: bool = False) -> None:
    if server is None:
        return
    try:
        if polite:
            server.quit()
        else:
            server.close()
    except Exception:
        try:
            server.close()
        except Exception:
            pass


def check_connection(smtp: Smtp, password: str | None, *, timeout: float = TIMEOUT) -> str:
    """Before anything is written: can we connect and log in? "" if so, else why not (French).

    A run that must send e-mails stops here rather than record drafts it cannot send."""
    if not smtp.configured:
        return ("aucun serveur SMTP n'est renseigné dans « Paramètres » (« Serveur SMTP », "
                "« Port SMTP », « Sécurité SMTP », « Utilisateur SMTP »)")
    if smtp.user.strip() and not password:
        return (f"mot de passe SMTP introuvable : définissez la variable d'environnement "
                f"{PASSWORD_ENV} ou enregistrez-le dans le trousseau du système (service "
                f"« {KEYRING_SERVICE} », compte « {smtp.user.strip()} »)")
    try:
        server = _connect(smtp, password, timeout)
    except _Fatal as err:
        return str(err).replace("e-mail non envoyé : ", "")
    _close(server, polite=True)
    return ""
