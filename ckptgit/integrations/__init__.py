"""Training callbacks over the Python API: Hugging Face Trainer and PyTorch Lightning.

Each is imported on its own (``ckptgit.integrations.transformers``,
``ckptgit.integrations.lightning``), so neither library is needed for the other.
"""
