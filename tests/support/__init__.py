"""Helpers shared by tests (never a test module); importable by crawls the tests start."""
