"""The CLI's commands: each module adds its sub-commands with add_cli(subparsers) and prints with rich.
Nothing under app/core prints or parses arguments."""
from app.commands import bench, check, device, live, models, quantize, serve

COMMAND_MODULES = (check, models, quantize, live, serve, bench, device)
