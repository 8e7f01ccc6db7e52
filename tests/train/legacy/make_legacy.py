"""How these model files were made, with anyprop 0.1.0 before issue 10 (kept for the record:
the files must go on loading; this script is not run by the tests).
"""

import numpy as np

from anyprop import Network, datasets
from anyprop.nn.unitgraph import UnitGraph
from anyprop.train import Trainer
from anyprop.train.model_io import save_model


def main() -> None:
    out = "tests/train/legacy/"
    # a unit graph, trained a few epochs (with trainer state)
    g = UnitGraph(
        [(0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (3, 4), (2, 4)],
        transfer={"default": "sigmoid", 2: "tanh"},
        seed=3,
        outputs=[4, 3],
    )
    xor = datasets.load("xor")
    tr = Trainer(g, "sgd", lr=0.3, momentum=0.9, seed=0)
    y = np.stack([xor.y.reshape(-1), xor.y.reshape(-1)], axis=1).astype(float)
    tr.fit((xor.x, y), 7)
    save_model(out + "units.anyprop", g, trainer=tr, task="regression")
    x = xor.x.astype(np.float64)
    np.save(out + "units_x.npy", x)
    np.save(out + "units_out.npy", g.forward(x))

    # sparse pairs given out of target-major order, with explicit weights
    net = Network(seed=1, dtype="float64")
    net.add_input("x", 3)
    net.add_group("h", 2, transfer="tanh")
    net.add_output("y", 1, transfer="sigmoid", loss="mse")
    pairs = [
        (2, 1),
        (0, 0),
        (1, 1),
        (2, 0),
    ]  # (source, target); CSR order is (0,0),(2,0),(1,1),(2,1)
    net.connect("x", "h", "sparse", pairs=pairs, weights=[0.1, 0.2, 0.3, 0.4])
    net.connect("h", "y")
    tr = Trainer(net, "adam", lr=0.05, seed=0)
    tr.fit((xor.x[:, [0, 1, 0]].astype(float), xor.y), 5)
    save_model(out + "sparse.anyprop", net, trainer=tr, task="binary")
    x3 = xor.x[:, [0, 1, 0]].astype(np.float64)
    np.save(out + "sparse_x.npy", x3)
    np.save(out + "sparse_out.npy", net.forward(x3))
    print(net.params["x->h.weight"])


if __name__ == "__main__":
    main()
