"""label-bridge connector for labelstudio."""
