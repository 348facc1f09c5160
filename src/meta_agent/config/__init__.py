"""Configuration: one validated ``Settings`` object, and where credentials come from."""

from meta_agent.config.settings import Settings, data_dir, load_settings

__all__ = ["Settings", "data_dir", "load_settings"]
