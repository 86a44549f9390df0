"""Variants of the answers of 02_gradient_descent (see tests/catalog/README.md)."""
from course.examples import Variant

NB = "02_gradient_descent"
LOSS = "    return torch.exp(w * z)"
RESET = "        w.grad = None  # forget the previous step's gradient\n"
UPDATE = "            w -= lr * w.grad"

VARIANTS = [
    # --- wrong answers ---------------------------------------------------------------
    Variant("loss_through_numpy", NB, "loss",
            "computes e^(wz) in NumPy: right values, but the graph to w is lost (descend cannot work either)",
            frozenset({"loss_gradient", "descent_step"}),
            edits=((LOSS, "    return torch.from_numpy(np.exp(w.detach().cpu().numpy() * z.item()))"),)),
    Variant("loss_wrong_sign", NB, "loss",
            "e^(-wz): the loss of the opposite z",
            frozenset({"loss_values", "loss_gradient", "descent_step"}),
            edits=((LOSS, "    return torch.exp(-w * z)"),)),
    Variant("loss_summed", NB, "loss",
            "returns the sum of e^(wz): a scalar, not elementwise",
            frozenset({"loss_values"}),
            edits=((LOSS, "    return torch.exp(w * z).sum()"),)),
    Variant("descent_keeps_gradient", NB, "descent",
            "never resets w.grad, so gradients of all earlier steps accumulate",
            frozenset({"descent_iterates"}),
            edits=((RESET, ""),)),
    Variant("descent_rebinds_w", NB, "descent",
            "w = (w - lr * w.grad).detach().requires_grad_(): right numbers, but the caller's tensor never moves",
            frozenset({"descent_in_place"}),
            edits=((UPDATE, "            w = (w - lr * w.grad).detach().requires_grad_()"),)),
    Variant("descent_outside_no_grad", NB, "descent",
            "w = w - lr * w.grad outside no_grad: w stops being a leaf and its gradient is lost",
            frozenset({"descent_iterates", "descent_in_place"}),
            edits=(("        with torch.no_grad():  # the update is not part of the graph\n" + UPDATE,
                    "        w = w - lr * w.grad"),)),
    Variant("descent_ascends", NB, "descent",
            "w += lr * w.grad: climbs the loss instead of descending",
            frozenset({"descent_step", "descent_iterates"}),
            edits=((UPDATE, "            w += lr * w.grad"),)),
    # --- correct alternatives -----------------------------------------------------
    Variant("loss_method", NB, "loss", "the .exp() method instead of torch.exp",
            edits=((LOSS, "    return (w * z).exp()"),)),
    Variant("descent_zero_and_sub", NB, "descent", "w.grad.zero_() and w.sub_() instead of None and -=",
            edits=((RESET, "        if w.grad is not None:\n            w.grad.zero_()\n"),
                   (UPDATE, "            w.sub_(lr * w.grad)"))),
]
