import torch


def dropout(x, p=0.5, training=True):
    torch._run("dropout", x.n)
    return torch.Tensor(x.n)
