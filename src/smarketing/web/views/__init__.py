"""The app's pages, one module per area; each view parses input, calls an action or selector, renders."""
