            self.n_epoch = self.n_epoch + 1
            n, n_ref = len(self.Z), len(self.Z_ref)
            p, p_ref = torch.randperm(n), torch.randperm(n_ref)
            size, size_ref = n // k, n_ref // k
            for it in range(k):
                rows = p[it * size:(it + 1) * size].to(self.device)
                rows_ref = p_ref[it * size_ref:(it + 1) * size_ref].to(self.device)
                loss = -DV(self.Z[rows], self.Z_ref[rows_ref], self.net)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                self.n_iter = self.n_iter + 1
                self.writer.add_scalar(tag="Loss/train", scalar_value=loss.item(), global_step=self.n_iter)
            if self.held_out is None:
                test_z, test_ref = self.Z, self.Z_ref
            else:
                test_z, test_ref = self.held_out
            with torch.no_grad():
                estimate = float(DV(test_z, test_ref, self.net))
            self.writer.add_scalar(tag="Estimate", scalar_value=estimate, global_step=self.n_epoch)
