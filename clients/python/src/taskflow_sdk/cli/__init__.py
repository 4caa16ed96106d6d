"""`taskflow`, the command-line client (typer + rich) built on the SDK."""
