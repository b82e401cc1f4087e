"""Registers the cvat plugin with label-bridge (entry point group "bridge")."""
