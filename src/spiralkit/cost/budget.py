"""The project's monthly budget: a Batch run whose estimate would not fit in what is left is refused.

``[tool.spiral.cost] budget_usd`` is the month's cap for everything tagged with the project (jobs,
workstations, the bucket); what is spent so far comes from Cost Explorer. The check uses the high end of
the estimate (on-demand, every stage until its timeout): a cap is about the worst case. ``--over-budget``
runs anyway, and the run's record says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from spiralkit.batch.plan import Plan
from spiralkit.config import ProjectConfig
from spiralkit.cost import explorer, prices
from spiralkit.cost.estimate import estimate
from spiralkit.errors import ConfigError, OverBudget, RecordError
from spiralkit.runs import record as records


def budget_usd(section: Mapping[str, Any]) -> float | None:
    value = section.get("budget_usd")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"[tool.spiral.cost] budget_usd must be dollars per month (a number >= 0), not {value!r}")
    return float(value)


def check_budget(
    project: ProjectConfig,
    plan: Plan,
    echo: Callable[[str], None] = print,
    *,
    namespace: str | None = None,
    over_budget: bool = False,
    today: dt.date | None = None,
    ce: Any = None,
) -> dict[str, Any]:
    """Print the run's estimate; refuse it if it would exceed the month's budget; return what to record.

    ``namespace``: its latest run's stage times are the low end of the estimate. ``ce``: a Cost Explorer
    client (made here when a budget is set and none is given).
    """
    section = project.section("cost")
    table = prices.for_project(section)
    found = estimate(plan, table, _previous_seconds(project, namespace))
    echo(f"estimate: {found.summary()} (Spot at the usual time .. on-demand until every timeout)")
    result: dict[str, Any] = {"estimate": found.as_record(), "prices": prices.SOURCE}
    limit = budget_usd(section)
    if limit is None or not plan.stages:
        return result
    today = today or dt.datetime.now(dt.UTC).date()
    result["budget_usd"] = limit
    try:
        spent = explorer.month_to_date(ce or explorer.client(), project.project, today)
    except explorer.CostError as error:
        if not over_budget:
            raise OverBudget(f"{error}\nso the budget cannot be checked: `--over-budget` runs anyway") from error
        echo(f"budget not checked ({error}): run anyway (--over-budget)")
        return {**result, "over_budget": True}
    left = limit - spent
    result["month_to_date_usd"] = round(spent, 2)
    if found.high_usd > left:
        if not over_budget:
            raise OverBudget(
                f"this run may cost up to ${found.high_usd:,.2f}, and {project.project} has ${max(left, 0):,.2f} "
                f"left of its ${limit:,.2f} budget for {today:%B} (${spent:,.2f} spent): lower the stages' "
                "timeouts or resources, or run with `--over-budget` (recorded in the run)"
            )
        result["over_budget"] = True
        echo(f"over budget: run anyway (--over-budget); ${spent:,.2f} of ${limit:,.2f} spent in {today:%B}")
    return result


def _previous_seconds(project: ProjectConfig, namespace: str | None) -> dict[str, float]:
    """Each stage's seconds in the namespace's latest run, if there was one and it got that far."""
    if namespace is None:
        return {}
    store = records.store_for(project)
    try:
        latest = records.load(store, namespace)
        done = records.stages(store, latest)
    except RecordError:
        return {}
    return {name: float(stage["seconds"]) for name, stage in done.items() if stage.get("seconds")}
