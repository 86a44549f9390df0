"""Variants of the answers of 03_network (see catalog/README.md)."""
from course.examples import Variant

V = Variant
NB = "03_network"

# The course's answer, for the variants that rewrite the whole cell.
_HEAD = '''class Net(nn.Module):
    """The critic t: R^input_size -> R, three fully connected layers with ELU between them."""

    def __init__(self, input_size=2, hidden_size=100, sigma=0.02):
        super().__init__()
'''
_CALL = "\n\nNet()\n"

_INIT_LOOP = (
    "        for layer in (self.fc1, self.fc2, self.fc3):\n"
    "            nn.init.normal_(layer.weight, mean=0.0, std=sigma)\n"
    "            nn.init.zeros_(layer.bias)\n"
)

VARIANTS = [
    # --- wrong: the activation ----------------------------------------------------
    V("net_relu", NB, "net", "ReLU instead of ELU after fc1 and fc2",
      frozenset({"activation"}),
      edits=(("a1 = F.elu(self.fc1(z))", "a1 = F.relu(self.fc1(z))"),
             ("a2 = F.elu(self.fc2(a1))", "a2 = F.relu(self.fc2(a1))"))),
    V("net_tanh", NB, "net", "tanh instead of ELU",
      frozenset({"activation"}),
      edits=(("a1 = F.elu(self.fc1(z))", "a1 = torch.tanh(self.fc1(z))"),
             ("a2 = F.elu(self.fc2(a1))", "a2 = torch.tanh(self.fc2(a1))"))),
    V("net_no_activation_after_fc2", NB, "net", "forgets the ELU after fc2",
      frozenset({"activation"}),
      edits=(("a2 = F.elu(self.fc2(a1))", "a2 = self.fc2(a1)"),)),
    V("net_activation_after_fc3", NB, "net", "an ELU after the output layer too: t can no longer go below -1",
      frozenset({"activation"}),
      edits=(("return self.fc3(a2)", "return F.elu(self.fc3(a2))"),)),
    # --- wrong: the initialisation ------------------------------------------------
    V("net_default_init", NB, "net", "keeps PyTorch's default initialisation (uniform weights, nonzero biases)",
      frozenset({"initialisation"}),
      edits=((_INIT_LOOP, ""),)),
    V("net_std_sigma_squared", NB, "net", "passes sigma**2 as the standard deviation (confuses variance and sd)",
      frozenset({"initialisation"}),
      edits=(("std=sigma)", "std=sigma**2)"),)),
    V("net_std_fixed", NB, "net", "hard-codes std=0.02 and ignores the sigma argument",
      frozenset({"initialisation"}),
      edits=(("std=sigma)", "std=0.02)"),)),
    V("net_biases_not_zeroed", NB, "net", "draws the weights but leaves the default (nonzero) biases",
      frozenset({"initialisation"}),
      edits=(("            nn.init.zeros_(layer.bias)\n", ""),)),
    V("net_uniform_weights", NB, "net", "uniform weights with the right sd, not normal ones",
      frozenset({"initialisation"}),
      edits=(("nn.init.normal_(layer.weight, mean=0.0, std=sigma)",
              "nn.init.uniform_(layer.weight, -sigma * 3**0.5, sigma * 3**0.5)"),)),
    V("net_fc3_not_initialised", NB, "net", "initialises fc1 and fc2 only; fc3 keeps PyTorch's default",
      frozenset({"initialisation"}),
      edits=(("for layer in (self.fc1, self.fc2, self.fc3):", "for layer in (self.fc1, self.fc2):"),)),
    # --- wrong: the structure -----------------------------------------------------
    V("net_hidden_size_ignored", NB, "net", "hard-codes 100 hidden units and ignores hidden_size",
      frozenset({"structure"}),
      edits=(("self.fc1 = nn.Linear(input_size, hidden_size)", "self.fc1 = nn.Linear(input_size, 100)"),
             ("self.fc2 = nn.Linear(hidden_size, hidden_size)", "self.fc2 = nn.Linear(100, 100)"),
             ("self.fc3 = nn.Linear(hidden_size, 1)", "self.fc3 = nn.Linear(100, 1)"))),
    V("net_input_size_ignored", NB, "net", "hard-codes 2 inputs and ignores input_size",
      frozenset({"structure"}),
      edits=(("self.fc1 = nn.Linear(input_size, hidden_size)", "self.fc1 = nn.Linear(2, hidden_size)"),)),
    V("net_flat_output", NB, "net", "returns shape (N,) instead of (N, 1)",
      frozenset({"structure"}),
      edits=(("return self.fc3(a2)", "return self.fc3(a2).squeeze(1)"),)),
    # --- correct alternatives -----------------------------------------------------
    V("net_elu_modules", NB, "net", "nn.ELU modules instead of F.elu",
      edits=((_INIT_LOOP, _INIT_LOOP + "        self.act = nn.ELU()\n"),
             ("a1 = F.elu(self.fc1(z))", "a1 = self.act(self.fc1(z))"),
             ("a2 = F.elu(self.fc2(a1))", "a2 = self.act(self.fc2(a1))"))),
    V("net_sequential", NB, "net", "an nn.Sequential that shares the fc1..fc3 layers, init by .data",
      code=_HEAD + '''        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, hidden_size)
        self.fc3 = nn.Linear(hidden_size, 1)
        self.body = nn.Sequential(self.fc1, nn.ELU(), self.fc2, nn.ELU(), self.fc3)
        for module in self.body:
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(0, sigma)
                module.bias.data.zero_()

    def forward(self, z):
        """t(z) for a batch z of shape (N, input_size); the result has shape (N, 1)."""
        return self.body(z)
''' + _CALL),
    V("net_spelled_out", NB, "net", "each layer initialised on its own line, torch.no_grad and randn * sigma",
      edits=((_INIT_LOOP,
              "        with torch.no_grad():\n"
              "            self.fc1.weight.copy_(torch.randn(hidden_size, input_size) * sigma)\n"
              "            self.fc2.weight.copy_(torch.randn(hidden_size, hidden_size) * sigma)\n"
              "            self.fc3.weight.copy_(torch.randn(1, hidden_size) * sigma)\n"
              "            self.fc1.bias.zero_()\n"
              "            self.fc2.bias.zero_()\n"
              "            self.fc3.bias.fill_(0.0)\n"),)),
]
