# Generated from ../_async/__init__.py by scripts/unasync.py: edit that file, then run the script.
"""The synchronous client; ``_sync`` is generated from it (scripts/unasync.py)."""
