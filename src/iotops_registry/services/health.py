"""Endpoint health: what the last connection test says, kept on the endpoint.

``healthState`` (Available, Degraded, Unavailable, Unknown) lives in the resource document, as
ARM defines it. The message and the times are served on request (``$expand=healthStatus``) so
that the resource's shape stays exactly ARM's and SDK read-modify-write cycles keep working.
Health is status, not configuration: recording it never changes the ETag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..domain import InstanceKey, RegistryEndpointKey
from ..store import Store
from .common import now_iso
from .endpoints import endpoint_not_found

__all__ = ["HealthRecord", "HealthService", "health_from_report"]

# Steps whose failure leaves the endpoint usable for some artifacts.
DEGRADING_STEPS = {"PullPermission", "CodeSigningCas"}
# The row lock makes a lost race impossible on both databases; the ETag guard is a second
# line, and a PUT that keeps winning schedules its own check anyway.
_ATTEMPTS = 3


@dataclass(frozen=True)
class HealthRecord:
    state: str
    message: str
    last_transition_time: str | None
    last_checked_time: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
            "lastCheckedTime": self.last_checked_time,
        }


def health_from_report(report: dict[str, Any]) -> tuple[str, str]:
    """(healthState, message) for a connection-test report: Available only when a pull was
    proven; Degraded when the registry and the credentials work but pulls are denied or
    could not be tested; Unavailable when an earlier step failed."""
    steps = report["steps"]
    failed = [s for s in steps if s["status"] == "Failed"]
    if failed:
        first = failed[0]
        state = (
            "Degraded" if all(s["name"] in DEGRADING_STEPS for s in failed) else "Unavailable"
        )
        return state, _sentence(first)
    pull = next((s for s in steps if s["name"] == "PullPermission"), None)
    if report.get("status") != "Succeeded" or pull is None or pull["status"] != "Succeeded":
        unverified = pull or {"message": "Pull permission was not tested.", "hint": ""}
        return "Degraded", "The registry is reachable, but " + _sentence(unverified, False)
    where = f" from '{report['repository']}'" if report.get("repository") else ""
    message = f"All connection checks passed, including a pull{where}."
    notes = " ".join(s["message"] for s in steps if s["status"] == "Warning")
    return "Available", f"{message} {notes}".strip()


def _sentence(step: dict[str, Any], named: bool = True) -> str:
    """A step's message and hint as plain sentences (no nested brackets)."""
    text = str(step["message"]).rstrip()
    if not named:
        text = text[0].lower() + text[1:] if text else text
    elif "name" in step:
        text = f"{step['name']}: {text}"
    if text and text[-1] not in ".!?":
        text += "."
    hint = str(step.get("hint") or "").strip()
    return f"{text} {hint}".strip()


class HealthService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, key: RegistryEndpointKey, report: dict[str, Any]) -> HealthRecord | None:
        """Keep a report's verdict; ``None`` if the endpoint is gone meanwhile."""
        state, message = health_from_report(report)
        p = key.parent
        now = now_iso()
        for _ in range(_ATTEMPTS):
            with self._store.write() as w:
                current = w.lock_endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
                if current is None:
                    return None
                doc = json.loads(current.document)
                previous = doc["properties"].get("healthState", "Unknown")
                transition = current.health_transition_at
                if previous != state or transition is None:
                    transition = now
                doc["properties"]["healthState"] = state
                if w.record_health(
                    current.pk,
                    current.etag,
                    json.dumps(doc, separators=(",", ":")),
                    message,
                    transition,
                    now,
                    json.dumps(report, separators=(",", ":")),
                ):
                    break
        else:
            return None  # the configuration keeps changing: its own check follows each PUT
        return HealthRecord(state, message, transition, now)

    def get(self, key: RegistryEndpointKey) -> tuple[HealthRecord, dict[str, Any] | None]:
        p = key.parent
        with self._store.read() as r:
            current = r.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
        if current is None:
            raise endpoint_not_found(key)
        state = json.loads(current.document)["properties"].get("healthState", "Unknown")
        record = HealthRecord(
            state,
            current.health_message or "Not checked yet.",
            current.health_transition_at,
            current.health_checked_at,
        )
        report = json.loads(current.health_report) if current.health_report else None
        return record, report

    def expand(self, parent: InstanceKey, documents: list[str]) -> list[str]:
        """Add ``properties.healthStatus`` to served documents (``$expand=healthStatus``)."""
        parsed = [json.loads(d) for d in documents]
        with self._store.read() as r:
            health = r.health_by_name(
                parent.sub_key, parent.rg_key, parent.instance, [d["name"] for d in parsed]
            )
        out = []
        for doc in parsed:
            message, transition, checked = health.get(doc["name"], (None, None, None))
            doc["properties"]["healthStatus"] = {
                "message": message or "Not checked yet.",
                "lastTransitionTime": transition,
                "lastCheckedTime": checked,
            }
            out.append(json.dumps(doc, separators=(",", ":")))
        return out
