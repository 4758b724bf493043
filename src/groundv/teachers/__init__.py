"""Teachers word plans: ``rules`` (offline templates); LLM teachers plug in behind the same interface."""

from groundv.teachers.base import Teacher, TeacherOutput

__all__ = ["Teacher", "TeacherOutput"]
