"""Variants of the answers of 05_trainer (see catalog/README.md)."""
from course.examples import Variant

V = Variant
NB = "05_trainer"
VARIANTS = [
    # --- wrong answers --------------------------------------------------------------
    V("trainer_batch_by_epoch", NB, "trainer",
      "ERRATA #8: batches indexed with the epoch counter, so an epoch repeats one batch",
      frozenset({"trainer_batches"}),
      edits=(("        for _ in range(epochs):\n", "        for i in range(epochs):\n"),
             ("idx[j::k], idx_ref[j::k]", "idx[i::k], idx_ref[i::k]"))),
    V("trainer_estimate_on_globals", NB, "trainer",
      "ERRATA #9: the estimate uses the notebook's Z, Z_ref instead of the trainer's data",
      frozenset({"trainer_estimate"}),
      edits=(("estimate = DV(Z_eval, Z_ref_eval, self.net).item()", "estimate = DV(Z, Z_ref, self.net).item()"),)),
    V("trainer_loss_at_epoch_step", NB, "trainer",
      "ERRATA #11: every iteration's loss logged at the epoch's step",
      frozenset({"trainer_logging"}),
      edits=(('"Loss/train", value, global_step=self.n_iter)', '"Loss/train", value, global_step=self.n_epoch)'),)),
    V("trainer_in_sample_estimate", NB, "trainer",
      "reports the estimate on the training samples even when held-out samples are given",
      frozenset({"trainer_estimate"}),
      edits=(("Z_eval, Z_ref_eval = self.held_out if self.held_out is not None else (self.Z, self.Z_ref)",
              "Z_eval, Z_ref_eval = self.Z, self.Z_ref"),)),
    V("trainer_never_steps", NB, "trainer",
      "computes the gradients but never calls optimizer.step(): the network never learns",
      frozenset({"trainer_steps", "trainer_accuracy"}),
      edits=(("                self.optimizer.step()\n", ""),)),
    V("trainer_never_zeroes", NB, "trainer",
      "never resets the gradients, so each step uses the sum of all earlier gradients",
      frozenset({"trainer_steps"}),
      edits=(("                self.optimizer.zero_grad()\n", ""),),
      maybe=frozenset({"trainer_accuracy"})),  # summed gradients still train now and then
    V("trainer_hard_coded", NB, "trainer",
      "returns the closed form for the notebook's rho instead of an estimate",
      frozenset({"trainer_estimate", "trainer_accuracy"}),
      edits=(("estimate = DV(Z_eval, Z_ref_eval, self.net).item()", "estimate = -0.5 * math.log(1 - rho**2)"),)),
    V("trainer_drops_remainder", NB, "trainer",
      "contiguous batches of n // k samples: when k does not divide n, the last samples are never used",
      frozenset({"trainer_batches"}),
      edits=(("idx[j::k], idx_ref[j::k]",
              "idx[j * (len(idx) // k):(j + 1) * (len(idx) // k)], "
              "idx_ref[j * (len(idx_ref) // k):(j + 1) * (len(idx_ref) // k)]"),)),
    V("trainer_logs_dv", NB, "trainer",
      "logs the batch's DV (the negative loss) as \"Loss/train\"",
      frozenset({"trainer_logging"}),
      edits=(('"Loss/train", value, global_step=self.n_iter)', '"Loss/train", -value, global_step=self.n_iter)'),)),
    V("trainer_ignores_optimizer_kwargs", NB, "trainer",
      "builds Adam without the keyword arguments it was given: lr=... never reaches the optimiser",
      frozenset({"trainer_steps"}),
      edits=(("        self.optimizer = torch.optim.Adam(net.parameters(), **optimizer_kwargs)\n",
              "        self.optimizer = torch.optim.Adam(net.parameters())\n"),),
      maybe=frozenset({"trainer_accuracy"})),  # Adam's default lr still trains, a little slower
    # --- correct alternatives -----------------------------------------------------------
    V("trainer_chunked_batches", NB, "trainer",
      "contiguous batches idx.chunk(k)[j] instead of strided ones idx[j::k]",
      edits=(("idx[j::k], idx_ref[j::k]", "idx.chunk(k)[j], idx_ref.chunk(k)[j]"),)),
    V("trainer_dataloader", NB, "trainer",
      "batches from two shuffling DataLoaders over the indices (ceil(n / k) per batch), instead of randperm",
      edits=(("            idx = torch.randperm(len(self.Z), device=self.device)\n"
              "            idx_ref = torch.randperm(len(self.Z_ref), device=self.device)\n",
              "            loaders = [torch.utils.data.DataLoader(range(len(s)), batch_size=-(-len(s) // k), shuffle=True)\n"
              "                       for s in (self.Z, self.Z_ref)]\n"),
             ("            for j in range(k):\n"
              "                batch, batch_ref = idx[j::k], idx_ref[j::k]  # batch j of this epoch\n",
              "            for j, (batch, batch_ref) in enumerate(zip(*loaders)):\n"))),
    V("trainer_float_loss", NB, "trainer",
      "logs float(loss) at every step: PyTorch warns on stderr (a tensor that requires grad), which costs nothing",
      edits=(("            losses = torch.empty(k, device=self.device)  # stays on the device: no sync per step\n", ""),
             ("                losses[j] = loss.detach()\n",
              "                self.n_iter += 1\n"
              "                self.writer.add_scalar(\"Loss/train\", float(loss), global_step=self.n_iter)\n"),
             ("            for value in losses.tolist():  # one copy to the CPU per epoch\n"
              "                self.n_iter += 1\n"
              "                self.writer.add_scalar(\"Loss/train\", value, global_step=self.n_iter)\n", ""))),
    V("trainer_item_every_step", NB, "trainer",
      "logs loss.item() at every step (a sync per step: correct; notebook 05 measures what it costs)",
      edits=(("            losses = torch.empty(k, device=self.device)  # stays on the device: no sync per step\n", ""),
             ("                losses[j] = loss.detach()\n",
              "                self.n_iter += 1\n"
              "                self.writer.add_scalar(\"Loss/train\", loss.item(), global_step=self.n_iter)\n"),
             ("            for value in losses.tolist():  # one copy to the CPU per epoch\n"
              "                self.n_iter += 1\n"
              "                self.writer.add_scalar(\"Loss/train\", value, global_step=self.n_iter)\n", ""))),
]
