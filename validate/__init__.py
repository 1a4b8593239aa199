"""Validate the engine against a running Linux kernel under QEMU (see harness.py)."""
