"""The eager PyTorch front-end: finds the layers of an ``nn.Module`` and feeds calibration
activations to the C++ observers through forward hooks (and, where a weight is used outside
its module's forward, a ``TorchFunctionMode``). Private: the public API is in ``qreport``."""
