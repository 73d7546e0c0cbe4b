"""Models, CTC loss and decoding, metrics, fitting and evaluation of text recognizers on synth data."""
