"""What the model eats: tokenizers, packing and masking, on NumPy alone (no backend tensors)."""
