"""Train a small MLP on scikit-learn's 8x8 digits with the plain PyTorch-style loop (no Trainer).

    python examples/mlp_digits.py
"""

import nerve
from nerve import nn
from nerve.data import DataLoader, random_split
from nerve.datasets import Digits

nerve.manual_seed(0)
train, test = random_split(Digits(), [0.8, 0.2], generator=nerve.Generator(0))
loader = DataLoader(train, batch_size=32, shuffle=True)

model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = nerve.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()

for _ in range(20):
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

model.eval()
with nerve.no_grad():
    x, y = next(iter(DataLoader(test, batch_size=len(test))))
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
print(f"test accuracy: {accuracy:.3f}")
