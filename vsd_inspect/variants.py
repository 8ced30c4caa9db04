"""The bug variants: each a realistic mistake in implementing the same method.

Each has its own buggy starter (`workspace/starters/<id>.py`); the reference fix and the
contract are the same for all. `caught_by` names the checks that fail on it.
"""

from dataclasses import dataclass

from vsd_inspect.constants import STARTERS_DIR


@dataclass(frozen=True)
class Variant:
    id: str
    mistake: str
    hint: str  # the easy prompt's pointer to where the bug is
    caught_by: str

    @property
    def starter(self) -> bytes:
        return (STARTERS_DIR / f"{self.id}.py").read_bytes()


VARIANTS: dict[str, Variant] = {
    v.id: v
    for v in (
        Variant(
            "scale_mean",
            "kept units scaled by 1/(1-p), standard (mean-preserving) dropout: Var(y) = Var(x)/(1-p)",
            "Look at how `scale` is computed in `forward`.",
            "sqrt check; visible variance ratio at every rate; hidden structure and variance",
        ),
        Variant(
            "keep_p",
            "the mask keeps a unit with probability p instead of 1-p",
            "Look at how the mask is drawn in `forward`: which probability does it keep a unit with?",
            "visible variance ratio at p=0.3 and 0.7; hidden dropped fraction, independence, variance",
        ),
        Variant(
            "eval_scaled",
            "the scale is applied in eval mode too, so eval is not the identity",
            "Look at what `forward` does when the layer is in eval mode or p = 0.",
            "visible eval-mode identity; hidden eval identity",
        ),
        Variant(
            "sqrt_p",
            "kept units scaled by 1/sqrt(p) instead of 1/sqrt(1-p)",
            "Look at how `scale` is computed in `forward`: which probability belongs under the root?",
            "visible variance ratio at p=0.3 and 0.7; hidden structure and variance",
        ),
    )
}
