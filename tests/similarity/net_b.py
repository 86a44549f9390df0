class Net(nn.Module):
    """The critic t: R^input_size -> R, three fully connected layers with ELU between them."""

    def __init__(self, input_size=2, hidden_size=100, sigma=0.02):
        super().__init__()
        sizes = [input_size, hidden_size, hidden_size, 1]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for lin in self.linears:
            nn.init.normal_(lin.weight, std=sigma)
            nn.init.constant_(lin.bias, 0.0)

    def forward(self, z):
        """t(z) for a batch z of shape (N, input_size); the result has shape (N, 1)."""
        h = z
        for i, lin in enumerate(self.linears):
            h = lin(h)
            if i < len(self.linears) - 1:
                h = nn.functional.elu(h)
        return h


Net()
