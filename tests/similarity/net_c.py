class Net(nn.Module):
    """The critic t: R^input_size -> R, three fully connected layers with ELU between them."""

    def __init__(self, input_size=2, hidden_size=100, sigma=0.02):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(sigma * torch.randn(hidden_size, input_size)),
                                         nn.Parameter(sigma * torch.randn(hidden_size, hidden_size)),
                                         nn.Parameter(sigma * torch.randn(1, hidden_size))])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(hidden_size)), nn.Parameter(torch.zeros(hidden_size)),
                                        nn.Parameter(torch.zeros(1))])

    def forward(self, z):
        """t(z) for a batch z of shape (N, input_size); the result has shape (N, 1)."""
        (w1, w2, w3), (b1, b2, b3) = self.weights, self.biases
        hidden = torch.where(z @ w1.T + b1 > 0, z @ w1.T + b1, torch.expm1(z @ w1.T + b1))
        hidden = torch.nn.functional.elu(hidden @ w2.T + b2)
        return hidden @ w3.T + b3


Net()
