            self.n_epoch = self.n_epoch + 1
            # sizes, permutations and batch sizes
            total, total_ref = len(self.Z), len(self.Z_ref)
            perm, perm_ref = torch.randperm(total), torch.randperm(total_ref)
            bs, bs_ref = total // k, total_ref // k
            for b in range(k):
                sel = perm[b * bs:(b + 1) * bs].to(self.device)
                sel_ref = perm_ref[b * bs_ref:(b + 1) * bs_ref].to(self.device)
                cost = -DV(self.Z[sel], self.Z_ref[sel_ref], self.net)
                self.optimizer.zero_grad()
                cost.backward()
                self.optimizer.step()
                self.n_iter = self.n_iter + 1
                self.writer.add_scalar(tag="Loss/train", scalar_value=cost.item(), global_step=self.n_iter)
            if self.held_out is None:
                ev, ev_ref = self.Z, self.Z_ref
            else:
                ev, ev_ref = self.held_out
            with torch.no_grad():  # no graph needed to evaluate
                estimate = float(DV(ev, ev_ref, self.net))
            self.writer.add_scalar(tag="Estimate", scalar_value=estimate, global_step=self.n_epoch)
