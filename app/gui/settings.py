"""Settings (last model, camera, tier choices, window geometry) in the user config dir, written
atomically whenever one changes."""
from __future__ import annotations

import json
from pathlib import Path

import platformdirs

from app.core.files import write_json


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(platformdirs.user_config_dir("edge-studio")) / "settings.json"
        try:
            self.data = json.loads(self.path.read_text())
            if not isinstance(self.data, dict):
                self.data = {}
        except (OSError, ValueError):
            self.data = {}  # missing or corrupt settings: start from defaults

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def set(self, key: str, value) -> None:
        """Remember `value` now (an atomic write): a crash must not forget the trained model."""
        if self.data.get(key, object()) != value:
            self.data[key] = value
            self.save()

    def save(self) -> None:
        try:
            write_json(self.path, self.data)
        except OSError:
            pass  # a read-only config dir must not stop the app
