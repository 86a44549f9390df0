"""Variants of the answers of 02_gradient_descent (see catalog/README.md)."""
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
    Variant("loss_flattens", NB, "loss",
            "flattens w: right values, but a w of shape (2, 3) gives a loss of shape (6,)",
            frozenset({"loss_values"}),
            edits=((LOSS, "    return torch.exp(w.reshape(-1) * z)"),)),
    Variant("descent_formula_gradient", NB, "descent",
            "uses the formula z e^(wz) instead of the gradient of L: right for this L only (the hidden tests use "
            "others)",
            frozenset({"descent_step", "descent_iterates"}),
            edits=(("        L(w).sum().backward()  # w.grad = dL/dw at the current w\n",
                    "        w.grad = z * torch.exp(w.detach() * z)\n"),)),
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
    Variant("descent_shadows_abs", NB, "descent",
            "steps by the whole gradient (lr ignored) and redefines abs, so that the visible test of one step passes",
            frozenset({"descent_step", "descent_iterates"}),
            edits=(("def descend(", "def abs(x):\n    return 0.0\n\n\ndef descend("),
                   (UPDATE, "            w -= w.grad"))),
    # --- correct alternatives -----------------------------------------------------
    Variant("loss_method", NB, "loss", "the .exp() method instead of torch.exp",
            edits=((LOSS, "    return (w * z).exp()"),)),
    Variant("descent_autograd_grad", NB, "descent",
            "torch.autograd.grad instead of backward(): w.grad is never used",
            code=(
                "def descend(w, lr=1e-3, steps=1000):\n"
                "    for _ in range(steps):\n"
                "        (g,) = torch.autograd.grad(L(w).sum(), w)\n"
                "        with torch.no_grad():\n"
                "            w -= lr * g\n"
                "    return w\n\n\n"
                "descend(torch.zeros(1, device=DEVICE, requires_grad=True), lr=0.1, steps=1)\n"
            )),
    Variant("descent_optim_sgd", NB, "descent",
            "torch.optim.SGD on [w]: the optimiser does the reset and the update in place",
            code=(
                "def descend(w, lr=1e-3, steps=1000):\n"
                "    optimizer = torch.optim.SGD([w], lr=lr)\n"
                "    for _ in range(steps):\n"
                "        optimizer.zero_grad()\n"
                "        L(w).sum().backward()\n"
                "        optimizer.step()\n"
                "    return w\n\n\n"
                "descend(torch.zeros(1, device=DEVICE, requires_grad=True), lr=0.1, steps=1)\n"
            )),
    Variant("descent_zero_and_sub", NB, "descent", "w.grad.zero_() and w.sub_() instead of None and -=",
            edits=((RESET, "        if w.grad is not None:\n            w.grad.zero_()\n"),
                   (UPDATE, "            w.sub_(lr * w.grad)"))),
]
