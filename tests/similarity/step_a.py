            self.n_epoch += 1
            order = torch.randperm(self.Z.shape[0], device=self.device)
            order_ref = torch.randperm(self.Z_ref.shape[0], device=self.device)
            for chunk, chunk_ref in zip(order.chunk(k), order_ref.chunk(k)):
                self.optimizer.zero_grad()
                objective = DV(self.Z[chunk], self.Z_ref[chunk_ref], self.net)
                (-objective).backward()
                self.optimizer.step()
                self.n_iter += 1
                self.writer.add_scalar("Loss/train", -objective.item(), self.n_iter)
            with torch.no_grad():
                data = self.held_out or (self.Z, self.Z_ref)
                estimate = DV(data[0], data[1], self.net).item()
            self.writer.add_scalar("Estimate", estimate, self.n_epoch)
