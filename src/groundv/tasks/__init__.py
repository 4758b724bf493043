"""The five Ground-V categories: one planner module each, their prompts, and the validator."""

from groundv.tasks.plan import CATEGORIES, Category, Plan, Planner

__all__ = ["CATEGORIES", "Category", "Plan", "Planner"]
