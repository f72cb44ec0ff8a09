"""The base of every `obmin` command: bad input ends in one line on stderr and a non-zero exit.

Operators' scripts rely on that (contract §6). Django's own parser prints the whole usage before
an argument error; this one prints `obmin <command>: error: <reason>` alone.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser


class OneLineErrorParser(CommandParser):
    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message}\n")
        raise CommandError(f"Error: {message}")


class ObminCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Subcommands (`obmin partner create ...`) were made by add_arguments inside
        # create_parser; they get the same one-line errors.
        pending = [parser]
        while pending:
            current = pending.pop()
            current.__class__ = OneLineErrorParser
            for action in current._actions:
                if isinstance(action, argparse._SubParsersAction):
                    pending.extend(action.choices.values())
        return parser
