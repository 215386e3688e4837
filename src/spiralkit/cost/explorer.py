"""Spend from Cost Explorer (``GetCostAndUsage``), grouped by one of the tags every resource carries.

Cost Explorer answers only for tags activated as cost allocation tags (docs/cost.md: one command, once
per account), and only from the day they were activated: spend before that, or on resources without
the tag, comes back under the empty value, which is shown as "untagged" rather than hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws
from spiralkit.errors import AwsError

TAGS = {
    "project": "spiral:project",
    "namespace": "spiral:namespace",
    "user": "spiral:user",
    "stage": "spiral:stage",
}
METRIC = "UnblendedCost"  # what the account is charged, before any credits and discounts are spread
UNTAGGED = "(untagged)"


class CostError(AwsError):
    """Cost Explorer cannot answer: not enabled, not allowed, or a period it does not have."""


@dataclass(frozen=True)
class Spend:
    """Dollars per tag value over ``start``..``end`` (end exclusive, as Cost Explorer counts)."""

    by: str
    start: str
    end: str
    rows: tuple[tuple[str, float], ...]  # (value, dollars), largest first; UNTAGGED among them
    currency: str = "USD"

    @property
    def total(self) -> float:
        return sum(amount for _, amount in self.rows)

    @property
    def untagged(self) -> float:
        return sum(amount for value, amount in self.rows if value == UNTAGGED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "start": self.start,
            "end": self.end,
            "currency": self.currency,
            "total": round(self.total, 2),
            "untagged": round(self.untagged, 2),
            "rows": [{"value": value, "amount": round(amount, 2)} for value, amount in self.rows],
        }


def client() -> Any:
    """Cost Explorer has one endpoint, in us-east-1, whatever region the project uses."""
    return aws.client("ce", "us-east-1")


def first_of_month(today: dt.date) -> dt.date:
    return today.replace(day=1)


def spend(ce: Any, by: str, start: dt.date, end: dt.date, filters: Mapping[str, str] | None = None) -> Spend:
    """Spend grouped by the tag of ``by`` (a key of :data:`TAGS`), where every tag in ``filters`` matches."""
    if end <= start:
        raise CostError(f"--until {end} is not after --since {start}: the period would be empty")
    key = TAGS[by]
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "TAG", "Key": key}],
    }
    if filter_ := _filter(filters or {}):
        request["Filter"] = filter_
    totals: dict[str, float] = {}
    currency = "USD"
    for page in _pages(ce, request):
        for period in page.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                value = group["Keys"][0].partition("$")[2] or UNTAGGED  # "spiral:user$ana"; "spiral:user$" untagged
                amount = group["Metrics"][METRIC]
                currency = amount.get("Unit", currency)
                totals[value] = totals.get(value, 0.0) + float(amount["Amount"])
    rows = tuple(sorted(totals.items(), key=lambda row: (-row[1], row[0])))
    return Spend(by, start.isoformat(), end.isoformat(), rows, currency)


def month_to_date(ce: Any, project: str, today: dt.date) -> float:
    """This calendar month's spend on resources tagged with ``project``, up to and including today."""
    start = first_of_month(today)
    found = spend(ce, "project", start, today + dt.timedelta(days=1), {"project": project})
    return sum(amount for value, amount in found.rows if value == project)


def _filter(filters: Mapping[str, str]) -> dict[str, Any] | None:
    terms = [
        {"Tags": {"Key": TAGS[name], "Values": [value], "MatchOptions": ["EQUALS"]}} for name, value in filters.items()
    ]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else {"And": terms}


def _pages(ce: Any, request: dict[str, Any]) -> Any:
    token = None
    while True:
        try:
            page = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise CostError(
                f"Cost Explorer refused ({code}): {error.response.get('Error', {}).get('Message', '')}; it needs "
                "ce:GetCostAndUsage, and Cost Explorer enabled once for the account (docs/cost.md)"
            ) from error
        yield page
        token = page.get("NextPageToken")
        if not token:
            return
