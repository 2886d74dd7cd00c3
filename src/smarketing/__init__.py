"""Smarketing: one lead database, one set of definitions and one set of numbers for sales and marketing."""

__version__ = "0.1.0"
