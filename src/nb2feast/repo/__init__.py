"""The Feast repository made from the notebook: types, freezing, compiling, rendering,
writing, materializing, targets."""
