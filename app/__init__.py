"""Edge Studio: cloud → edge → device deployment of neural networks on MindSpore."""
__version__ = "0.1.0"
