"""``notify:``: a command and/or a webhook told about pauses and error-level findings.

Best effort by design: a notifier that fails or hangs is a warning, never a lost save. The
command gets the event as environment variables (``CKPT_EVENT``, ``CKPT_NAME``, ``CKPT_RULE``,
``CKPT_MESSAGE``) and the whole event as JSON in ``CKPT_PAYLOAD``; the webhook gets that JSON as
a POST body.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ckptgit import proc
from ckptgit.policy.settings import Notify

log = logging.getLogger(__name__)


def send(settings: Notify, event: Mapping[str, Any], cwd: Path) -> None:
    if settings.command:
        _command(settings, event, cwd)
    if settings.webhook:
        _webhook(settings, event)


def _command(settings: Notify, event: Mapping[str, Any], cwd: Path) -> None:
    assert settings.command is not None  # noqa: S101 - checked by the caller
    env = dict(os.environ)
    env.update({"CKPT_EVENT": str(event.get("event", "")), "CKPT_NAME": str(event.get("name", "")),
                "CKPT_RULE": ",".join(event.get("rules", [])),
                "CKPT_MESSAGE": str(event.get("message", "")),
                "CKPT_PAYLOAD": json.dumps(dict(event), sort_keys=True)})
    try:
        done = proc.run(shlex.split(settings.command), cwd=cwd, env=env,
                        timeout=settings.timeout)
    except (OSError, ValueError) as exc:
        log.warning("notify command %r could not run: %s", settings.command, exc)
        return
    except Exception as exc:  # noqa: BLE001 - a timeout or anything else: never fail the save
        log.warning("notify command %r failed: %s", settings.command, exc)
        return
    if done.returncode != 0:
        log.warning("notify command %r exited %d", settings.command, done.returncode)


def _webhook(settings: Notify, event: Mapping[str, Any]) -> None:
    import urllib.request  # ~25 ms (http.client, email): only when a webhook is called

    assert settings.webhook is not None  # noqa: S101 - checked by the caller
    data = json.dumps(dict(event), sort_keys=True).encode()
    request = urllib.request.Request(settings.webhook, data=data, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:  # noqa: S310
            response.read(1024)
    except Exception as exc:  # noqa: BLE001 - URLError, timeouts, HTTP errors: a warning
        log.warning("notify webhook %s failed: %s", settings.webhook, exc)
