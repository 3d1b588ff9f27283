#!/usr/bin/env python3
"""ops_config_docs: docs/configuration.md documents every option of every service.

For `pavewatch <ingest|wear|gateway|simulate> --help` (PAVEWATCH_BINARY): every flag it prints
has a row, in the subcommand's section (`## pavewatch <subcommand>`) or in "Options of every
service", naming its environment variable PAVEWATCH_<FLAG> and its default as --help prints it
(in backticks; "—" when --help shows none). And the other way round: no row documents a flag the
subcommand does not have, and the "every service" rows are options of all four. Other
subcommands that `pavewatch --help` lists are checked the same way when the file has a section
for them, and named in a note when it has none. Standard library only."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import opslib  # noqa: E402

SUBCOMMANDS = ("ingest", "wear", "gateway", "simulate")
DOC = opslib.SOURCE_DIR / "docs" / "configuration.md"
COMMON = "common"


def help_options(binary, command):
    """{flag: default or None} as `pavewatch <command> --help` prints them."""
    proc = subprocess.run([binary, command, "--help"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"`pavewatch {command} --help` exited with {proc.returncode}: {proc.stderr.strip()}")
    options = {}
    for line in proc.stdout.splitlines()[1:]:
        m = re.match(r"^  --([a-z0-9-]+)( arg)?(?: \(=([^)]*)\))?(\s|$)", line)
        if m:
            options[m.group(1)] = m.group(3)
    if not options:
        raise RuntimeError(f"`pavewatch {command} --help` printed no option")
    return options


def all_subcommands(binary):
    """The commands `pavewatch --help` lists."""
    proc = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    names, listing = [], False
    for line in proc.stdout.splitlines():
        if line.strip() == "commands:":
            listing = True
            continue
        if listing:
            m = re.match(r"^  ([a-z][a-z0-9-]*)\s", line)
            if not m:
                break
            names.append(m.group(1))
    return names


def documented():
    """{section: {flag: (env cell, default cell, line number)}}; section is a subcommand or COMMON."""
    sections = {}
    section = None
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        h = re.match(r"^##\s+(.*)$", line)
        if h:
            title = h.group(1).strip()
            m = re.fullmatch(r"pavewatch (\w+)", title)
            if m:
                section = m.group(1)
            elif "every service" in title.lower():
                section = COMMON
            else:
                section = None
            continue
        if section is None or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`--([a-z0-9-]+)`", cells[0]) if cells else None
        if not m:
            continue
        rows = sections.setdefault(section, {})
        if m.group(1) in rows:
            rows[m.group(1)] = ("duplicate", "", number)
        else:
            rows[m.group(1)] = (cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else "", number)
    return sections


def main():
    failures = opslib.Failures("ops_config_docs")
    binary = os.environ.get("PAVEWATCH_BINARY", "")
    if not (binary and os.access(binary, os.X_OK)):
        print(f"PAVEWATCH_BINARY {binary!r} is not an executable pavewatch binary", file=sys.stderr)
        return 1
    docs = documented()
    extra = [c for c in all_subcommands(binary) if c not in SUBCOMMANDS]
    commands = list(SUBCOMMANDS) + [c for c in extra if c in docs]
    for c in extra:
        if c not in docs:
            print(f"note: `pavewatch {c}` has no section in {DOC.name} (not required; add one to document it)")
    helps = {c: help_options(binary, c) for c in commands}
    common = docs.get(COMMON, {})
    if not common:
        failures.add(DOC.name, 'no "Options of every service" table')
    for flag, (env, default, line) in sorted(common.items()):
        missing = [c for c in SUBCOMMANDS if flag not in helps[c]]
        if missing:
            failures.add(f"{DOC.name}:{line}", f"--{flag} is listed for every service but {', '.join(missing)} lack(s) it")
    checked = 0
    for command in commands:
        own = docs.get(command, {})
        for flag, default in helps[command].items():
            checked += 1
            where = f"pavewatch {command} --{flag}"
            if flag in own and flag in common:
                failures.add(where, "documented both for every service and for the subcommand")
            row = own.get(flag) or common.get(flag)
            if row is None:
                failures.add(where, f"not documented in {DOC.name} (section `## pavewatch {command}` or the options of every service)")
                continue
            env, cell, line = row
            if env == "duplicate":
                failures.add(f"{DOC.name}:{line}", f"--{flag} has two rows in one section")
                continue
            expected_env = "—" if flag == "help" else "`PAVEWATCH_" + flag.upper().replace("-", "_") + "`"
            if env != expected_env:
                failures.add(f"{DOC.name}:{line}", f"--{flag}: environment variable cell is {env!r}, expected {expected_env!r}")
            if default is None:
                if not cell.startswith("—"):
                    failures.add(f"{DOC.name}:{line}", f"--{flag}: --help shows no default, the cell should start with '—' (is {cell!r})")
            elif f"`{default}`" not in cell:
                failures.add(f"{DOC.name}:{line}", f"--{flag}: default cell {cell!r} lacks `{default}` (what `pavewatch {command} --help` prints)")
        for flag, (_, _, line) in sorted(own.items()):
            if flag not in helps[command]:
                failures.add(f"{DOC.name}:{line}", f"documents --{flag}, which `pavewatch {command}` does not have")
    for section in docs:
        if section not in commands and section != COMMON:
            failures.add(DOC.name, f"section `## pavewatch {section}` names no subcommand")
    return failures.finish(f"{checked} flags of {len(commands)} subcommands documented")


if __name__ == "__main__":
    sys.exit(main())
