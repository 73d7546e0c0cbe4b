"""Data package: the bundled fonts, shipped in the wheel as `synth_fonts` (found through synth/bundled.py)."""
