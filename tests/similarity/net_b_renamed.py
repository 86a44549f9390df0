class Net(nn.Module):
    """The critic t: R^input_size -> R, three fully connected layers with ELU between them."""

    def __init__(self, input_size=2, hidden_size=100, sigma=0.02):
        super().__init__()
        # widths of the layers, in order
        widths = [input_size, hidden_size, hidden_size, 1]
        self.stack = nn.ModuleList(nn.Linear(w_in, w_out) for w_in, w_out in zip(widths[:-1], widths[1:]))
        for layer in self.stack:
            nn.init.normal_(layer.weight, std=sigma)  # small random weights
            nn.init.constant_(layer.bias, 0.0)

    def forward(self, z):
        """t(z) for a batch z of shape (N, input_size); the result has shape (N, 1)."""
        out = z
        for k, layer in enumerate(self.stack):
            out = layer(out)
            if k < len(self.stack) - 1:
                out = nn.functional.elu(out)
        return out


Net()
