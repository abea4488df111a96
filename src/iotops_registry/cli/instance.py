import click
@click.group()
def instance() -> None:
    """Manage instances."""
