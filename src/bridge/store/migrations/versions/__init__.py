"""Workspace schema revisions, oldest first."""
