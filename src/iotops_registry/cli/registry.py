import click
@click.group()
def registry() -> None:
    """Manage registry endpoints."""
