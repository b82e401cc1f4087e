"""label-bridge connector for labelbox."""
