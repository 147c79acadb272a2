"""Amaranth RTL of the inverse-square-root unit, its configuration and its command-line tools."""
