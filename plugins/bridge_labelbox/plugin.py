"""Registers the labelbox plugin with label-bridge (entry point group "bridge")."""
