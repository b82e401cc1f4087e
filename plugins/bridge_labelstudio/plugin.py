"""Registers the labelstudio plugin with label-bridge (entry point group "bridge")."""
