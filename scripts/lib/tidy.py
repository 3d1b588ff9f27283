#!/usr/bin/env python3
"""clang-tidy over PaveWatch's own sources, with a cache of the files found clean.

A translation unit is checked again only when something that decides its findings changed: its
source, any of the project's headers it reaches (quoted includes, followed transitively), its
compile flags, the .clang-tidy files that apply to it (the root's and any in the folders
between), the clang-tidy version, or the versions of the library packages whose headers it
reads. Keys hold no absolute path, so a fresh clone reuses the cache.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

INCLUDE = re.compile(rb'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
# Besides scripts/packages.txt: the packages that hold the compiler's and clang's own headers.
TOOLCHAIN_PACKAGES = ["libclang-common-14-dev", "g++-12", "libstdc++-12-dev"]


def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def environment_key(root):
    tidy = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True).stdout
    with open(os.path.join(root, "scripts", "packages.txt")) as f:
        packages = [l.split("#")[0].strip() for l in f]
    packages = [p for p in packages if p] + TOOLCHAIN_PACKAGES
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}=${Version}\\n", *packages],
        capture_output=True, text=True,
    ).stdout
    with open(os.path.join(root, ".clang-tidy"), "rb") as f:
        config = f.read()
    return sha(tidy, dpkg, config)


class Headers:
    """The project files a source reaches through quoted includes, each file read once."""

    def __init__(self):
        self.files = {}  # path -> (its bytes, the names it includes in quotes)

    def read(self, path):
        if path not in self.files:
            with open(path, "rb") as f:
                text = f.read()
            self.files[path] = (text, [n.decode() for n in INCLUDE.findall(text)])
        return self.files[path]

    def reached(self, source, include_dirs):
        """Path -> bytes of the source and every project file it includes, transitively."""
        seen = {}
        stack = [source]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            text, names = self.read(path)
            seen[path] = text
            for name in names:
                for base in [os.path.dirname(path), *include_dirs]:
                    candidate = os.path.normpath(os.path.join(base, name))
                    if os.path.isfile(candidate):
                        stack.append(candidate)
                        break
        return seen


def unit_key(entry, root, build, env_key, headers):
    args = entry.get("arguments") or shlex.split(entry["command"])
    flags = []
    include_dirs = []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a.startswith("-I") and len(a) > 2:
            include_dirs.append(a[2:])
        if a in ("-I", "-isystem") and i + 1 < len(args):
            include_dirs.append(args[i + 1])
        flags.append(a.replace(build, "<build>").replace(root, "<root>"))
    flags = flags[1:]  # the compiler's own path
    include_dirs = [d for d in include_dirs if os.path.abspath(d).startswith(root + os.sep)]
    reached = headers.reached(entry["file"], include_dirs)
    parts = [env_key, " ".join(flags)]
    for path in sorted(reached):
        parts += [os.path.relpath(path, root), reached[path]]
    # The nested configurations (tests/.clang-tidy, bench/.clang-tidy) between the source and
    # the root, whose own configuration is in env_key.
    folder = os.path.dirname(entry["file"])
    while folder.startswith(root + os.sep):
        config = os.path.join(folder, ".clang-tidy")
        if os.path.isfile(config):
            with open(config, "rb") as f:
                parts += [os.path.relpath(config, root), f.read()]
        folder = os.path.dirname(folder)
    return sha(*parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True, help="the folder holding compile_commands.json")
    ap.add_argument("--cache", required=True, help="where the clean files' keys are kept")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--under", nargs="+", default=["pipeline", "state", "services", "tests", "bench"]
    )
    ap.add_argument("files", nargs="*", help="only these sources (paths from the root)")
    a = ap.parse_args()
    root = os.path.realpath(a.root)
    build = os.path.realpath(a.build)
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    wanted = {os.path.normpath(os.path.join(root, p)) for p in a.files}
    units = []
    for e in entries:
        path = os.path.realpath(os.path.join(e.get("directory", ""), e["file"]))
        rel = os.path.relpath(path, root)
        e["file"] = path
        if wanted and path not in wanted:
            continue
        if not wanted and not any(rel.startswith(u + os.sep) for u in a.under):
            continue
        units.append((rel, e))
    if not units:
        print("tidy: no source to check", file=sys.stderr)
        return 2
    os.makedirs(a.cache, exist_ok=True)
    env_key = environment_key(root)
    headers = Headers()
    todo = []
    cached = 0
    for rel, e in sorted(units, key=lambda u: u[0]):
        key = unit_key(e, root, build, env_key, headers)
        marker = os.path.join(a.cache, key)
        if os.path.exists(marker):
            os.utime(marker)
            cached += 1
        else:
            todo.append((rel, e, marker))

    def check(item):
        rel, e, marker = item
        started = time.monotonic()
        r = subprocess.run(
            ["clang-tidy", "-p", build, "--quiet", "--warnings-as-errors=*", e["file"]],
            capture_output=True, text=True, cwd=root,
        )
        findings = [l for l in r.stdout.splitlines() if re.search(r"(warning|error): ", l)]
        clean = r.returncode == 0 and not findings
        if clean:
            open(marker, "w").close()
        return rel, clean, r.stdout + r.stderr, time.monotonic() - started

    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for rel, clean, output, seconds in pool.map(check, todo):
            print(f"tidy: {rel} {'clean' if clean else 'FINDINGS'} ({seconds:.0f} s)", flush=True)
            if not clean:
                failed.append(rel)
                print(output, flush=True)
    # Keys unused for 30 days belong to trees long gone.
    horizon = time.time() - 30 * 86400
    for name in os.listdir(a.cache):
        path = os.path.join(a.cache, name)
        if os.path.getmtime(path) < horizon:
            os.remove(path)
    print(
        f"tidy: {len(units)} sources, {cached} unchanged since found clean, "
        f"{len(todo)} checked, {len(failed)} with findings"
    )
    for rel in failed:
        print(f"tidy: findings in {rel}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
