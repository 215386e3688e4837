"""Cost you can see and cap: estimates before a run, spend by tag after, and the project's budget."""

from spiralkit.cost.budget import check_budget
from spiralkit.cost.estimate import Estimate, estimate, run_cost
from spiralkit.errors import OverBudget

__all__ = ["Estimate", "OverBudget", "check_budget", "estimate", "run_cost"]
