class Net(nn.Module):
    """The critic t: R^input_size -> R, three fully connected layers with ELU between them."""

    def __init__(self, input_size=2, hidden_size=100, sigma=0.02):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ELU(),
                                    nn.Linear(hidden_size, hidden_size), nn.ELU(),
                                    nn.Linear(hidden_size, 1))
        for module in self.layers:
            if isinstance(module, nn.Linear):
                with torch.no_grad():
                    module.weight.normal_(0.0, sigma)
                    module.bias.zero_()

    def forward(self, z):
        """t(z) for a batch z of shape (N, input_size); the result has shape (N, 1)."""
        return self.layers(z)


Net()
