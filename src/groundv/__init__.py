"""groundv: the Ground-V workflow — teach VLMs to ground complex instructions in pixels."""

__version__ = "0.1.0"
