            self.n_epoch += 1
            shuffled = self.Z[torch.randperm(len(self.Z), device=self.device)]
            shuffled_ref = self.Z_ref[torch.randperm(len(self.Z_ref), device=self.device)]
            for Z_b, Z_ref_b in zip(torch.tensor_split(shuffled, k), torch.tensor_split(shuffled_ref, k)):
                value = DV(Z_b, Z_ref_b, self.net)
                self.optimizer.zero_grad(set_to_none=True)
                (-value).backward()
                self.optimizer.step()
                self.n_iter += 1
                self.writer.add_scalar("Loss/train", -value.detach().item(), global_step=self.n_iter)
            Z_e, Z_ref_e = self.held_out if self.held_out else (self.Z, self.Z_ref)
            with torch.no_grad():
                estimate = DV(Z_e, Z_ref_e, self.net).item()
            self.writer.add_scalar("Estimate", estimate, global_step=self.n_epoch)
