"""parkplan: siting, pilot tracking and park maps for Shanghai's TIC pilot programme."""

__version__ = "0.1.0"
