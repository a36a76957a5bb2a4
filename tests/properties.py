"""Example budgets for property tests, scaled from the HYPOTHESIS_PROFILE (see conftest)."""

import hypothesis


def examples(fraction: float = 1.0) -> hypothesis.settings:
    """Run `fraction` of the profile's examples: slow properties run fewer than fast ones."""
    budget = hypothesis.settings.default.max_examples
    return hypothesis.settings(max_examples=max(10, round(budget * fraction)))
