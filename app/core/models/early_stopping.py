"""Stop training when the held-out accuracy has stopped improving."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EarlyStopping:
    patience: int = 5  # epochs without improvement before stopping; 0 = never stop early
    min_delta: float = 0.002  # an improvement smaller than this does not count (one image in 500)
    best: float = field(default=float("-inf"), init=False)
    best_epoch: int = field(default=0, init=False)
    waited: int = field(default=0, init=False)

    def update(self, epoch: int, accuracy: float) -> bool:
        """Record one epoch's held-out accuracy; True when training should stop."""
        if accuracy > self.best + self.min_delta or self.best_epoch == 0:
            self.best, self.best_epoch, self.waited = max(accuracy, self.best), epoch, 0
            return False
        self.waited += 1
        return 0 < self.patience <= self.waited
