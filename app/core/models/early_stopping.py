"""When to stop training, and what to tell the user about how it ended.

Early stopping never ends a run whose held-out accuracy is still at chance: BatchNorm backbones
(mindcv's MobileNetV3, ShuffleNetV2) sit at "all one class" for several epochs while their running
statistics settle, and stopping there hands back a useless model that looks finished
(docs/pipeline.md "No silent chance-level model").
"""
from __future__ import annotations

from dataclasses import dataclass, field

STOP_REASONS = ("epochs", "patience", "budget", "cancelled")
NEAR_CHANCE = 0.2  # "near chance": less than this fraction of the way from chance to 100 %


def chance_level(classes: int, majority_share: float = 0.0) -> float:
    """The held-out accuracy of a model that learnt nothing: a uniform guess, or always naming the
    largest class when the split is unbalanced."""
    return max(1.0 / max(1, classes), majority_share)


def near_chance(accuracy: float, chance: float) -> bool:
    return accuracy <= chance + NEAR_CHANCE * (1.0 - chance)


@dataclass
class EarlyStopping:
    patience: int = 5  # epochs without improvement before stopping; 0 = never stop early
    min_delta: float = 0.002  # an improvement smaller than this does not count (one image in 500)
    warmup: int = 0  # epochs not counted against patience (BatchNorm statistics still settling)
    chance: float = 0.0  # while the best accuracy is near this, patience never runs out
    best: float = field(default=float("-inf"), init=False)
    best_epoch: int = field(default=0, init=False)
    waited: int = field(default=0, init=False)

    def update(self, epoch: int, accuracy: float) -> bool:
        """Record one epoch's held-out accuracy; True when training should stop."""
        if accuracy > self.best + self.min_delta or self.best_epoch == 0:
            self.best, self.best_epoch, self.waited = max(accuracy, self.best), epoch, 0
            return False
        if epoch <= self.warmup:
            return False
        self.waited += 1
        return 0 < self.patience <= self.waited and not near_chance(self.best, self.chance)


DEFAULT_BUDGET_S = 50.0  # the default run's budget: a booth visitor waits about a minute
ADAPTIVE_LIMIT_S = 240.0  # ...which stretches up to this while the model is still getting better
IMPROVING = 0.01  # the last epochs beat every earlier one by this much: still learning
GOOD = 0.98  # a run the budget cut short below this is told so (the budget, not the data, set it)


RECENT = 2  # epochs: one noisy dip after a new best (40 held-out images) is not a plateau


def _recent_and_earlier(accuracies: list[float]) -> tuple[float, float]:
    """(best of the last RECENT epochs, best before them); with RECENT epochs or fewer, the first
    epoch is the "before"."""
    cut = max(1, len(accuracies) - RECENT)
    return max(accuracies[cut:]), max(accuracies[:cut])


def still_improving(accuracies: list[float]) -> bool:
    """One of the last RECENT epochs beat every earlier one by IMPROVING."""
    if len(accuracies) < 2:
        return False
    recent, earlier = _recent_and_earlier(accuracies)
    return recent >= earlier + IMPROVING


@dataclass
class TimeBudget:
    """A fixed budget (the user's --time-budget: stop after the epoch that passes it), or, by default
    (seconds None), an adaptive one: DEFAULT_BUDGET_S, extended epoch by epoch while the held-out
    accuracy still rises or is still at chance, never past ADAPTIVE_LIMIT_S. Why adaptive: a fixed
    50 s cut MNIST-5k at 88 % after 2 epochs when 4 more minutes gave 97 %; a budget that stops only
    when the curve flattens hands back the better model and costs nothing on data that learns fast."""
    seconds: float | None = None
    chance: float = 0.0
    extended: bool = field(default=False, init=False)

    @property
    def adaptive(self) -> bool:
        return self.seconds is None

    def exhausted(self, elapsed: float, epoch_seconds: float, accuracies: list[float]) -> bool:
        if not self.adaptive:
            return elapsed > self.seconds
        if elapsed + epoch_seconds > ADAPTIVE_LIMIT_S:  # the next epoch would pass the limit
            return True
        if elapsed <= DEFAULT_BUDGET_S:
            return False
        if still_improving(accuracies) or near_chance(max(accuracies), self.chance):
            self.extended = True
            return False
        return True

    def describe(self) -> dict:
        return {"seconds": DEFAULT_BUDGET_S if self.adaptive else self.seconds, "adaptive": self.adaptive,
                "limit": ADAPTIVE_LIMIT_S if self.adaptive else self.seconds, "extended": self.extended}


def _round_up(seconds: float, step: float = 10.0) -> int:
    return int(-(-seconds // step) * step)


def outcome_warnings(accuracies: list[float], epoch_seconds: list[float], stop_reason: str, epochs: int,
                     chance: float, classes: int, budget: TimeBudget) -> list[str]:
    """What the user must know about how the run ended, each with the one setting that would help:
    a final model at or near chance, or one still improving when the budget or the epochs cut it."""
    if not accuracies:
        return []
    final, done = accuracies[-1], len(accuracies)
    if stop_reason == "budget":
        # the budget that lets every configured epoch run: the first (graph compile included) and the
        # rest at the later epochs' pace, a fifth to spare for a busy machine
        later = sum(epoch_seconds[1:]) / (done - 1) if done > 1 else epoch_seconds[0]
        fix = f"--time-budget {_round_up((epoch_seconds[0] + later * (epochs - 1)) * 1.2)}"
        when = f"the time budget stopped training after {sum(epoch_seconds):.0f} s, {done} of {epochs} epochs"
    else:
        more = max(epochs * 2, done + 10)
        fix = f"--epochs {more}" if stop_reason == "epochs" else f"--patience 0 --epochs {more}"
        when = f"training ended after {done} epochs ({stop_reason})"
    warnings = []
    if near_chance(final, chance):
        warnings.append(f"held-out top-1 {final * 100:.1f} % is at chance level ({chance * 100:.0f} % for "
                        f"{classes} classes): the model has learnt nothing usable; {when}. "
                        f"Train longer: {fix}")
    elif still_improving(accuracies) and stop_reason in ("budget", "epochs"):
        recent, earlier = _recent_and_earlier(accuracies)
        warnings.append(f"held-out top-1 was still rising ({earlier * 100:.1f} → {recent * 100:.1f} %) "
                        f"when {when}: {fix} would give a better model")
    elif stop_reason == "budget" and final < GOOD:  # the budget, not the data, set the result
        warnings.append(f"held-out top-1 {final * 100:.1f} % (best {max(accuracies) * 100:.1f} %) when {when}: "
                        f"{fix} lets all {epochs} run")
    return warnings
